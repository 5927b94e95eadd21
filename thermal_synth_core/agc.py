"""Robust percentile AGC: the one normalisation of thermal images used everywhere.

Thermal cameras apply automatic gain control (AGC), so the same scene maps to
different 8-bit values from frame to frame, and raw 14/16-bit radiometric
frames have arbitrary offsets. Training targets, evaluation against real
thermal, the grayscale baseline and the node's ``real_thermal/image_agc`` all
pass through :func:`agc_normalize` so that comparisons are made on the same
scale: the ``low``-th percentile maps to 0, the ``high``-th to 1, clipped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["AGC_HIGH_PERCENTILE", "AGC_LOW_PERCENTILE", "agc_normalize", "agc_to_uint8", "agc_to_uint16"]

AGC_LOW_PERCENTILE = 1.0
AGC_HIGH_PERCENTILE = 99.0


def agc_normalize(
    image: npt.NDArray[np.generic],
    low: float = AGC_LOW_PERCENTILE,
    high: float = AGC_HIGH_PERCENTILE,
) -> npt.NDArray[np.float32]:
    """Map a single-channel image to float32 in [0, 1] by robust percentiles.

    ``image`` may be uint8, uint16 (e.g. FLIR 14-bit radiometric data) or float.
    Non-finite values are ignored when computing percentiles and mapped to 0.
    A flat image (percentiles equal) maps to all zeros rather than dividing by 0.
    """
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"AGC percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}")
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise ValueError(f"AGC expects a single-channel image (H x W), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("AGC got an empty image")
    lo, hi = _percentiles(arr, low, high)
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():
        out = np.nan_to_num(out, nan=lo, posinf=hi, neginf=lo)
    scale = hi - lo
    if scale <= 0:
        return np.zeros(arr.shape, dtype=np.float32)
    out -= np.float32(lo)
    out *= np.float32(1.0 / scale)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def agc_to_uint8(
    image: npt.NDArray[np.generic], low: float = AGC_LOW_PERCENTILE, high: float = AGC_HIGH_PERCENTILE
) -> npt.NDArray[np.uint8]:
    """:func:`agc_normalize` scaled to uint8 (0..255), for viewing and 8-bit datasets."""
    return (agc_normalize(image, low, high) * 255.0 + 0.5).astype(np.uint8)


def agc_to_uint16(
    image: npt.NDArray[np.generic], low: float = AGC_LOW_PERCENTILE, high: float = AGC_HIGH_PERCENTILE
) -> npt.NDArray[np.uint16]:
    """:func:`agc_normalize` scaled to uint16 (0..65535)."""
    return (agc_normalize(image, low, high) * 65535.0 + 0.5).astype(np.uint16)


def _percentiles(arr: npt.NDArray[np.generic], low: float, high: float) -> tuple[float, float]:
    # Integer images: a histogram is exact and several times faster than sorting.
    if arr.dtype in (np.uint8, np.uint16):
        counts = np.bincount(arr.ravel(), minlength=256 if arr.dtype == np.uint8 else 1)
        cdf = np.cumsum(counts)
        total = cdf[-1]
        lo = int(np.searchsorted(cdf, max(total * low / 100.0, 1), side="left"))
        hi = int(np.searchsorted(cdf, max(total * high / 100.0, 1), side="left"))
        return float(lo), float(hi)
    finite = arr[np.isfinite(arr)] if np.issubdtype(arr.dtype, np.floating) else arr
    if finite.size == 0:
        return 0.0, 0.0
    lo_f, hi_f = np.percentile(finite, [low, high])
    return float(lo_f), float(hi_f)
