"""``align estimate --bag`` / ``align check --bag`` and ``prepare --bag`` -> training, on a synthetic drive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.data.synth_cache import synth_dataset
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.drive import DriveOptions, extract_drive
from thermal_synth_core.data.manifest import read_manifest

RGB = "/camera/rgb/image_raw"
THERMAL = "/thermal/image_raw"


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s synthetic drive of a non-FLIR rig (day then night, CameraInfo), RGB 300x266 at 10 Hz, thermal 9 Hz."""
    return synth_dataset(
        tmp_path_factory, "bag", 40, seed=5, rgb_size=(300, 266), thermal_size=(160, 128), rig="other", camera_info=True
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "thermal_synth_core", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def test_align_estimate_and_check_from_a_bag(drive: Path, tmp_path: Path) -> None:
    bag = ["--bag", str(drive), "--rgb-topic", RGB, "--thermal-topic", THERMAL]
    _cli("align", "estimate", *bag, "--out", str(tmp_path / "rig.yaml"), "--max-frames", "16")
    found = Alignment.load(tmp_path / "rig.yaml")
    truth = Alignment.load(drive / "ground_truth_alignment.yaml")
    error = found.corner_error(truth)
    assert found.rgb_size == (300, 266)
    assert error < 1.0, f"mean corner error {error:.2f} thermal px"
    done = _cli("align", "check", *bag, "--alignment", str(tmp_path / "rig.yaml"), "--out", str(tmp_path / "chk"))
    assert "align check: 12 frames rendered" in done.stdout
    assert (tmp_path / "chk" / "contact_sheet.png").is_file()
    assert len(list((tmp_path / "chk").glob("*_edges.png"))) == 12
    assert len(json.loads((tmp_path / "chk" / "check.json").read_text())["edge_agreement"]) == 12


def test_prepare_bag_then_training_runs_unchanged(drive: Path, tmp_path: Path) -> None:
    out = tmp_path / "prepared"
    truth = str(drive / "ground_truth_alignment.yaml")
    args = ["--bag", str(drive), "--rgb-topic", RGB, "--thermal-topic", THERMAL, "--block-s", "1"]
    _cli("prepare", *args, "--alignment", truth, "--out", str(out), "--workers", "1")
    manifest = read_manifest(out)
    info = json.loads((drive / "synth_info.json").read_text())["thermal_camera"]
    assert manifest.thermal_camera is not None
    assert manifest.thermal_camera.hfov_deg == pytest.approx(info["hfov_deg"], abs=0.05)  # from the CameraInfo
    assert manifest.splits == ["train", "val"]
    assert {p.condition for p in manifest.pairs} == {"day", "night"}
    run = tmp_path / "run"
    train = [sys.executable, "-m", "training.train", "--config", "smoke", f"data.root={out}", f"out_dir={run}"]
    train += ["steps=2", "val_every=2", "save_every=2", "image_every=2", "log_every=1", "resume=never"]
    train += ["data.crop=[64,64]", "data.val_size=[160,128]", "data.val_max_frames=2"]
    done = subprocess.run(train, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(run.rglob("*.safetensors")), "no model file written"


def test_standstill_skips_exactly_the_frames_of_the_synthetic_stops(tmp_path_factory: pytest.TempPathFactory) -> None:
    stops = synth_dataset(
        tmp_path_factory, "bag", 120, seed=6, rgb_size=(300, 266), thermal_size=(160, 128), rig="other", stops=2
    )
    opts = DriveOptions((stops,), RGB, THERMAL, val_fraction=0.0)
    e = extract_drive(opts, tmp_path_factory.mktemp("x"))
    spans = [set(s["thermal_stamps_ns"]) for s in json.loads((stops / "synth_info.json").read_text())["stops"]]
    kept = [p.thermal_stamp_ns for p in e.pairs]
    assert [sum(t in span for t in kept) for span in spans] == [1] * len(spans)  # the first frame of each stop
    # every other frame of a stop is skipped as standstill, unless it had no RGB partner (unpaired) already
    repeats = sum(len(span) - 1 for span in spans)
    assert repeats - e.skipped_by_reason["unpaired_thermal"] <= e.skipped_by_reason["standstill"] <= repeats
