"""Automatic alignment: recovers the synthetic rigs' known transforms within 1 thermal pixel."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.align.estimate import (
    FramePair,
    edge_features,
    estimate_alignment,
    weak_evidence,
)
from thermal_synth_core.cli import main
from thermal_synth_core.data.rig import estimate_from_dataset
from thermal_synth_core.errors import AlignmentError, DataError


@pytest.mark.parametrize("layout", ["flir-v1", "flir-v2"])
def test_estimate_recovers_known_transform(
    layout: str, synth_v1: Path, synth_v2: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = synth_v1 if layout == "flir-v1" else synth_v2
    out = tmp_path / "alignment.yaml"
    argv = ["align", "estimate", "--root", str(root), "--format", layout, "--out", str(out), "--max-frames", "10"]
    assert main([*argv, "--strict"]) == 0  # good evidence: --strict passes
    summary = capsys.readouterr().out
    assert "frames agree" in summary and str(out) in summary and "weak-evidence" not in summary
    est = Alignment.load(out)
    truth = Alignment.load(root / "ground_truth_alignment.yaml")
    assert est.rgb_size == truth.rgb_size and est.thermal_size == truth.thermal_size
    assert truth.corner_error(est) <= 1.0
    q = est.quality
    for key in ("frames_inliers", "residual_median_px", "residual_max_px", "residual_spread_px"):
        assert key in q
    assert q["frames_inliers"] >= 4
    assert q["residual_median_px"] < 1.0


@pytest.mark.parametrize("model", ["affine", "similarity"])
def test_estimate_other_models(model: str, synth_v1: Path) -> None:
    result = estimate_from_dataset(synth_v1, "flir-v1", model=model, max_frames=6)
    truth = Alignment.load(synth_v1 / "ground_truth_alignment.yaml")
    m = result.alignment.as_array()
    assert np.allclose(m[2], [0, 0, 1])
    if model == "similarity":
        assert m[0, 0] == pytest.approx(m[1, 1]) and m[0, 1] == pytest.approx(-m[1, 0])
    assert truth.corner_error(result.alignment) <= 1.5
    assert {f.key for f in result.frames} and all(f.key.count("/") == 1 for f in result.frames)


def test_estimate_rejects_frames_that_disagree() -> None:
    rng = np.random.default_rng(0)
    base = rng.random((60, 80)).astype(np.float32)
    base = np.kron(base, np.ones((8, 8), np.float32))  # 480 x 640 blocks: strong edges
    good = [FramePair(f"s/{i}", base, base) for i in range(5)]
    shifted = np.roll(base, 5, axis=1)
    bad = FramePair("s/bad", base, shifted)
    result = estimate_alignment([*good, bad], model="affine")
    by_key = {f.key: f for f in result.frames}
    assert not by_key["s/bad"].inlier
    assert all(by_key[f"s/{i}"].inlier for i in range(5))
    assert np.allclose(result.alignment.as_array(), np.eye(3), atol=0.02)


def test_edge_features_ignore_gain_and_polarity() -> None:
    rng = np.random.default_rng(1)
    img = np.kron(rng.random((16, 16)), np.ones((16, 16))).astype(np.float32)
    a = edge_features(img)
    b = edge_features(1.0 - 0.2 * img)  # inverted and low contrast, like a thermal view of the same edges
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_estimate_errors(tmp_path: Path) -> None:
    with pytest.raises(AlignmentError, match="no frame pairs"):
        estimate_alignment([])
    with pytest.raises(AlignmentError, match="unknown transform model 'shear'"):
        estimate_alignment([FramePair("a", np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32))], "shear")
    with pytest.raises(DataError, match="dataset root not found"):
        estimate_from_dataset(tmp_path / "nope", "flir-v1")


def test_cli_estimate_needs_root_or_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["align", "estimate", "--out", "x.yaml"]) == 1
    assert "--root and --format" in capsys.readouterr().err


def _blocks(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    small = rng.random((size[1] // 16, size[0] // 16)).astype(np.float32)
    return cv2.resize(small, size, interpolation=cv2.INTER_NEAREST)


@pytest.mark.parametrize("perspective", [0.0, 4e-5])
def test_perspective_kept_only_when_frames_agree_on_it(perspective: float) -> None:
    """A rig with real perspective gets a homography; one without keeps the steadier affine fit."""
    h = np.array([[0.8, 0.01, -20.0], [-0.008, 0.8, -15.0], [perspective, -perspective / 2, 1.0]])
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(5):
        rgb = _blocks(rng, (880, 704))
        thermal = cv2.warpPerspective(rgb, h, (640, 512), flags=cv2.INTER_AREA)
        pairs.append(FramePair(f"s/{i}", rgb, np.asarray(thermal, np.float32)))
    result = estimate_alignment(pairs, model="homography")
    truth = Alignment.from_matrix(h, (880, 704), (640, 512), "truth")
    assert truth.corner_error(result.alignment) < 0.5
    kept = result.alignment.quality["perspective_significant"] == 1.0
    assert kept == (perspective > 0)
    assert ("affine kept" in result.alignment.method) == (perspective == 0)


def test_weak_evidence_names_each_weakness() -> None:
    good = {"frames": 40.0, "frames_inliers": 36.0, "coarse_peak_ratio": 2.0, "perspective_px": 0.2}
    assert weak_evidence(good) == []
    assert any("only 12 of 40 frames agree" in w for w in weak_evidence({**good, "frames_inliers": 12.0}))
    assert any("only 2 of 3 frames" in w for w in weak_evidence({**good, "frames": 3.0, "frames_inliers": 2.0}))
    assert any("score is flat" in w for w in weak_evidence({**good, "coarse_peak_ratio": 1.02}))
    noisy = {**good, "perspective_px": 1.4, "perspective_significant": 0.0}
    assert any("do not agree on" in w for w in weak_evidence(noisy))
    real = {**good, "perspective_px": 3.0, "perspective_significant": 1.0}
    assert weak_evidence(real, "homography") == []
    assert any("a similarity cannot represent" in w for w in weak_evidence(real, "similarity"))


def test_estimate_warns_on_featureless_frames() -> None:
    rng = np.random.default_rng(3)
    pairs = [
        FramePair(f"s/{i}", rng.random((240, 320)).astype(np.float32), rng.random((192, 256)).astype(np.float32))
        for i in range(4)
    ]
    result = estimate_alignment(pairs, model="affine")  # unrelated noise: an answer, flagged as unsupported
    assert any("only 0 of 4 frames agree" in w for w in result.warnings)
    assert all(f.error and "too little structure" in f.error for f in result.frames)
