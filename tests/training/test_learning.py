"""Training learns what grayscale cannot: warm people and hot tyres, by day and at night.

``smoke.yaml`` trains the fast generator on procedural street scenes for 300 steps
on the CPU (fixed seed). On held-out frames, the generated thermal must be
brighter inside the ground-truth warm-object masks than outside by a margin the
grayscale baseline (RGB luminance through the same AGC) does not reach.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.data.datasets import PairedDataset
from thermal_synth_core.metrics import warm_contrast
from thermal_synth_core.modelfile import read_spec
from thermal_synth_core.models import load_generator
from training.train import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke_run")
    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={out}"]) == 0
    return out


def _contrasts(prepared: Path, synth_raw: Path, model: Path) -> dict[str, dict[str, list[float]]]:
    night = {f["id"]: f["night"] for f in json.loads((synth_raw / "synth_info.json").read_text())["frames"]}
    net, _ = load_generator(model)
    ds = PairedDataset(prepared, "val", flip=False, random_crop=False)
    out: dict[str, dict[str, list[float]]] = {k: {"model": [], "gray": []} for k in ("day", "night")}
    for i in range(len(ds)):
        item = ds[i]
        mask = item["mask"][0].numpy() > 0.5
        if not mask.any():
            continue
        rgb = ((item["rgb"].numpy().transpose(1, 2, 0) + 1.0) * 127.5).round().astype(np.uint8)
        gray = agc_normalize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        with torch.no_grad():
            pred = (net(item["rgb"][None]).clamp(-1, 1)[0, 0].numpy() + 1.0) / 2.0
        key = "night" if night[item["id"]] else "day"
        out[key]["model"].append(warm_contrast(pred, mask))
        out[key]["gray"].append(warm_contrast(gray, mask))
    return out


def test_generated_thermal_is_warm_where_grayscale_is_not(smoke_run: Path, prepared: Path, synth_raw: Path) -> None:
    c = _contrasts(prepared, synth_raw, smoke_run / "model.safetensors")
    assert c["day"]["model"] and c["night"]["model"], "the val split must hold day and night frames with warm objects"
    for when in ("day", "night"):
        model, gray = np.mean(c[when]["model"]), np.mean(c[when]["gray"])
        assert model > 0.05, f"{when}: generated thermal not warmer inside the masks ({model:.3f})"
        assert model > gray + 0.03, f"{when}: model {model:.3f} does not beat grayscale {gray:.3f}"
    every = c["day"]["model"] + c["night"]["model"]
    assert np.mean(every) > np.mean(c["day"]["gray"] + c["night"]["gray"]) + 0.08
    assert min(c["night"]["model"]) > 0.0, "pedestrians at night must come out warm in every night frame"


def test_run_outputs(smoke_run: Path, prepared: Path) -> None:
    for name in ("model.safetensors", "best.safetensors", "metrics.jsonl", "config.yaml"):
        assert (smoke_run / name).is_file(), name
    assert (smoke_run / "checkpoints" / "latest.pt").is_file()
    assert list((smoke_run / "samples").glob("val_*.png"))
    assert list((smoke_run / "tensorboard").iterdir())
    lines = [json.loads(x) for x in (smoke_run / "metrics.jsonl").read_text().splitlines()]
    val = [x for x in lines if x["kind"] == "val"]
    assert [x["step"] for x in val] == [100, 200, 300]
    assert {"val_l1", "val_psnr", "val_ssim", "val_warm_iou", "val_warm_contrast"} <= set(val[-1])
    spec = read_spec(smoke_run / "model.safetensors")
    assert spec.arch == "fast_unet"
    assert spec.alignment is not None
    assert spec.input_size == (320, 256)
    assert spec.provenance["step"] == 300
    assert spec.provenance["mode"] == "pix2pix"
