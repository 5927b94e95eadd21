"""Sample images: one labelled strip per frame, RGB | synthetic | real | absolute error; crops around objects.

All tiles show the thermal camera's field of view at the same size: the RGB
frame as the network sees it (warped by the model's alignment), the synthetic
and the real frame after the shared AGC in the same colour map, and the
absolute difference of the two on a fixed 0-0.5 scale (so strips of different
frames can be compared by eye).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.infer.colormap import apply_colormap
from thermal_synth_core.objects import Box

__all__ = ["CROP_HEIGHT", "ERROR_SCALE", "TILE_HEIGHT", "crop_strip", "frame_strip", "tile"]

#: Height in pixels of each tile of a strip.
TILE_HEIGHT: Final = 256
#: Absolute AGC-normalised error shown at full colour.
ERROR_SCALE: Final = 0.5
#: Height in pixels of each tile of an object's crop strip.
CROP_HEIGHT: Final = 128
_BAND = 26
_TITLE = 30
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _to_u8(image01: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    return np.asarray(np.clip(image01 * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def tile(image_bgr: npt.NDArray[np.uint8], label: str, height: int = TILE_HEIGHT) -> npt.NDArray[np.uint8]:
    """``image_bgr`` scaled to ``height`` with ``label`` on a dark band above it."""
    h, w = image_bgr.shape[:2]
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    body = cv2.resize(image_bgr, (width, height), interpolation=interp)
    band = np.full((_BAND, width, 3), 32, dtype=np.uint8)
    cv2.putText(band, label, (6, _BAND - 8), _FONT, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([band, body])


def frame_strip(
    rgb_view: npt.NDArray[np.uint8],
    synthetic01: npt.NDArray[np.float32],
    real01: npt.NDArray[np.float32] | None,
    *,
    title: str,
    colormap: str = "ironbow",
    height: int = TILE_HEIGHT,
) -> npt.NDArray[np.uint8]:
    """The labelled BGR strip of one frame (RGB | synthetic [| real | |error|]) with ``title`` on top."""
    tiles: list[npt.NDArray[np.uint8]] = [
        tile(np.asarray(cv2.cvtColor(rgb_view, cv2.COLOR_RGB2BGR), dtype=np.uint8), "RGB (thermal view)", height),
        tile(apply_colormap(_to_u8(synthetic01), colormap), "synthetic", height),
    ]
    if real01 is not None:
        error = np.abs(synthetic01 - real01) / ERROR_SCALE
        tiles.append(tile(apply_colormap(_to_u8(real01), colormap), "real (AGC)", height))
        tiles.append(tile(apply_colormap(_to_u8(np.clip(error, 0, 1)), "inferno"), f"|error| 0-{ERROR_SCALE}", height))
    strip = _hstack(tiles)
    bar = np.full((_TITLE, strip.shape[1], 3), 18, dtype=np.uint8)
    cv2.putText(bar, title, (8, _TITLE - 10), _FONT, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, strip])


def _crop_window(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """The box with a margin of half its size on each side, at least 48 px square, clipped: (x0, y0, x1, y1)."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    rx, ry = max(box.w, 24.0), max(box.h, 24.0)  # half the window: the box's size, so a margin of half of it
    x0, y0 = max(0, int(cx - rx)), max(0, int(cy - ry))
    x1, y1 = min(width, int(np.ceil(cx + rx))), min(height, int(np.ceil(cy + ry)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def crop_strip(
    images: tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32]],
    box: Box,
    *,
    title: str,
    colormap: str = "ironbow",
    height: int = CROP_HEIGHT,
) -> npt.NDArray[np.uint8]:
    """RGB | synthetic | real crops (BGR) around ``box``, the box outlined, ``title`` on top.

    ``images`` are the RGB frame in the thermal view and the AGC-normalised synthetic and
    real frames, all of one size (the box's pixels).
    """
    rgb_view, synthetic01, real01 = images
    x0, y0, x1, y1 = _crop_window(box, rgb_view.shape[1], rgb_view.shape[0])
    views = (
        np.asarray(cv2.cvtColor(rgb_view, cv2.COLOR_RGB2BGR), dtype=np.uint8),
        apply_colormap(_to_u8(synthetic01), colormap),
        apply_colormap(_to_u8(real01), colormap),
    )
    tiles = []
    for view, label in zip(views, ("RGB", "synthetic", "real"), strict=True):
        crop = np.ascontiguousarray(view[y0:y1, x0:x1])
        corner = (round(box.x) - x0, round(box.y) - y0)
        cv2.rectangle(crop, corner, (corner[0] + round(box.w) - 1, corner[1] + round(box.h) - 1), (80, 220, 80), 1)
        tiles.append(tile(crop, label, height))
    strip = _hstack(tiles)
    bar = np.full((_TITLE, strip.shape[1], 3), 18, dtype=np.uint8)
    cv2.putText(bar, title, (6, _TITLE - 10), _FONT, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, strip])


def _hstack(tiles: Sequence[npt.NDArray[Any]], gap: int = 4) -> npt.NDArray[np.uint8]:
    h = max(t.shape[0] for t in tiles)
    parts: list[npt.NDArray[Any]] = []
    for i, t in enumerate(tiles):
        if i:
            parts.append(np.full((h, gap, 3), 18, dtype=np.uint8))
        parts.append(t)
    return np.hstack(parts).astype(np.uint8)
