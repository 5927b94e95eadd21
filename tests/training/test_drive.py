"""A recorded drive of a non-FLIR rig -> ``prepare --bag`` -> a short training run that beats grayscale on val.

The issue's acceptance, end to end, as a vehicle team would run it: a 24 s
synthetic drive (``synth-data --layout bag --rig other --stops 2 --camera-info``:
another offset and scale than FLIR's, a 1.5 deg roll, a narrower thermal view, two
standstills, day then night), ``prepare --bag`` with ``--alignment auto`` (the
rig's alignment estimated from the drive itself, as a user without a calibration
would; the model file must then carry the rig's true alignment, which checks the
estimate and its way into the manifest and the model file at once), split by 4 s
time blocks, then ``smoke.yaml`` for 300 steps on 128 px crops.

On the val split's time blocks (day and night), the model must beat grayscale on
the warm-region IoU, overall and in each condition. Measured (data seed,
training seed: model vs grayscale warm IoU on val, overall / day / night; mean
corner error of the model file's alignment to the rig's; seconds on the 2-core
development machine beside other jobs):

* 5, 0 (this test): 0.190 vs 0.032 / 0.171 vs 0.030 / 0.244 vs 0.038; 0.17 px; 63 s at load 2, about 100 s at load 4
* 5, 3: 0.185 vs 0.032 / 0.174 vs 0.030 / 0.214 vs 0.038 (30 estimation frames)
* 11, 1: 0.193 vs 0.030 / 0.234 vs 0.001 / 0.129 vs 0.077; 0.35 px
* 23, 2: 0.166 vs 0.038 / 0.204 vs 0.017 / 0.144 vs 0.050; 0.27 px
* 7, 4: 0.151 vs 0.071 / 0.177 vs 0.059 / 0.128 vs 0.082; 0.13 px

so the margins asserted (overall > 1.5x and +0.05, each condition +0.02, L1
under half grayscale's: measured at most 0.38 of it) hold at every seed tried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.core.data.synth_cache import synth_dataset
from tests.training.versus_gray import FrameScore, mean_of, score_split
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.bagreader import BagSource
from thermal_synth_core.cli import main as cli_main
from thermal_synth_core.data.drive import DrivePair
from thermal_synth_core.data.manifest import CameraInfoRecord, read_manifest
from thermal_synth_core.modelfile import ModelSpec, read_spec
from training.train import main as train_main

pytestmark = pytest.mark.slow

RGB = "/camera/rgb/image_raw"
THERMAL = "/thermal/image_raw"
BLOCK_S = 4.0
#: Overrides on top of ``--config smoke``: 300 steps on 128 px crops, the whole val split validated once.
TRAIN = ["steps=300", "data.crop=[128,128]", "data.val_max_frames=1000", "log_every=100"]
TRAIN += ["val_every=300", "save_every=300", "image_every=300", "threads=1", "resume=never"]


@dataclass(frozen=True)
class DriveRun:
    """What one drive -> prepare -> train run left: its folders and the val split's scores."""

    drive: Path
    prepared: Path
    run: Path
    scores: list[FrameScore]


def drive_run(factory: pytest.TempPathFactory, data_seed: int = 5, train_seed: int = 0) -> DriveRun:
    """Generate the drive (cached per session), prepare it from the bag, train, and score val against grayscale."""
    drive = synth_dataset(
        factory, "bag", 240, seed=data_seed, rgb_size=(450, 400), thermal_size=(320, 256),
        rig="other", stops=2, camera_info=True,
    )  # fmt: skip
    work = factory.mktemp(f"drive{data_seed}_{train_seed}")
    prepared, run = work / "prepared", work / "run"
    bag = ["--bag", str(drive), "--rgb-topic", RGB, "--thermal-topic", THERMAL, "--stride-s", "0.2"]
    split = ["--block-s", str(BLOCK_S), "--val-fraction", "0.34"]  # 6 blocks: 2 (day) and 5 (night) to val
    argv = ["prepare", *bag, *split, "--alignment", "auto", "--out", str(prepared)]
    assert cli_main([*argv, "--workers", "1"]) == 0
    assert (
        train_main(["--config", "smoke", f"data.root={prepared}", f"out_dir={run}", f"seed={train_seed}", *TRAIN]) == 0
    )
    return DriveRun(drive, prepared, run, score_split(run / "model.safetensors", prepared, "val"))


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> DriveRun:
    return drive_run(tmp_path_factory)


