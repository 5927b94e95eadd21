"""Two-process DDP on the CPU (torchrun, gloo): it trains, ranks agree, and only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from thermal_synth_core.train.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow


def test_torchrun_two_processes(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [
        str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "training.train", "--config", "smoke",
        f"data.root={prepared}", f"out_dir={out}", "steps=6", "batch_size=1", "data.crop=[64,64]",
        "data.val_size=[64,64]", "data.val_max_frames=2", "data.workers=0", "log_every=2", "val_every=6",
        "save_every=3", "image_every=6", "threads=1",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        cmd, cwd=Path(__file__).parents[2], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = load_checkpoint(out / "checkpoints" / "latest.pt")
    assert state["step"] == 6
    assert len(state["rng"]) == 2, "every rank's RNG state is kept for an exact resume"
    # Rank 0 alone logs: one line per logging step, one TensorBoard event file, one summary line.
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if x["kind"] == "train"] == [2, 4, 6]
    assert len(list((out / "tensorboard").glob("events.*"))) == 1
    assert proc.stdout.count("trained pix2pix to step 6") == 1
    weights = state["task"]["networks"]["G"]
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())
