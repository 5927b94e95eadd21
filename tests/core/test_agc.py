"""The one AGC normalisation: percentiles to [0, 1], robust to outliers, dtypes and flat frames."""

from __future__ import annotations

import numpy as np
import pytest

from thermal_synth_core.agc import agc_normalize, agc_to_uint8, agc_to_uint16


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_maps_percentiles_to_unit_range(dtype: type) -> None:
    rng = np.random.default_rng(0)
    high = 200 if dtype == np.uint8 else 2000
    img: np.ndarray = rng.integers(high // 4, high, size=(64, 80)).astype(dtype)
    out = agc_normalize(img)
    assert out.dtype == np.float32
    assert out.min() == 0.0
    assert out.max() == 1.0
    assert 0.3 < float(out.mean()) < 0.7


def test_integer_path_matches_numpy_percentile() -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 16384, size=(128, 160)).astype(np.uint16)
    ref_lo, ref_hi = np.percentile(img, [1, 99], method="inverted_cdf")
    out = agc_normalize(img)
    expected = np.clip((img.astype(np.float32) - ref_lo) / (ref_hi - ref_lo), 0, 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_robust_to_hot_outliers() -> None:
    img = np.full((100, 100), 3000, dtype=np.uint16)
    img[:, 50:] = 4000
    img[0, :5] = 65535  # dead/hot pixels must not compress the scene
    out = agc_normalize(img)
    assert out[50, 10] == 0.0
    assert out[50, 90] == 1.0


def test_flat_image_is_zero_and_nan_safe() -> None:
    assert not agc_normalize(np.full((4, 4), 7, np.uint8)).any()
    img = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    img[0, 0] = np.nan
    out = agc_normalize(img)
    assert np.isfinite(out).all()


def test_scaled_variants() -> None:
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert agc_to_uint8(img).dtype == np.uint8
    assert agc_to_uint16(img).max() == 65535


@pytest.mark.parametrize(
    ("img", "pattern"),
    [
        (np.zeros((4, 4, 3), np.uint8), "single-channel"),
        (np.zeros((0, 4), np.uint8), "empty"),
    ],
)
def test_bad_input(img: np.ndarray, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        agc_normalize(img)


def test_bad_percentiles() -> None:
    with pytest.raises(ValueError, match="percentiles"):
        agc_normalize(np.zeros((2, 2), np.uint8), low=50, high=10)
