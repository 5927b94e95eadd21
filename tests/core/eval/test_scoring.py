"""Scoring pieces: the grayscale baseline, per-frame scores and the aggregate (who wins, how often)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from thermal_synth_core.eval.panels import frame_strip
from thermal_synth_core.eval.scoring import METRICS, aggregate, baseline_from_blob, rgb_from_blob, score


def _blob(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.dnn.blobFromImage(rgb, 1.0 / 127.5, mean=(127.5, 127.5, 127.5)), dtype=np.float32)


def test_baseline_is_the_luminance_of_the_network_input() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    blob = _blob(rgb)
    np.testing.assert_array_equal(baseline_from_blob(blob), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    np.testing.assert_array_equal(rgb_from_blob(blob), rgb)


def test_scores_of_a_perfect_prediction_and_missing_inputs() -> None:
    rng = np.random.default_rng(1)
    real = np.asarray(cv2.GaussianBlur(rng.random((64, 80), dtype=np.float32), (9, 9), 3), dtype=np.float32)
    mask = real > np.quantile(real, 0.9)
    perfect = score(real, real, mask)
    assert perfect["l1"] == 0.0 and perfect["psnr"] == 100.0 and perfect["warm_iou"] == 1.0
    assert perfect["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert perfect["warm_contrast"] is not None and perfect["warm_contrast"] > 0
    only_mask = score(real, None, mask)
    assert only_mask["l1"] is None and only_mask["warm_contrast"] == perfect["warm_contrast"]
    assert all(v is None for v in score(real, None, None).values())


def _rows(model: Sequence[float | None], base: Sequence[float | None], key: str) -> list[dict[str, float | None]]:
    return [{f"model_{key}": m, f"baseline_{key}": b} for m, b in zip(model, base, strict=True)]


@pytest.mark.parametrize(
    ("key", "model", "base", "winner", "fraction"),
    [
        ("warm_iou", [0.5, 0.6, 0.2], [0.3, 0.7, 0.1], "model", 2 / 3),
        ("l1", [0.1, 0.2, 0.3], [0.2, 0.1, 0.1], "baseline", 1 / 3),  # lower is better
        ("l1", [0.1, 0.1], [0.1, 0.1], "tie", 0.0),
    ],
)
def test_aggregate_marks_the_winner_by_direction(
    key: str, model: list[float], base: list[float], winner: str, fraction: float
) -> None:
    entry = aggregate(_rows(model, base, key))[key]
    assert entry["winner"] == winner
    assert entry["model_better_fraction"] == pytest.approx(fraction)
    assert entry["model"]["mean"] == pytest.approx(float(np.mean(model)))
    assert entry["frames_compared"] == len(model)


def test_aggregate_skips_missing_values_and_absent_metrics() -> None:
    rows = _rows([0.5, None, math.nan], [0.4, 0.3, 0.2], "ssim")
    result = aggregate(rows)
    assert set(result) == {"ssim"}
    assert result["ssim"]["model"]["n"] == 1 and result["ssim"]["baseline"]["n"] == 3
    assert result["ssim"]["frames_compared"] == 1
    assert {m.key for m in METRICS} >= set(result)


def test_frame_strip_has_four_labelled_tiles_or_two_without_real() -> None:
    rgb = np.zeros((128, 160, 3), np.uint8)
    syn = np.linspace(0, 1, 256 * 320, dtype=np.float32).reshape(256, 320)
    four = frame_strip(rgb, syn, syn[::-1].copy(), title="frame 1")
    two = frame_strip(rgb, syn, None, title="frame 1")
    assert four.dtype == np.uint8 and four.shape[0] == two.shape[0]
    assert four.shape[1] > 1.9 * two.shape[1]
