"""Metrics: known values, agreement with textbook definitions, and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from thermal_synth_core.metrics import l1, psnr, ssim, warm_contrast, warm_region_iou


def _img(seed: int = 0, shape: tuple[int, int] = (64, 80)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_identical_images() -> None:
    x = _img()
    assert l1(x, x) == 0.0
    assert psnr(x, x) == 100.0
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    assert warm_region_iou(x, x) == 1.0


def test_l1_and_psnr_values() -> None:
    a = np.zeros((16, 16), np.float32)
    b = np.full((16, 16), 0.1, np.float32)
    assert l1(a, b) == pytest.approx(0.1)
    assert psnr(a, b) == pytest.approx(20.0, abs=1e-4)


def test_ssim_orders_degradations() -> None:
    x = _img(1)
    small = np.clip(x + _img(2) * 0.05, 0, 1)
    large = np.clip(x + _img(3) * 0.5, 0, 1)
    assert 1.0 > ssim(small, x) > ssim(large, x) > 0.0
    # Gain/offset change keeps structure but not luminance: high but below 1.
    assert 0.5 < ssim(x * 0.8 + 0.1, x) < 1.0


def test_ssim_matches_reference_formula_on_constant_images() -> None:
    a = np.full((32, 32), 0.2, np.float32)
    b = np.full((32, 32), 0.6, np.float32)
    c1 = 0.01**2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)
    assert ssim(a, b) == pytest.approx(expected, rel=1e-4)


def test_warm_region_iou_is_rank_based() -> None:
    x = _img(4)
    assert warm_region_iou(x * 0.5 + 0.2, x) == pytest.approx(1.0)
    assert warm_region_iou(1.0 - x, x) == 0.0


def test_warm_contrast() -> None:
    pred = np.zeros((10, 10), np.float32)
    mask = np.zeros((10, 10), bool)
    pred[:2] = 1.0
    mask[:2] = True
    assert warm_contrast(pred, mask) == pytest.approx(1.0)
    assert math.isnan(warm_contrast(pred, np.zeros_like(mask)))


@pytest.mark.parametrize("fn", [l1, psnr, ssim, warm_region_iou])
def test_shape_mismatch(fn: object) -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        fn(np.zeros((20, 20)), np.zeros((20, 21)))  # type: ignore[operator]


def test_ssim_too_small() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((5, 5)), np.zeros((5, 5)))
