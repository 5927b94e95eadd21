"""Fault injection: training SIGKILLed at random points over several cycles ends exactly like an uninterrupted run.

Each cycle starts ``python -m training.train resume=auto`` and kills it with
SIGKILL at a different kind of moment: during start-up, while a checkpoint is
being written, while the model file is being written, and at a random step.
After every kill, whatever the run left must be trusted or ignored correctly:
``latest.pt`` and ``model.safetensors`` load (old or new, never half), no
temporary file survives the next start. The final run completes and its
weights, model file and log equal those of one uninterrupted run, bit for bit.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.training.tiny import STEPS, TINY
from thermal_synth_core.modelfile import load_model
from thermal_synth_core.train.checkpoint import load_checkpoint
from training.train import main

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]


def _args(data: Path, out: Path) -> list[str]:
    return ["--config", "smoke", f"data.root={data}", f"out_dir={out}", "resume=auto", *TINY]


def _partials(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".partial-" in p.name]


def _step(out: Path) -> int:
    latest = out / "checkpoints" / "latest.pt"
    try:
        return int(load_checkpoint(latest)["step"]) if latest.is_file() else 0
    except Exception:  # being replaced right now: try again on the next poll
        return -1


def _kill_when(cmd: list[str], trigger: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Run ``cmd``; SIGKILL it as soon as ``trigger()`` holds. Returns False if it finished first."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if trigger():
                proc.send_signal(signal.SIGKILL)
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.002)
        raise AssertionError("training neither reached the kill point nor finished")
    finally:
        proc.wait(timeout=30)


def _check_left_overs(out: Path) -> None:
    """What a killed run leaves is either absent or whole: nothing later trusted is half-written."""
    latest = out / "checkpoints" / "latest.pt"
    if latest.exists():
        state = load_checkpoint(latest)  # raises TrainingError if corrupt
        assert 0 < state["step"] <= STEPS
    for model in (out / "model.safetensors", out / "best.safetensors"):
        if model.exists():
            load_model(model)  # raises ModelFileError if truncated


def test_repeated_sigkill_then_resume_matches_an_uninterrupted_run(small_prepared: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    assert main(_args(small_prepared, ref)) == 0

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "training.train", *_args(small_prepared, run)]
    rng = random.Random(int(os.environ.get("FAULT_SEED", "9")))
    start = time.monotonic()
    startup_kill = start + rng.uniform(0.2, 1.5)
    target = rng.randrange(9, STEPS - 4)
    triggers: list[tuple[str, Callable[[], bool]]] = [
        ("during start-up", lambda: time.monotonic() >= startup_kill),
        (
            "mid checkpoint write",
            lambda: any(".latest.pt.partial-" in p.name for p in (run / "checkpoints").glob(".*")),
        ),
        ("mid model write", lambda: any(".model.safetensors.partial-" in p.name for p in run.glob(".*"))),
        (f"at step >= {target}", lambda: _step(run) >= target),
    ]
    killed: list[str] = []
    for what, trigger in triggers:
        if what == "during start-up":
            startup_kill = time.monotonic() + rng.uniform(0.2, 1.5)
        if _kill_when(cmd, trigger):
            killed.append(what)
        _check_left_overs(run)
    print(f"kills landed: {killed}")
    assert len(killed) >= 3, f"too few kills landed: {killed}"

    assert main(_args(small_prepared, run)) == 0
    _check_left_overs(run)
    assert not _partials(run), f"temporary files left behind: {_partials(run)}"

    ref_state = load_checkpoint(ref / "checkpoints" / "latest.pt")
    run_state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert run_state["step"] == ref_state["step"] == STEPS
    for net in ref_state["task"]["networks"]:
        a, b = ref_state["task"]["networks"][net], run_state["task"]["networks"][net]
        assert a.keys() == b.keys()
        for name in a:
            assert torch.equal(a[name], b[name]), f"{net}.{name} differs after kills {killed}"
    _, wa = load_model(ref / "model.safetensors")
    _, wb = load_model(run / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert lines == (ref / "metrics.jsonl").read_text().splitlines() or len(lines) == len(set(lines))
    train_lines = [line for line in lines if '"kind": "train"' in line]
    assert len(train_lines) == len(set(train_lines)) == STEPS // 4, "no duplicated or lost log lines"
