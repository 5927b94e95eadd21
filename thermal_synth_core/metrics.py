"""Image metrics shared by training validation, offline evaluation and the node's diagnostics.

All functions take single-channel float images in [0, 1] of the same shape (run
:func:`thermal_synth_core.agc.agc_normalize` first so that AGC differences between
cameras do not count as errors) and return Python floats.

* :func:`l1`, :func:`psnr`, :func:`ssim` (Wang et al. 2004, 11x11 Gaussian window,
  sigma 1.5, K1=0.01, K2=0.03, borders cropped like scikit-image) compare pixels.
* :func:`warm_region_iou` asks the question a thermal user cares about: are the
  hottest regions of the real frame also the hottest of the synthetic one? It is
  rank-based, so it is insensitive to gain and offset.
* :func:`warm_contrast` measures how much brighter a prediction is inside known
  warm-object masks than outside (synthetic data ships such masks).

Against real thermal, ``evaluate`` and the node's live ``/diagnostics`` score the
same way, with the same functions: the synthetic frame is put on the real
frame's grid and AGC-normalised by :func:`normalised_at`, the real frame is
AGC-normalised at its own size, and :func:`l1_ssim` gives both L1 and SSIM (no
SSIM for frames under 11 pixels).
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_normalize

__all__ = [
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "WARM_TOP_FRACTION",
    "l1",
    "l1_ssim",
    "normalised_at",
    "psnr",
    "ssim",
    "to_size",
    "warm_contrast",
    "warm_region_iou",
    "warm_threshold",
]

FloatImage = npt.NDArray[np.floating]

#: Fraction of pixels counted as "the hottest region" of a frame.
WARM_TOP_FRACTION = 0.10

#: SSIM's parameters (Wang et al. 2004), shared with the training loss ``losses.ssim_torch``:
#: the Gaussian window's side (so the smallest image SSIM is defined on) and sigma, and K1, K2.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check(pred: FloatImage, target: FloatImage) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    a = np.asarray(pred, dtype=np.float32)
    b = np.asarray(target, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"metric inputs differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"metrics expect non-empty single-channel images (H x W), got shape {a.shape}")
    return a, b


def l1(pred: FloatImage, target: FloatImage) -> float:
    """Mean absolute error."""
    a, b = _check(pred, target)
    return float(np.mean(np.abs(a - b)))


def psnr(pred: FloatImage, target: FloatImage, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (capped at 100 dB for identical images)."""
    a, b = _check(pred, target)
    mse = float(np.mean((a - b) ** 2))
    if mse <= 1e-10 * data_range**2:
        return 100.0
    return 10.0 * math.log10(data_range**2 / mse)


def ssim(pred: FloatImage, target: FloatImage, data_range: float = 1.0) -> float:
    """Mean structural similarity (Gaussian-weighted, as in Wang et al. 2004).

    The mean is over the pixels whose whole window lies inside the image, so this
    equals the training loss's ``ssim_torch`` (a "valid" convolution) up to float
    rounding (tests/core/test_ssim_parity.py).
    """
    a, b = _check(pred, target)
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2

    def blur(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(
            cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT),
            dtype=np.float32,
        )

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    pad = (SSIM_WINDOW - 1) // 2
    ssim_map = (num / den)[pad:-pad, pad:-pad]
    return float(np.mean(ssim_map, dtype=np.float64))


def l1_ssim(pred: FloatImage, target: FloatImage) -> tuple[float, float | None]:
    """L1 and SSIM of two AGC-normalised frames; SSIM is None when a side is under :data:`SSIM_WINDOW` pixels."""
    a, b = _check(pred, target)
    return l1(a, b), ssim(a, b) if min(b.shape) >= SSIM_WINDOW else None


def to_size(image: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """``image`` resized to ``size`` (W, H): area-averaged when shrinking, bilinear when growing."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    interp = cv2.INTER_AREA if w > size[0] or h > size[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interp))


def normalised_at(image: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """``image`` on a ``size`` (W, H) grid (:func:`to_size`), then AGC-normalised: how a frame meets real thermal."""
    return agc_normalize(to_size(image, size))


def warm_threshold(image: FloatImage, top_fraction: float = WARM_TOP_FRACTION) -> float:
    """The value above which the hottest ``top_fraction`` of pixels lie."""
    if not 0.0 < top_fraction < 1.0:
        raise ValueError(f"top_fraction must be in (0, 1), got {top_fraction}")
    return float(np.quantile(np.asarray(image, dtype=np.float32), 1.0 - top_fraction))


def warm_region_iou(pred: FloatImage, target: FloatImage, top_fraction: float = WARM_TOP_FRACTION) -> float:
    """IoU of the hottest ``top_fraction`` of pixels in ``pred`` and in ``target`` (1 = same regions)."""
    a, b = _check(pred, target)
    warm_a = a >= warm_threshold(a, top_fraction)
    warm_b = b >= warm_threshold(b, top_fraction)
    union = int(np.count_nonzero(warm_a | warm_b))
    if union == 0:
        return 1.0
    return float(np.count_nonzero(warm_a & warm_b) / union)


def warm_contrast(pred: FloatImage, mask: npt.NDArray[np.bool_]) -> float:
    """Mean of ``pred`` inside ``mask`` minus its mean outside (NaN if either side is empty)."""
    a = np.asarray(pred, dtype=np.float32)
    m = np.asarray(mask, dtype=bool)
    if a.shape != m.shape:
        raise ValueError(f"prediction and mask differ in shape: {a.shape} vs {m.shape}")
    inside, outside = a[m], a[~m]
    if inside.size == 0 or outside.size == 0:
        return float("nan")
    return float(inside.mean() - outside.mean())
