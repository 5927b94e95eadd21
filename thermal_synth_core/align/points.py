"""Alignment from point correspondences: hand-picked points (``--points``) and the estimator's own.

The CSV format is one correspondence per line, ``rgb_x,rgb_y,thermal_x,thermal_y``
in pixels (OpenCV convention: pixel centres at integer coordinates) of the RGB
image at the alignment's RGB size and of the thermal image. A header line and
``#`` comments are allowed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import AlignmentError
from thermal_synth_core.names import ALIGNMENT_MODELS

__all__ = ["MIN_POINTS", "MODELS", "alignment_from_points", "fit_transform", "read_points", "transfer_error"]

Size = tuple[int, int]
Points = npt.NDArray[np.float64]

#: Transform models, from most to least general.
MODELS = ALIGNMENT_MODELS
#: Correspondences needed to determine each model.
MIN_POINTS = {"homography": 4, "affine": 3, "similarity": 2}


def read_points(path: str | Path) -> tuple[Points, Points]:
    """Read ``rgb_x,rgb_y,thermal_x,thermal_y`` rows; returns (rgb N x 2, thermal N x 2)."""
    path = Path(path)
    if not path.is_file():
        raise AlignmentError(f"points file not found: {path}")
    rgb: list[tuple[float, float]] = []
    th: list[tuple[float, float]] = []
    seen_line = False
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            cells = [c.strip() for c in row]
            if not cells or not any(cells) or cells[0].startswith("#"):
                continue
            first, seen_line = not seen_line, True
            try:
                values = [float(c) for c in cells[:4]]
            except ValueError:
                if first:  # a header line
                    continue
                raise AlignmentError(
                    f"{path}:{lineno}: expected four numbers rgb_x,rgb_y,thermal_x,thermal_y"
                ) from None
            if len(values) != 4 or not all(math.isfinite(v) for v in values):
                raise AlignmentError(f"{path}:{lineno}: expected four finite numbers rgb_x,rgb_y,thermal_x,thermal_y")
            rgb.append((values[0], values[1]))
            th.append((values[2], values[3]))
    if not rgb:
        raise AlignmentError(f"{path}: no correspondences found (one line per point: rgb_x,rgb_y,thermal_x,thermal_y)")
    return np.asarray(rgb, dtype=np.float64), np.asarray(th, dtype=np.float64)


def _similarity(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    # Linear least squares for x' = a x - b y + tx, y' = b x + a y + ty.
    n = len(src)
    a = np.zeros((2 * n, 4))
    a[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(n), np.zeros(n)])
    a[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(n), np.ones(n)])
    p, *_ = np.linalg.lstsq(a, dst.reshape(-1), rcond=None)
    return np.array([[p[0], -p[1], p[2]], [p[1], p[0], p[3]], [0.0, 0.0, 1.0]])


def _affine(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    a = np.column_stack([src, np.ones(len(src))])
    p, *_ = np.linalg.lstsq(a, dst, rcond=None)
    m = np.eye(3)
    m[:2] = p.T
    return m


def fit_transform(src: Points, dst: Points, model: str) -> npt.NDArray[np.float64]:
    """Least-squares 3x3 transform of ``model`` mapping ``src`` (N x 2) onto ``dst`` (N x 2)."""
    if model not in MODELS:
        raise AlignmentError(f"unknown transform model {model!r}; valid models: {', '.join(MODELS)}")
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    need = MIN_POINTS[model]
    if len(src) < need:
        raise AlignmentError(f"a {model} needs at least {need} point correspondences, got {len(src)}")
    if model == "similarity":
        return _similarity(src, dst)
    if model == "affine":
        return _affine(src, dst)
    # Normalise, DLT, then Levenberg-Marquardt refinement (OpenCV method 0 = all points).
    h, _ = cv2.findHomography(src, dst, 0)
    if h is None:
        raise AlignmentError("the points do not determine a homography (are they collinear?)")
    return np.asarray(h, dtype=np.float64)


def transfer_error(m: npt.NDArray[np.float64], src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """Distance (px) between ``m`` applied to each ``src`` point and its ``dst`` point."""
    p = np.column_stack([src, np.ones(len(src))]) @ m.T
    return np.asarray(np.linalg.norm(p[:, :2] / p[:, 2:3] - dst, axis=1))


def alignment_from_points(
    rgb_points: Points,
    thermal_points: Points,
    rgb_size: Size,
    thermal_size: Size,
    *,
    model: str = "homography",
    outlier_px: float = 3.0,
) -> Alignment:
    """Fit an alignment to hand-picked correspondences, dropping gross outliers (mistyped points).

    With enough points (twice the minimum plus two), a RANSAC pass finds the
    consensus and the final fit uses its inliers only; quality figures report the
    RMS and maximum residual of the inliers and how many points were dropped.
    """
    need = MIN_POINTS.get(model)
    if need is None:
        raise AlignmentError(f"unknown transform model {model!r}; valid models: {', '.join(MODELS)}")
    if len(rgb_points) != len(thermal_points):
        raise AlignmentError("every RGB point needs exactly one thermal point")
    inliers = np.ones(len(rgb_points), dtype=bool)
    if len(rgb_points) >= 2 * need + 2:
        _, mask = cv2.findHomography(rgb_points, thermal_points, cv2.RANSAC, outlier_px)
        if mask is not None and int(mask.sum()) >= need:
            inliers = mask.ravel().astype(bool)
    m = fit_transform(rgb_points[inliers], thermal_points[inliers], model)
    err = transfer_error(m, rgb_points[inliers], thermal_points[inliers])
    quality = {
        "points": float(len(rgb_points)),
        "inliers": float(inliers.sum()),
        "rms_px": float(np.sqrt(np.mean(err**2))),
        "max_px": float(err.max()),
    }
    return Alignment.from_matrix(m, rgb_size, thermal_size, f"points ({model})", quality)
