"""The labelled side-by-side image of ``thermal/comparison``: RGB | synthetic | real."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["side_by_side"]

U8: type[np.uint8] = np.uint8


def _fit(image: npt.NDArray[np.uint8], height: int) -> npt.NDArray[np.uint8]:
    """Scale to ``height`` keeping the aspect ratio (area filter down, linear up)."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interp), dtype=U8)


def _label(image: npt.NDArray[np.uint8], lines: Sequence[str]) -> None:
    """Draw ``lines`` top-left on a dark box so they read on any content (in place)."""
    scale = max(0.4, image.shape[0] / 640.0)
    thickness = max(1, round(scale * 1.5))
    y = 0
    for text in lines:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        pad = max(2, th // 3)
        cv2.rectangle(image, (0, y), (tw + 2 * pad, y + th + base + 2 * pad), (0, 0, 0), thickness=-1)
        cv2.putText(
            image,
            text,
            (pad, y + pad + th),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
        y += th + base + 2 * pad


def side_by_side(panels: Sequence[tuple[Sequence[str], npt.NDArray[np.uint8]]], height: int) -> npt.NDArray[np.uint8]:
    """Concatenate BGR8 panels left to right at ``height`` px, each labelled with its text lines."""
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    out = []
    for lines, panel in panels:
        bgr = np.asarray(cv2.cvtColor(panel, cv2.COLOR_GRAY2BGR), dtype=U8) if panel.ndim == 2 else panel
        fitted = _fit(bgr, height)
        fitted = fitted.copy() if fitted is panel else fitted  # never draw on the caller's array
        _label(fitted, lines)
        out.append(fitted)
    return np.ascontiguousarray(np.concatenate(out, axis=1))
