"""Colour maps for viewing thermal images: white-hot, black-hot, ironbow, inferno.

One registry, :data:`COLORMAPS`; each entry is a 256-entry BGR lookup table, so
mapping a frame is a single ``cv2.LUT``. 16-bit thermal images are reduced to 8
bits first: linearly (synthetic thermal already spans the full range), or with
the shared robust-percentile AGC for raw radiometric frames (``agc=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_to_uint8
from thermal_synth_core.errors import DataError

__all__ = ["COLORMAPS", "apply_colormap", "colormap_lut", "list_colormaps"]

Lut = npt.NDArray[np.uint8]  # (256, 1, 3) BGR


def _gray() -> Lut:
    ramp = np.arange(256, dtype=np.uint8)
    return np.repeat(ramp[:, None, None], 3, axis=2)


def _white_hot() -> Lut:
    return _gray()


def _black_hot() -> Lut:
    return _gray()[::-1].copy()


def _ironbow() -> Lut:
    # The classic thermography palette: black -> indigo -> magenta -> red/orange -> yellow -> white.
    # Anchor colours (RGB) at positions 0..255, linearly interpolated between them.
    anchors = [
        (0, (0, 0, 0)),
        (32, (32, 0, 96)),
        (72, (110, 0, 150)),
        (112, (180, 20, 120)),
        (150, (230, 70, 40)),
        (190, (250, 140, 0)),
        (225, (255, 210, 40)),
        (255, (255, 255, 230)),
    ]
    xs = np.array([a[0] for a in anchors], dtype=np.float64)
    rgb = np.array([a[1] for a in anchors], dtype=np.float64)
    ramp = np.arange(256, dtype=np.float64)
    table = np.stack([np.interp(ramp, xs, rgb[:, c]) for c in range(3)], axis=1)
    bgr = np.round(table[:, ::-1]).astype(np.uint8)
    return bgr[:, None, :]


def _opencv(code: int) -> Callable[[], Lut]:
    def make() -> Lut:
        ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
        return np.asarray(cv2.applyColorMap(ramp, code), dtype=np.uint8).reshape(256, 1, 3)

    return make


#: name -> function building its (256, 1, 3) BGR lookup table.
COLORMAPS: Final[dict[str, Callable[[], Lut]]] = {
    "white-hot": _white_hot,
    "black-hot": _black_hot,
    "ironbow": _ironbow,
    "inferno": _opencv(cv2.COLORMAP_INFERNO),
}

_LUTS: dict[str, Lut] = {}


def list_colormaps() -> list[str]:
    """Registered colour map names."""
    return list(COLORMAPS)


def colormap_lut(name: str) -> Lut:
    """The (256, 1, 3) BGR lookup table of a colour map; unknown names list the valid ones."""
    if name not in COLORMAPS:
        raise DataError(f"unknown colour map {name!r}; valid: {', '.join(COLORMAPS)}")
    if name not in _LUTS:
        _LUTS[name] = COLORMAPS[name]()
    return _LUTS[name]


def apply_colormap(thermal: npt.NDArray[np.generic], name: str, agc: bool = False) -> npt.NDArray[np.uint8]:
    """Colour-map a thermal image (H x W uint8 or uint16) to BGR8 (H x W x 3).

    ``agc=True`` stretches the image with the shared percentile AGC first (for raw
    radiometric frames); otherwise uint16 is scaled linearly (65535 -> 255).
    """
    lut = colormap_lut(name)
    img = np.asarray(thermal)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim != 2 or img.size == 0:
        raise DataError(f"a thermal image must be a non-empty H x W array, got shape {img.shape}")
    if agc:
        img8 = agc_to_uint8(img)
    elif img.dtype == np.uint8:
        img8 = img
    elif img.dtype == np.uint16:
        img8 = (img >> 8).astype(np.uint8)
    else:
        raise DataError(f"a thermal image must be uint8 or uint16 (or pass agc=True), got {img.dtype}")
    gray3 = cv2.cvtColor(np.ascontiguousarray(img8), cv2.COLOR_GRAY2BGR)
    return np.asarray(cv2.LUT(gray3, lut), dtype=np.uint8)
