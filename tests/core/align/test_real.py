"""Alignment on real cross-modal frames: RoadScene's registered FLIR pairs re-shot through known rigs.

RoadScene's own registration is not exact (measured: thermal ~0.993x the RGB,
~1.3 px off, and each pair jitters ~1.5-2 px around that; see
:mod:`tests.core.align.realdata`). So the rigs are checked twice:

* **re-registered** pairs (each pair's own error measured by ECC and undone
  before re-shooting; pairs whose registration ECC cannot measure, dark night
  pairs where it diverges, are left out): the truth is the nominal rig, up to
  ECC's per-pair error; the acceptance figures (at most 1 thermal px, three
  quarters of the frames agreeing) are asserted here;
* pairs **as registered**: against the nominal rig (which includes the data's
  own ~2 px error at the RGB corners), against the rig composed with the data's
  average registration (independent ECC measure), and against the rig composed
  with the estimator's own estimate on the unmodified pairs (recovers the *rig*).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from tests.core.align import realdata
from tests.core.align.realdata import IDENTITY, RIGS, Rig, calibrated_truth, frame_pairs, pick
from tests.real_data import needs_roadscene
from thermal_synth_core.align import Alignment
from thermal_synth_core.align.estimate import EstimateResult, estimate_alignment
from thermal_synth_core.cli import main
from thermal_synth_core.data.rig import check_alignment

pytestmark = needs_roadscene

FRAMES = 40


@pytest.fixture(scope="module")
def names() -> list[str]:
    return pick(FRAMES)


@pytest.fixture(scope="module")
def registration(names: list[str]) -> dict[str, np.ndarray]:
    """RoadScene's residual registration over ``names``: by per-pair ECC, and by the estimator itself."""
    own = estimate_alignment(frame_pairs(IDENTITY, names), "homography").alignment.as_array()
    return {"ecc": realdata.registration_offset(names), "own": own}


def _rotation_deg(m: np.ndarray) -> float:
    return math.degrees(math.atan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1]))


@pytest.fixture(scope="module")
def reregistered(names: list[str]) -> tuple[list[str], list[np.ndarray]]:
    return realdata.reregistered(names)


@pytest.mark.parametrize("rig", RIGS, ids=[r.name for r in RIGS])
def test_estimate_recovers_real_rigs_within_a_pixel(rig: Rig, reregistered: tuple[list[str], list[np.ndarray]]) -> None:
    kept, regs = reregistered
    assert len(kept) >= 0.7 * FRAMES  # ECC measures most pairs' own registration; dark ones it cannot
    result = estimate_alignment(frame_pairs(rig, kept, regs), "homography")
    est = result.alignment
    assert rig.truth().corner_error(est) <= 1.0
    assert _rotation_deg(est.as_array()) == pytest.approx(rig.rotation_deg, abs=0.1)
    assert "affine kept" in est.method  # a similarity rig: no perspective fitted
    # Three quarters of the frames agree within 1 px (a few night frames have too little RGB structure).
    assert est.quality["frames_inliers"] >= 0.75 * len(kept)


@pytest.mark.parametrize("rig", RIGS, ids=[r.name for r in RIGS])
def test_estimate_on_real_rigs_as_registered(rig: Rig, names: list[str], registration: dict[str, np.ndarray]) -> None:
    result: EstimateResult = estimate_alignment(frame_pairs(rig, names), "homography")
    est = result.alignment
    own = calibrated_truth(rig, registration["own"]).corner_error(est)
    ecc = calibrated_truth(rig, registration["ecc"]).corner_error(est)
    nominal = rig.truth().corner_error(est)
    assert own <= 1.0, f"rig recovered to {own:.2f} px (ECC-calibrated {ecc:.2f}, nominal {nominal:.2f})"
    assert ecc <= 1.5
    assert nominal <= 3.0  # RoadScene's own registration costs ~2 px at the RGB corners
    assert _rotation_deg(est.as_array()) == pytest.approx(rig.rotation_deg, abs=0.15)
    assert est.quality["rgb_px_per_thermal_px"] == pytest.approx(1.0 / rig.scale, rel=0.02)
    # The data's per-pair jitter shows as fewer frames within 1 px, and the estimate says so when it is few.
    agree = int(est.quality["frames_inliers"])
    assert agree >= 0.25 * FRAMES
    assert (agree < FRAMES / 2) == any("frames agree" in w for w in result.warnings)


def test_similarity_model_on_real_rig(names: list[str], registration: dict[str, np.ndarray]) -> None:
    rig = RIGS[2]  # the 2-degree rig
    est = estimate_alignment(frame_pairs(rig, names), "similarity").alignment
    m = est.as_array()
    assert m[0, 0] == pytest.approx(m[1, 1]) and m[0, 1] == pytest.approx(-m[1, 0])
    assert _rotation_deg(m) == pytest.approx(rig.rotation_deg, abs=0.15)
    assert calibrated_truth(rig, registration["own"]).corner_error(est) <= 1.0


def test_check_score_separates_good_from_5px_off_on_real_frames(tmp_path: Path) -> None:
    rig = RIGS[0]
    frames = pick(12, offset=1)
    root = realdata.write_pairs_dataset(tmp_path / "data", rig, frames)
    good = calibrated_truth(rig, realdata.registration_offset(frames))
    g = check_alignment(root, "pairs", good, tmp_path / "good", n=12)
    gv = np.array([g.scores[k] for k in sorted(g.scores)])
    for axis in (0, 1):
        m = good.as_array().copy()
        m[axis, 2] += 5.0  # five thermal pixels off, across and along
        off = Alignment.from_matrix(m, good.rgb_size, good.thermal_size, "5 px off")
        b = check_alignment(root, "pairs", off, tmp_path / f"bad{axis}", n=12)
        bv = np.array([b.scores[k] for k in sorted(b.scores)])
        assert np.median(gv) > 1.3 * np.median(bv)
        assert (gv > bv).sum() >= 10


def test_cli_strict_fails_on_weak_real_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rig that moved twice during the recording: no transform is supported by most frames."""
    base = RIGS[1]
    frames = pick(18, offset=3)
    for i, dx in enumerate((0.0, 6.0, -6.0)):
        rig = Rig(f"moved{i}", base.scale, base.rotation_deg, (base.offset[0] + dx, base.offset[1]))
        realdata.write_pairs_dataset(tmp_path / "data", rig, frames[i::3])
    out = tmp_path / "alignment.yaml"
    argv = ["align", "estimate", "--root", str(tmp_path / "data"), "--format", "pairs", "--out", str(out)]
    assert main([*argv, "--strict"]) == 1
    captured = capsys.readouterr()
    assert "weak evidence" in captured.err and "frames agree" in captured.err and "not written" in captured.err
    assert not out.exists()
    assert main(argv) == 0
    assert "weak-evidence warning" in capsys.readouterr().out and out.is_file()


@pytest.mark.slow
def test_cli_estimate_60_real_frames_in_time(tmp_path: Path) -> None:
    rig = RIGS[0]
    frames = pick(60, offset=2)
    root = realdata.write_pairs_dataset(tmp_path / "data", rig, frames)
    out = tmp_path / "alignment.yaml"
    start = time.perf_counter()
    assert main(["align", "estimate", "--root", str(root), "--format", "pairs", "--out", str(out)]) == 0
    assert time.perf_counter() - start < 120.0
    truth = calibrated_truth(rig, realdata.registration_offset(frames))
    assert truth.corner_error(Alignment.load(out)) <= 1.5
