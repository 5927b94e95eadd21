"""CycleGAN on unpaired samples: the cycle-consistency loss falls, and G_A ships as the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.data.datasets import UnpairedDataset
from thermal_synth_core.modelfile import read_spec
from training.train import main

pytestmark = pytest.mark.slow


def test_unpaired_sampling_is_independent(prepared: Path) -> None:
    ds = UnpairedDataset(prepared, "train", crop_size=(64, 64), seed=0)
    items = [ds[i] for i in range(8)]
    assert sum(item["rgb_id"] != item["thermal_id"] for item in items) >= 6


def test_cycle_loss_falls(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "cyc"
    argv = [
        "--config", "cyclegan", f"data.root={prepared}", f"out_dir={out}", "device=cpu", "steps=60",
        "model.generator=fast_unet", "model.ngf=8", "model.ndf=16", "loss.pool_size=10", "data.crop=[64,64]",
        "data.val_size=[64,64]", "data.val_max_frames=2", "data.workers=0", "log_every=10", "val_every=60",
        "save_every=60", "image_every=60", "optim.lr=0.002", "amp=fp32", "threads=1",
    ]  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train = [x for x in lines if x["kind"] == "train"]
    cycle = [x["cycle_A"] + x["cycle_B"] for x in train]
    assert sum(cycle[-2:]) / 2 < 0.8 * sum(cycle[:2]) / 2, f"cycle loss did not fall: {cycle}"
    assert {"G_A", "G_B", "D_A", "D_B", "idt_A", "idt_B"} <= set(train[-1])
    spec = read_spec(out / "model.safetensors")
    assert (spec.input_nc, spec.output_nc, spec.provenance["mode"]) == (3, 1, "cyclegan")
