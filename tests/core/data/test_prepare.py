"""prepare: pairs exactly the right frames, explains the rest, resumes after kill -9, does no work twice."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.cli import main
from thermal_synth_core.data.imageio import read_rgb, read_thermal
from thermal_synth_core.data.layouts import FLIR_ADAS_CAMERA, KAIST_CAMERA, LLVIP_CAMERA
from thermal_synth_core.data.manifest import ThermalCamera, read_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset, resolve_thermal_camera
from thermal_synth_core.errors import AlignmentError, DataError


def _expected_pairs(root: Path) -> set[tuple[str, str]]:
    info = json.loads((root / "synth_info.json").read_text())
    return {(f["split"], f["id"]) for f in info["frames"] if f["pair"]}


def _truth(root: Path) -> str:
    return str(root / "ground_truth_alignment.yaml")


@pytest.fixture(scope="module")
def prepared_v1(synth_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared_v1")
    prepare_dataset(PrepareOptions(root=synth_v1, fmt="flir-v1", out=out, alignment=_truth(synth_v1), workers=2))
    return out


def test_pairs_exactly_the_covered_frames(prepared_v1: Path, synth_v1: Path) -> None:
    manifest = read_manifest(prepared_v1)
    got = {(p.split, p.frame_id) for p in manifest.pairs}
    assert got == _expected_pairs(synth_v1)
    reasons = {(s.split, s.frame_id): s.reason for s in manifest.skipped}
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    for f in info["frames"]:
        key = (f["split"], f["id"])
        if not f["rgb"]:
            assert reasons[key] == "missing_rgb"
        elif not f["covered"]:
            assert reasons[key] == "rgb_size_not_covered"
            assert "1280x1024" in next(s.detail for s in manifest.skipped if (s.split, s.frame_id) == key)
    assert len(reasons) + len(got) == len(info["frames"])
    assert manifest.has_masks and manifest.thermal_bits == 8 and manifest.size == (640, 512)
    assert manifest.counts["train"]["pairs"] == sum(1 for s, _ in got if s == "train")
    assert set(manifest.skipped_by_reason) == {"missing_rgb", "rgb_size_not_covered"}
    assert manifest.alignment == Alignment.load(_truth(synth_v1))


def test_outputs_are_aligned(prepared_v1: Path) -> None:
    """Warped RGB edges land on thermal edges: edge correlation peaks at zero shift, in x and in y."""
    from thermal_synth_core.align.estimate import edge_features

    manifest = read_manifest(prepared_v1)
    curves = []
    for pair in manifest.pairs[:8]:
        rgb = read_rgb(pair.rgb)
        thermal = read_thermal(pair.thermal)
        assert rgb.shape == (512, 640, 3) and thermal.shape == (512, 640) and thermal.dtype == np.uint8
        a = edge_features(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0)[40:-40, 40:-40]
        b = edge_features(thermal.astype(np.float32) / 255.0)
        curve = []
        for axis in (0, 1):
            for d in range(-3, 4):
                shifted = np.roll(b, d, axis=axis)[40:-40, 40:-40]
                curve.append(float(np.corrcoef(a.ravel(), shifted.ravel())[0, 1]))
        curves.append(curve)
    median = np.median(np.array(curves), axis=0)
    assert int(np.argmax(median[:7])) == 3 and int(np.argmax(median[7:])) == 3


def test_rerun_does_no_work(prepared_v1: Path, synth_v1: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.stat().st_mtime_ns for p in prepared_v1.rglob("*.png")}
    argv = ["prepare", "--root", str(synth_v1), "--format", "flir-v1", "--out", str(prepared_v1)]
    assert main([*argv, "--alignment", _truth(synth_v1), "--workers", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert "0 written now" in line and f"{len(_expected_pairs(synth_v1))} already done" in line
    assert "missing_rgb" in line and "rgb_size_not_covered" in line
    assert {p: p.stat().st_mtime_ns for p in prepared_v1.rglob("*.png")} == before


def test_kill_mid_run_then_resume(synth_v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "thermal_synth_core", "prepare", "--root", str(synth_v1), "--format", "flir-v1"]
    cmd += ["--out", str(out), "--alignment", _truth(synth_v1), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and len(list(out.glob("*/rgb/*.png"))) < 2:
            if proc.poll() is not None:
                pytest.fail("prepare finished before it could be killed")
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: workers die too
    finally:
        proc.wait(timeout=30)
    assert not (out / "manifest.json").exists(), "the run was not interrupted mid-way"
    done_before = len(list(out.glob("*/rgb/*.png")))
    assert 0 < done_before < len(_expected_pairs(synth_v1))

    result = prepare_dataset(
        PrepareOptions(root=synth_v1, fmt="flir-v1", out=out, alignment=_truth(synth_v1), workers=2)
    )
    assert result.pairs == len(_expected_pairs(synth_v1))
    assert result.written <= result.pairs - done_before + 2  # finished pairs were not redone
    assert not list(out.rglob(".*partial*"))
    for pair in read_manifest(out).pairs:
        for path in (pair.rgb, pair.thermal, pair.mask):
            assert path is not None
            assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None, path


def test_corrupt_jpeg_is_skipped_with_reason(
    synth_v1: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "flir"
    shutil.copytree(synth_v1, root)
    victim = next(p for p in sorted((root / "train" / "RGB").glob("*.jpg")))
    victim.write_bytes(victim.read_bytes()[:5000])
    (root / "synth_info.json").unlink()  # as a real FLIR ADAS download: the flir-v1 preset applies
    out = tmp_path / "out"
    argv = ["prepare", "--root", str(root), "--format", "flir-v1", "--out", str(out), "--alignment", _truth(root)]
    assert main([*argv, "--workers", "1"]) == 0
    assert "unreadable_rgb 1" in capsys.readouterr().out
    manifest = read_manifest(out)
    skipped = {s.frame_id: s for s in manifest.skipped}
    assert skipped[victim.stem].reason == "unreadable_rgb"
    assert "truncated JPEG" in skipped[victim.stem].detail and str(victim) in skipped[victim.stem].detail
    assert skipped[victim.stem].signature  # read once: a re-run does not read it again while it is unchanged
    assert victim.stem not in {p.frame_id for p in manifest.pairs}
    assert manifest.thermal_camera == ThermalCamera(45.0, 640, f"flir-v1 preset: {FLIR_ADAS_CAMERA.camera}")


def test_sixteen_bit_size_and_settings_guard(synth_v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "o16"
    opts = PrepareOptions(
        root=synth_v1, fmt="flir-v1", out=out, alignment=_truth(synth_v1), size=(320, 256), thermal_bits=16, workers=1
    )
    result = prepare_dataset(opts)
    manifest = read_manifest(out)
    assert manifest.thermal_bits == 16 and manifest.size == (320, 256)
    # The field of view is the full frame's; the width is that of the thermal frames written (resized).
    assert manifest.thermal_camera is not None and manifest.thermal_camera.width == 320
    assert (
        manifest.thermal_camera.hfov_deg
        == json.loads((synth_v1 / "synth_info.json").read_text())["thermal_camera"]["hfov_deg"]
    )
    thermal = read_thermal(manifest.pairs[0].thermal)
    assert thermal.dtype == np.uint16 and thermal.shape == (256, 320) and thermal.max() > 5000
    assert read_rgb(manifest.pairs[0].rgb).shape == (256, 320, 3)
    assert result.pairs == len(_expected_pairs(synth_v1))
    with pytest.raises(DataError, match=r"other settings \(differs in: thermal_bits\)"):
        prepare_dataset(
            PrepareOptions(root=synth_v1, fmt="flir-v1", out=out, alignment=_truth(synth_v1), size=(320, 256))
        )
    again = prepare_dataset(
        PrepareOptions(
            root=synth_v1,
            fmt="flir-v1",
            out=out,
            alignment=_truth(synth_v1),
            size=(320, 256),
            overwrite=True,
            workers=1,
        )
    )
    assert again.written == again.pairs and read_manifest(out).thermal_bits == 8
    with pytest.raises(DataError, match="another aspect ratio"):
        prepare_dataset(
            PrepareOptions(
                root=synth_v1, fmt="flir-v1", out=tmp_path / "sq", alignment=_truth(synth_v1), size=(256, 256)
            )
        )
    with pytest.raises(AlignmentError, match="alignment file not found"):
        prepare_dataset(
            PrepareOptions(root=synth_v1, fmt="flir-v1", out=tmp_path / "x", alignment=str(tmp_path / "none.yaml"))
        )


def test_auto_alignment_estimates_and_is_reused(synth_v2: Path, tmp_path: Path) -> None:
    out = tmp_path / "v2"
    opts = PrepareOptions(root=synth_v2, fmt="flir-v2", out=out, workers=1, estimate_frames=8, include_unpaired=True)
    result = prepare_dataset(opts)
    truth = Alignment.load(_truth(synth_v2))
    assert truth.corner_error(result.alignment) <= 1.0
    manifest = read_manifest(out)
    assert manifest.alignment_source == "auto: estimated from the data"
    assert {p.split for p in manifest.pairs} == {"test"}
    assert {(u.split, u.kind) for u in manifest.unpaired} >= {("train", "rgb"), ("train", "thermal"), ("val", "rgb")}
    assert manifest.rgb_frames("train") and manifest.thermal_frames("train")
    again = prepare_dataset(opts)  # reuses OUT/alignment.yaml: no second estimation, no work
    assert again.written == 0 and again.alignment == result.alignment


def test_coregistered_layout_needs_no_alignment(synth_pairs: Path, tmp_path: Path) -> None:
    result = prepare_dataset(PrepareOptions(root=synth_pairs, fmt="pairs", out=tmp_path / "p", workers=1))
    assert result.pairs == 12 and result.alignment.method == "co-registered (synthetic)"
    a = read_rgb(read_manifest(tmp_path / "p").pairs[0].rgb)
    b = read_rgb(synth_pairs / "train" / "rgb" / "00000.png")
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0  # identity warp


def test_out_must_not_be_the_source(synth_pairs: Path) -> None:
    with pytest.raises(DataError, match="--out must differ from --root"):
        prepare_dataset(PrepareOptions(root=synth_pairs, fmt="pairs", out=synth_pairs))


def test_thermal_camera_of_synthetic_data(prepared_v1: Path, synth_v1: Path) -> None:
    """Synthetic data records the field of view its thermal frames really have (not the FLIR preset)."""
    recorded = json.loads((synth_v1 / "synth_info.json").read_text())["thermal_camera"]
    manifest = read_manifest(prepared_v1)
    assert manifest.thermal_camera == ThermalCamera(recorded["hfov_deg"], 640, recorded["source"])
    assert manifest.thermal_camera.hfov_deg == pytest.approx(44.6, abs=0.05)
    raw = json.loads((prepared_v1 / "manifest.json").read_text())
    assert raw["thermal_camera"] == {"hfov_deg": recorded["hfov_deg"], "width": 640, "source": recorded["source"]}
    assert list(raw)[list(raw).index("size") + 1] == "thermal_camera"  # the only key added
    assert manifest.model_metadata()["thermal_camera"] == raw["thermal_camera"]


@pytest.mark.parametrize(
    ("fmt", "hfov", "camera", "warns"),
    [
        ("flir-v1", 45.0, FLIR_ADAS_CAMERA.camera, False),
        ("flir-v2", 45.0, FLIR_ADAS_CAMERA.camera, False),
        ("kaist", 47.75, KAIST_CAMERA.camera, False),
        ("llvip", 8.3, LLVIP_CAMERA.camera, True),
    ],
)
def test_dataset_presets(fmt: str, hfov: float, camera: str, warns: bool, tmp_path: Path) -> None:
    got, warning = resolve_thermal_camera(PrepareOptions(root=tmp_path, fmt=fmt, out=tmp_path / "o"), 320)
    assert got == ThermalCamera(hfov, 320, f"{fmt} preset: {camera}")
    assert (warning is not None) == warns
    if warning:
        assert "estimate" in warning and "--thermal-hfov" in warning
    # KAIST: 39 deg vertical over 512 rows (Hwang et al. 2015) -> the same focal length over 640 columns.
    assert KAIST_CAMERA.hfov_deg == pytest.approx(
        math.degrees(2 * math.atan(320 / (256 / math.tan(math.radians(19.5))))), abs=0.01
    )
    override = PrepareOptions(root=tmp_path, fmt=fmt, out=tmp_path / "o", thermal_hfov=24.0)
    assert resolve_thermal_camera(override, 640) == (ThermalCamera(24.0, 640, "--thermal-hfov"), None)


def test_thermal_hfov_option_and_pairs_default(
    synth_pairs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def warnings() -> str:
        return " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    # Own data (no synth_info.json): 45 deg assumed, with a warning saying how to set it.
    own = tmp_path / "own"
    shutil.copytree(synth_pairs, own, ignore=shutil.ignore_patterns("synth_info.json"))
    with caplog.at_level(logging.WARNING, logger="thermal_synth_core"):
        prepare_dataset(PrepareOptions(root=own, fmt="pairs", out=tmp_path / "p", workers=1))
    assert "the model will assume 45 deg" in warnings() and "--thermal-hfov DEG" in warnings()
    camera = read_manifest(tmp_path / "p").thermal_camera
    assert camera is not None and (camera.hfov_deg, camera.width) == (45.0, 320)
    assert camera.source.startswith("default: 45 deg assumed")

    # --thermal-hfov: recorded as given, no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="thermal_synth_core"):
        prepare_dataset(PrepareOptions(root=own, fmt="pairs", out=tmp_path / "flag", workers=1, thermal_hfov=30))
    assert not warnings()
    assert read_manifest(tmp_path / "flag").thermal_camera == ThermalCamera(30.0, 320, "--thermal-hfov")

    # A prepare output prepared again (as pairs, at half size) keeps the field of view it recorded.
    with caplog.at_level(logging.WARNING, logger="thermal_synth_core"):
        prepare_dataset(
            PrepareOptions(root=tmp_path / "flag", fmt="pairs", out=tmp_path / "again", size=(160, 128), workers=1)
        )
    assert not warnings()
    assert read_manifest(tmp_path / "again").thermal_camera == ThermalCamera(30.0, 160, "--thermal-hfov")

    # The same from the command line (which also overrides what synthetic data says of itself).
    argv = ["prepare", "--root", str(synth_pairs), "--format", "pairs", "--workers", "1"]
    assert main([*argv, "--out", str(tmp_path / "cli"), "--thermal-hfov", "30"]) == 0
    assert read_manifest(tmp_path / "cli").thermal_camera == ThermalCamera(30.0, 320, "--thermal-hfov")


@pytest.mark.parametrize("bad", ["0", "200", "-5", "nan"])
def test_bad_thermal_hfov(bad: str, synth_pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(DataError, match=r"--thermal-hfov must be (between 0 and 180|a number of degrees)"):
        prepare_dataset(PrepareOptions(root=synth_pairs, fmt="pairs", out=tmp_path / "o", thermal_hfov=float(bad)))
    assert not (tmp_path / "o").exists()  # refused before anything was written
    argv = ["prepare", "--root", str(synth_pairs), "--format", "pairs", "--out", str(tmp_path / "o")]
    assert main([*argv, f"--thermal-hfov={bad}"]) == 1
    assert "--thermal-hfov must be" in capsys.readouterr().err


def test_help_explains_thermal_hfov(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--thermal-hfov DEG" in text and "horizontal field of view" in text and "45 deg" in text


def test_manifest_schema_round_trips_the_written_file(prepared_v1: Path) -> None:
    """The reader's Manifest is the writer's schema: re-serialising what was read gives the file, byte for byte."""
    manifest = read_manifest(prepared_v1)
    text = (prepared_v1 / "manifest.json").read_text(encoding="utf-8")
    assert json.dumps(manifest.to_json(), indent=2) + "\n" == text
    reasons = {s.reason: s.signature for s in manifest.skipped}
    assert reasons["missing_rgb"] is None  # known from the listing: nothing was read
    assert reasons["rgb_size_not_covered"]  # read once; the signature spares re-reading it