def test_train_and_val_share_no_time_block(drive: DriveRun) -> None:
    manifest = read_manifest(drive.prepared)
    assert manifest.drive is not None and manifest.drive.split_by == "time-block"
    record = json.loads((drive.prepared / manifest.drive.extraction).read_text())
    pairs = [DrivePair.from_json(p) for p in record["pairs"]]
    blocks = {split: {p.block for p in pairs if p.split == split} for split in ("train", "val")}
    assert blocks["train"] and blocks["val"], blocks
    assert not blocks["train"] & blocks["val"], f"time blocks in both splits: {blocks['train'] & blocks['val']}"
    with BagSource(drive.drive) as src:  # blocks count from the drive's first RGB frame
        t0 = min(src.header_stamp_ns(r) for r in src.records([RGB]))
    for p in pairs:  # the block labels are the pairs' real time blocks
        assert p.block == (p.rgb_stamp_ns - t0) // round(BLOCK_S * 1e9), p
    assert {e.frame_id: e.split for e in manifest.pairs} == {p.frame_id: p.split for p in pairs}
    assert {e.condition for e in manifest.pairs_in("val")} == {"day", "night"}


def test_short_training_on_the_drive_beats_grayscale_on_val(drive: DriveRun) -> None:
    s = drive.scores
    warm = {
        f"{who}_{when or 'all'}": mean_of(s, f"{who}_warm", when)
        for who in ("model", "gray")
        for when in (None, "day", "night")
    }
    # Margins inside the measured spread (module docstring): overall at least 2.1x and +0.079, each condition +0.046.
    assert warm["model_all"] > max(1.5 * warm["gray_all"], warm["gray_all"] + 0.05), warm
    for when in ("day", "night"):
        assert warm[f"model_{when}"] > warm[f"gray_{when}"] + 0.02, f"{when}: {warm}"
    assert mean_of(s, "model_l1") < 0.5 * mean_of(s, "gray_l1"), warm
    # Training validation (the whole val split at the same size) reported the same figures, by day and at night.
    lines = [json.loads(line) for line in (drive.run / "metrics.jsonl").read_text().splitlines()]
    val = [v for v in lines if v["kind"] == "val"][-1]
    for when in ("all", "day", "night"):
        key = "val_warm_iou" if when == "all" else f"val_warm_iou_{when}"
        assert val[key] == pytest.approx(warm[f"model_{when}"], abs=0.01), (key, val, warm)
    assert {"val_l1_day", "val_l1_night"} <= set(val)


def _thermal_hfov(drive: Path) -> float:
    """The thermal camera's HFOV from the CameraInfo the drive recorded: ``2 atan(w / 2 fx)``."""
    info = json.loads((drive / "synth_info.json").read_text())["camera_info"]["thermal"]
    k = tuple(float(v) for v in info["camera_matrix"]["data"])
    return CameraInfoRecord("", int(info["image_width"]), int(info["image_height"]), k).hfov_deg


def test_the_model_file_carries_the_rigs_alignment_and_thermal_fov(drive: DriveRun) -> None:
    spec: ModelSpec = read_spec(drive.run / "model.safetensors")
    truth = Alignment.load(drive.drive / "ground_truth_alignment.yaml")
    assert spec.alignment is not None and spec.alignment.rgb_size == (450, 400)
    error = spec.alignment.corner_error(truth)
    assert error < 1.0, f"the model's alignment is {error:.2f} thermal px from the rig's at the corners"
    assert spec.thermal_fov is not None
    assert spec.thermal_fov.width == 320
    assert spec.thermal_fov.hfov_deg == pytest.approx(_thermal_hfov(drive.drive), abs=0.1)
    assert "CameraInfo" in spec.thermal_fov.source
