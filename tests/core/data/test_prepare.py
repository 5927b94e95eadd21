"""prepare: pairs exactly the right frames, explains the rest, resumes after kill -9, does no work twice."""

from __future__ import annotations

import json
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
from thermal_synth_core.data.manifest import read_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
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
    reasons = {(s["split"], s["id"]): s["reason"] for s in manifest.skipped}
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    for f in info["frames"]:
        key = (f["split"], f["id"])
        if not f["rgb"]:
            assert reasons[key] == "missing_rgb"
        elif not f["covered"]:
            assert reasons[key] == "rgb_size_not_covered"
            assert "1280x1024" in next(s["detail"] for s in manifest.skipped if (s["split"], s["id"]) == key)
    assert len(reasons) + len(got) == len(info["frames"])
    assert manifest.has_masks and manifest.thermal_bits == 8 and manifest.size == (640, 512)
    assert manifest.raw["counts"]["train"]["pairs"] == sum(1 for s, _ in got if s == "train")
    assert set(manifest.raw["skipped_by_reason"]) == {"missing_rgb", "rgb_size_not_covered"}
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
    out = tmp_path / "out"
    argv = ["prepare", "--root", str(root), "--format", "flir-v1", "--out", str(out), "--alignment", _truth(root)]
    assert main([*argv, "--workers", "1"]) == 0
    assert "unreadable_rgb 1" in capsys.readouterr().out
    manifest = read_manifest(out)
    skipped = {s["id"]: s for s in manifest.skipped}
    assert skipped[victim.stem]["reason"] == "unreadable_rgb"
    assert "truncated JPEG" in skipped[victim.stem]["detail"] and str(victim) in skipped[victim.stem]["detail"]
    assert victim.stem not in {p.frame_id for p in manifest.pairs}


def test_sixteen_bit_size_and_settings_guard(synth_v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "o16"
    opts = PrepareOptions(
        root=synth_v1, fmt="flir-v1", out=out, alignment=_truth(synth_v1), size=(320, 256), thermal_bits=16, workers=1
    )
    result = prepare_dataset(opts)
    manifest = read_manifest(out)
    assert manifest.thermal_bits == 16 and manifest.size == (320, 256)
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
    assert manifest.raw["alignment_source"] == "auto: estimated from the data"
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
