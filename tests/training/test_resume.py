"""An interrupted run resumes exactly: SIGKILL mid-run, resume=auto, same weights (bit-exact on CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.training.tiny import TINY
from thermal_synth_core.modelfile import load_model
from thermal_synth_core.train.checkpoint import load_checkpoint
from training.train import main


def _weights(out: Path) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = load_checkpoint(out / "checkpoints" / "latest.pt")["task"]["networks"]["G"]
    return weights


def test_sigkill_then_resume_matches_uninterrupted_run(prepared: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={ref}", *TINY]) == 0

    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "training.train",
        "--config",
        "smoke",
        f"data.root={prepared}",
        f"out_dir={run}",
        *TINY,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[2])
    latest = run / "checkpoints" / "latest.pt"
    deadline = time.monotonic() + 120
    try:
        # Kill once a mid-run checkpoint exists (step 8 or later, well before the end).
        while time.monotonic() < deadline:
            if latest.exists():
                step = load_checkpoint(latest)["step"]
                if step >= 8:
                    break
            assert proc.poll() is None, "training ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_at = load_checkpoint(latest)["step"]
    assert 8 <= killed_at < 24

    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={run}", "resume=auto", *TINY]) == 0
    ref_w, run_w = _weights(ref), _weights(run)
    assert ref_w.keys() == run_w.keys()
    for name in ref_w:
        assert torch.equal(ref_w[name], run_w[name]), f"{name} differs after resume from step {killed_at}"
    # The deployable model matches too, and no partial files were left behind.
    _, a = load_model(ref / "model.safetensors")
    _, b = load_model(run / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not [p for p in run.rglob("*") if ".partial-" in p.name]
    steps = [line for line in (run / "metrics.jsonl").read_text().splitlines() if '"kind": "train"' in line]
    assert len(steps) == len(set(steps)) == 24 // 4, "no duplicated log lines after resume"


def test_resume_refuses_other_architecture(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={out}", *TINY, "steps=4"]) == 0
    code = main(["--config", "smoke", f"data.root={prepared}", f"out_dir={out}", *TINY, "steps=8", "model.ngf=8"])
    assert code == 1
    assert "cannot resume" in capsys.readouterr().err


def test_corrupt_checkpoint_is_named(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "latest.pt").write_bytes(b"not a checkpoint")
    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={out}", *TINY]) == 1
    err = capsys.readouterr().err
    assert "latest.pt is corrupt" in err
    assert "resume=never" in err
