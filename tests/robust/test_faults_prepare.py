"""Fault injection: ``prepare`` SIGKILLed at several random points leaves nothing a re-run would trust wrongly.

tests/core/data/test_prepare.py kills one run once; here the same run is
killed three times at random moments (the whole process group, workers too),
and after every kill each output that exists must be whole: every PNG decodes
at the output size, ``manifest.json`` is absent or valid. The final re-run
finishes the work without redoing finished pairs and its outputs equal those
of an uninterrupted run, pixel for pixel.
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

import cv2
import numpy as np
import pytest

from tests.core.data.synth_cache import synth_dataset
from thermal_synth_core.data.manifest import MANIFEST_NAME, read_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset

pytestmark = pytest.mark.timeout(240)


def _truth(root: Path) -> str:
    return str(root / "ground_truth_alignment.yaml")


def _outputs(out: Path) -> dict[str, Path]:
    """The outputs a re-run would trust: not the hidden staging files (``.NAME.partial-*``) of an interrupted write.

    A kill that lands mid-write leaves one of those behind by design (it is never renamed into place, and the
    next run removes it, which the final assertions check); a loaded machine makes such a kill more likely.
    """
    return {str(p.relative_to(out)): p for p in sorted(out.glob("*/*/*.png")) if not p.name.startswith(".")}


def _check_whole(out: Path) -> None:
    for rel, path in _outputs(out).items():
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert img is not None, f"{rel} is not a whole PNG"
        assert img.shape[:2] == (512, 640), rel
    if (out / MANIFEST_NAME).exists():
        read_manifest(out)


def _kill_when(cmd: list[str], reached: Callable[[float], bool], timeout: float) -> bool:
    """Run ``cmd`` in a session of its own; SIGKILL its whole process group once ``reached(seconds since start)``.

    Returns whether it was killed (False: it finished, or ``timeout`` passed, first).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout and proc.poll() is None:
            if reached(time.monotonic() - start):
                os.killpg(proc.pid, signal.SIGKILL)  # workers too
                return True
            time.sleep(0.005)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_several_kills_then_resume_equals_an_uninterrupted_run(flir_v1: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    expected = prepare_dataset(PrepareOptions(root=flir_v1, fmt="flir-v1", out=ref, alignment=_truth(flir_v1)))

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "thermal_synth_core", "prepare", "--root", str(flir_v1), "--format", "flir-v1"]
    cmd += ["--out", str(out), "--alignment", _truth(flir_v1), "--workers", "2"]
    rng = random.Random(int(os.environ.get("FAULT_SEED", "4")))
    total_files = len(_outputs(ref))
    kills = 0
    for _ in range(3):
        # Kill once a random number of further files exist (or at a random early moment).
        goal = min(len(_outputs(out)) + rng.randint(1, total_files // 4), total_files - 1)
        early = rng.random() < 0.3

        def reached(seconds: float, goal: int = goal, early: bool = early) -> bool:
            return (early and seconds > rng.uniform(0.3, 1.5)) or len(_outputs(out)) >= goal > 0

        kills += _kill_when(cmd, reached, timeout=60)
        _check_whole(out)
    print(f"{kills} kills; {len(_outputs(out))} of {total_files} files written before the final run")
    assert kills >= 2, "prepare finished before it could be killed"

    done_before = len(_outputs(out))
    result = prepare_dataset(PrepareOptions(root=flir_v1, fmt="flir-v1", out=out, alignment=_truth(flir_v1)))
    _check_whole(out)
    assert not list(out.rglob(".*partial*"))
    assert result.pairs == expected.pairs
    assert result.written <= expected.pairs - done_before // 3 + 3  # finished pairs were not redone
    ref_files, out_files = _outputs(ref), _outputs(out)
    assert ref_files.keys() == out_files.keys()
    for rel in ref_files:
        a = cv2.imread(str(ref_files[rel]), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(out_files[rel]), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(a, b, err_msg=rel)
    assert read_manifest(out).pairs == tuple(
        type(p)(
            p.split,
            p.frame_id,
            out / p.rgb.relative_to(ref),
            out / p.thermal.relative_to(ref),
            out / p.mask.relative_to(ref) if p.mask else None,
        )
        for p in read_manifest(ref).pairs
    )


def _tree(out: Path) -> dict[str, bytes]:
    """Every file a finished run leaves, by relative path; JSON with the output folder's path made relative."""
    files: dict[str, bytes] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        if path.suffix == ".json":
            data = data.replace(str(out).encode(), b"OUT")
        files[str(path.relative_to(out))] = data
    return files


def test_prepare_bag_killed_twice_then_rerun_equals_an_uninterrupted_run(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A recorded drive through ``prepare --bag``, SIGKILLed during extraction, then while preparing, then re-run."""
    drive = synth_dataset(
        tmp_path_factory,
        "bag",
        60,
        rig="other",
        stops=1,
        camera_info=True,
        rgb_size=(450, 400),
        thermal_size=(320, 256),
    )

    def cmd(out: Path) -> list[str]:
        return [
            sys.executable, "-m", "thermal_synth_core", "prepare", "--bag", str(drive),
            "--rgb-topic", "/camera/rgb/image_raw", "--thermal-topic", "/thermal/image_raw",
            "--alignment", _truth(drive), "--block-s", "2", "--workers", "2", "--out", str(out),
        ]  # fmt: skip

    ref, out = tmp_path / "ref", tmp_path / "out"
    subprocess.run(cmd(ref), check=True, capture_output=True, timeout=180)
    expected = _tree(ref)
    extracted = len([k for k in expected if k.startswith("extracted/") and k.endswith(".png")])

    def extracted_now() -> int:
        return len([p for p in (out / "extracted").rglob("*.png") if not p.name.startswith(".")])

    def prepared_now() -> int:
        return len([p for p in out.glob("*/rgb/*.png") if not p.name.startswith(".")])

    kills = 0

    def halfway_extracted(_seconds: float) -> bool:
        return extracted_now() >= extracted // 2

    def preparing(_seconds: float) -> bool:
        return prepared_now() >= 3

    # First while frames are extracted from the bag, then while the extracted pairs are prepared.
    for reached in (halfway_extracted, preparing):
        kills += _kill_when(cmd(out), reached, timeout=120)
        assert not (out / MANIFEST_NAME).exists(), "killed before the end: no manifest may claim the work is done"
    assert kills == 2, "prepare --bag finished before it could be killed"
    subprocess.run(cmd(out), check=True, capture_output=True, timeout=180)
    assert not list(out.rglob(".*partial*"))
    got = _tree(out)
    assert got.keys() == expected.keys()
    assert [k for k in expected if got[k] != expected[k]] == []
