"""Estimate one RGB -> thermal transform for a fixed rig from many frame pairs, automatically.

RGB and thermal images share little intensity (a red car and a grey one can be
equally cold; a lamp is bright and cold; a warm wall has no RGB edge), but they
share the *direction* of many edges: outlines, kerbs, poles, the horizon. The
estimator works on that, and on many frames at once:

1. **Features**: each image is contrast-normalised locally, then turned into a
   gradient-orientation field in the double-angle form ``(cos 2a, sin 2a)``,
   weighted by the square root of the gradient magnitude. The double angle
   makes an edge count the same whichever side is brighter (thermal polarity is
   unrelated to RGB); orientation rather than magnitude survives the modality
   gap better (on real FLIR frames re-shot through known rigs, the correct
   offset was the best match in 33 of 40 frames, against 25 with magnitudes).
2. **Coarse search** (scale, small rotation, offset): the RGB image is resized
   and rotated, and the central part of the thermal view is located in it by
   normalised cross-correlation; scores are summed over the frames with the
   most structure, so one frame cannot mislead the search. Windows that leave
   the RGB image score nothing (zero padding used to win on flat borders).
3. **Joint refinement**: the RGB frames are warped into the thermal view by the
   current transform; for a grid of thermal patches, correlation surfaces over
   a small shift window are *summed over all frames* (the rig is fixed, so every
   frame votes for the same shift) and the sub-pixel peak gives one
   correspondence per patch. One transform is fitted to them (weighted,
   robust), coarse to fine. Frames with little structure add noise, not a
   wrong answer.
4. **Agreement and model choice**: each frame's own patch peaks say where its
   regions sit relative to the joint transform; frames within :data:`AGREE_PX`
   agree, frames beyond :data:`OUTLIER_PX` are left out of the final fit.
   Perspective is fitted only when the frames agree on it (``homography`` is
   the most the data may use, not a promise).
   :func:`weak_evidence` turns the figures into warnings a user can act on.

The rig is assumed fixed with roughly parallel cameras: rotation within
:data:`ROTATION_RANGE_DEG`, small perspective, scale between 0.6x and 1.7x of the
image-size ratio, and the RGB view covering the central part of the thermal one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.points import MIN_POINTS, MODELS
from thermal_synth_core.align.transform import Alignment, scale_matrix
from thermal_synth_core.errors import AlignmentError
from thermal_synth_core.ui import progress

__all__ = [
    "EstimateResult",
    "FrameFit",
    "FramePair",
    "edge_features",
    "estimate_alignment",
    "orientation_features",
    "weak_evidence",
]

log = logging.getLogger(__name__)

Size = tuple[int, int]
Matrix = npt.NDArray[np.float64]
Image = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]

#: Frames used for the coarse scale/rotation/offset search (scores are summed over them).
COARSE_FRAMES = 12
#: Thermal width of the coarse search and of the refinement levels (capped at the thermal width).
COARSE_WIDTH = 160
REFINE_WIDTHS = (160, 320, 640)
#: Frames whose transforms differ by less than this (mean over the thermal view, thermal px) agree.
AGREE_PX = 1.0
#: Frames further than this from the joint transform (thermal px) are left out of the final fit.
OUTLIER_PX = 3.0
#: Scale search range relative to the image-size ratio.
SCALE_RANGE = (0.6, 1.7)
#: Largest rig rotation searched (degrees).
ROTATION_RANGE_DEG = 3.0
#: Shift window of the patch search (pixels of the level), patch grid, and the evidence a frame needs.
SEARCH_RADIUS = 4
PATCH_GRID = (8, 6)
MIN_PATCHES = 6
#: A frame's patch counts as evidence when its correlation peak reaches this.
PEAK_MIN = 0.3
#: Warnings: fewer agreeing frames than this fraction (or than MIN_AGREE), a coarse peak this close to the
#: runner-up, or perspective larger than this (thermal px) that the frames do not agree on.
WEAK_AGREE_FRACTION = 0.5
MIN_AGREE = 3
FLAT_PEAK_RATIO = 1.1
PERSPECTIVE_NOISE_PX = 0.5


@dataclass(frozen=True)
class FramePair:
    """One RGB/thermal pair prepared for estimation: grayscale float images in [0, 1]."""

    key: str
    rgb: Image  # H x W float32, grayscale of the RGB frame
    thermal: Image  # H x W float32, AGC-normalised thermal

    @property
    def rgb_size(self) -> Size:
        """(width, height) of the RGB image."""
        return (self.rgb.shape[1], self.rgb.shape[0])

    @property
    def thermal_size(self) -> Size:
        """(width, height) of the thermal image."""
        return (self.thermal.shape[1], self.thermal.shape[0])


@dataclass(frozen=True)
class FrameFit:
    """How one frame fared: its own transform, its mean patch correlation, its residual to the result."""

    key: str
    matrix: Matrix | None
    correlation: float = float("nan")
    residual_px: float = float("nan")
    inlier: bool = False
    error: str | None = None


@dataclass(frozen=True)
class EstimateResult:
    """The combined alignment, the per-frame detail behind it, and warnings about weak evidence."""

    alignment: Alignment
    frames: list[FrameFit] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- features ---------------------------------------------------------------------------------


def _local_norm(x: Image, sigma: float) -> Image:
    """Subtract a blurred mean, divide by a blurred standard deviation with a floor (no noise boosting)."""
    mu = cv2.GaussianBlur(x, (0, 0), sigma)
    d = x - mu
    var = cv2.GaussianBlur(d * d, (0, 0), sigma)
    floor = max(float(np.std(x)) * 0.25, 1e-3)
    return np.asarray(d / np.sqrt(var + floor * floor), dtype=np.float32)


def _default_sigma(shape: tuple[int, ...]) -> float:
    return max(min(shape[0], shape[1]) / 24.0, 2.0)


def edge_features(image: npt.NDArray[np.floating], smooth: float = 1.0) -> Image:
    """Gradient magnitude of a locally contrast-normalised image, scaled to about [0, 1].

    Local normalisation (subtract a blurred mean, divide by a blurred standard
    deviation with a floor) equalises dark and bright regions and both cameras'
    gains; the floor keeps flat, noisy areas from being amplified into edges.
    """
    x = np.asarray(image, dtype=np.float32)
    n = _local_norm(x, _default_sigma(x.shape))
    if smooth > 0:
        n = np.asarray(cv2.GaussianBlur(n, (0, 0), smooth), dtype=np.float32)
    gx = cv2.Sobel(n, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(n, cv2.CV_32F, 0, 1, ksize=3)
    g = cv2.magnitude(gx, gy)
    top = float(np.percentile(g, 99.5))
    if top <= 0:
        return np.zeros_like(g)
    return np.asarray(np.minimum(g / top, 1.0), dtype=np.float32)


def orientation_features(
    image: npt.NDArray[np.floating], sigma: float | None = None, smooth: float = 1.0, top: float | None = None
) -> Image:
    """Double-angle gradient orientation ``(cos 2a, sin 2a)`` weighted by sqrt(magnitude): H x W x 2.

    ``sigma`` (local-normalisation scale) and ``top`` (magnitude treated as
    full strength) default to values taken from this image; pass the thermal
    view's when computing features of a larger canvas so both match.
    """
    x = np.asarray(image, dtype=np.float32)
    n = _local_norm(x, sigma if sigma is not None else _default_sigma(x.shape))
    if smooth > 0:
        n = np.asarray(cv2.GaussianBlur(n, (0, 0), smooth), dtype=np.float32)
    gx = cv2.Sobel(n, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(n, cv2.CV_32F, 0, 1, ksize=3)
    mag2 = gx * gx + gy * gy + 1e-12
    full = top if top is not None else float(np.percentile(np.sqrt(mag2), 99.5))
    weight = np.sqrt(np.minimum(np.sqrt(mag2) / max(full, 1e-6), 1.0)) / mag2
    return np.ascontiguousarray(np.stack([(gx * gx - gy * gy) * weight, 2.0 * gx * gy * weight], axis=2))


def _resize(img: Image, size: Size) -> Image:
    interp = cv2.INTER_AREA if size[0] < img.shape[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(img, size, interpolation=interp), dtype=np.float32)


def _translate(x: float, y: float) -> Matrix:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def _rotation(deg: float, centre: tuple[float, float]) -> Matrix:
    a = math.radians(deg)
    r = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return np.asarray(_translate(*centre) @ r @ _translate(-centre[0], -centre[1]), dtype=np.float64)


def _warp(img: Image, m: Matrix, size: Size, border: int) -> Image:
    if abs(m[2, 0]) < 1e-12 and abs(m[2, 1]) < 1e-12:
        out = cv2.warpAffine(img, (m[:2] / m[2, 2]).astype(np.float64), size, flags=cv2.INTER_LINEAR, borderMode=border)
    else:
        out = cv2.warpPerspective(img, m, size, flags=cv2.INTER_LINEAR, borderMode=border)
    return np.asarray(out, dtype=np.float32)


def _warped_features(rgb: Image, m: Matrix, size: Size, sigma: float, top: float | None) -> tuple[Image, Image]:
    """RGB seen through ``m`` (RGB px -> output px) in an output of ``size``: (features, coverage mask).

    The RGB image is shrunk first (area averaging) when ``m`` shrinks it, so the
    warp does not alias; features outside the image (and at its border) are 0.
    """
    k = math.sqrt(abs(float(np.linalg.det(m[:2, :2] / m[2, 2]))))
    rh, rw = rgb.shape
    if k < 0.9:
        small = (max(round(rw * k), 8), max(round(rh * k), 8))
        m = m @ np.linalg.inv(scale_matrix((rw, rh), small))
        rgb = _resize(rgb, small)
    img = _warp(rgb, m, size, cv2.BORDER_REPLICATE)
    mask = _warp(np.ones_like(rgb), m, size, cv2.BORDER_CONSTANT)
    mask = np.asarray(cv2.erode((mask > 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)), dtype=np.float32)
    return orientation_features(img, sigma, top=top) * mask[:, :, None], mask


# -- coarse search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Coarse:
    matrix: Matrix
    scale: float
    rotation_deg: float
    score: float
    peak_ratio: float


def _search_scores(
    pairs: Sequence[FramePair],
    templates: Sequence[Image],
    work: Sequence[Image],
    *,
    k: float,
    rot: float,
    tmpl_size: Size,
    sigma: float,
) -> tuple[npt.NDArray[np.float32], Matrix]:
    """Summed NCC over frames of the template in the RGB resized by ``k`` and rotated by ``rot`` degrees.

    Returns the score map and the matrix from full RGB px to the (padded) canvas px.
    """
    rw, rh = pairs[0].rgb_size
    ww = work[0].shape[1]
    r_size = (max(round(rw * k), 8), max(round(rh * k), 8))
    mw, mh = tmpl_size
    canvas = (r_size[0] + 2 * mw, r_size[1] + 2 * mh)
    # full RGB -> canvas: scale to r_size, rotate about the RGB centre, pad by the template size
    centre = ((r_size[0] - 1) / 2.0, (r_size[1] - 1) / 2.0)
    to_canvas = _translate(mw, mh) @ _rotation(rot, centre) @ scale_matrix((rw, rh), r_size)
    from_work = to_canvas @ np.linalg.inv(scale_matrix((rw, rh), (ww, work[0].shape[0])))
    ones = np.ones((mh, mw), np.float32)
    total: npt.NDArray[np.float32] | None = None
    for img, tmpl in zip(work, templates, strict=True):
        feat, mask = _warped_features(img, from_work, canvas, sigma, None)
        score = np.asarray(cv2.matchTemplate(feat, tmpl, cv2.TM_CCOEFF_NORMED), dtype=np.float32)
        # Windows that leave the RGB image score nothing: flat padding otherwise scores spuriously high.
        cover = cv2.matchTemplate(mask, ones, cv2.TM_CCORR) / float(mw * mh)
        score[cover < 0.97] = 0.0
        np.nan_to_num(score, copy=False)
        total = score if total is None else total + score
    assert total is not None
    return np.asarray(total / len(work), dtype=np.float32), to_canvas


def coarse_search(pairs: Sequence[FramePair]) -> _Coarse:
    """Scale, rotation and offset by normalised cross-correlation summed over ``pairs``.

    First scale alone (48 log-spaced scales), then scale and rotation together
    around the best scale.
    """
    tw, th = pairs[0].thermal_size
    rw, rh = pairs[0].rgb_size
    width = min(COARSE_WIDTH, tw)
    c = width / tw
    t_size = (width, max(round(th * c), 8))
    sigma = _default_sigma((t_size[1], t_size[0]))
    # Template: the central 60% of the thermal view, which a rig's RGB camera normally sees.
    mw, mh = round(t_size[0] * 0.6), round(t_size[1] * 0.6)
    tx0, ty0 = (t_size[0] - mw) // 2, (t_size[1] - mh) // 2
    templates = [orientation_features(_resize(p.thermal, t_size))[ty0 : ty0 + mh, tx0 : tx0 + mw] for p in pairs]
    k0 = c * tw / rw
    scales = k0 * np.exp(np.linspace(math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1]), 48))
    work_w = min(rw, round(2 * rw * float(np.max(scales))))
    work = [_resize(p.rgb, (work_w, max(round(rh * work_w / rw), 8))) for p in pairs]

    def best_of(candidates: list[tuple[float, float]]) -> tuple[float, float, float, Matrix, float]:
        best: tuple[float, float, float, Matrix, float] = (-math.inf, 0.0, 0.0, np.eye(3), 1.0)
        for k, rot in candidates:
            total, to_canvas = _search_scores(pairs, templates, work, k=k, rot=rot, tmpl_size=(mw, mh), sigma=sigma)
            _, peak, _, loc = cv2.minMaxLoc(total)
            if peak > best[0]:
                # Template top-left at loc in the canvas: thermal (level) = canvas - loc + (tx0, ty0).
                m = np.linalg.inv(scale_matrix((tw, th), t_size)) @ _translate(tx0 - loc[0], ty0 - loc[1]) @ to_canvas
                # Flatness: the best score outside a few pixels of the peak, in the same map.
                masked = total.copy()
                cv2.circle(masked, loc, 4, -1.0, -1)
                second = float(masked.max())
                best = (float(peak), k, rot, m, float(peak) / max(second, 1e-6))
        return best

    _, k, _, _, _ = best_of([(float(k), 0.0) for k in scales])
    step = ROTATION_RANGE_DEG / 4
    rotations = np.arange(-ROTATION_RANGE_DEG, ROTATION_RANGE_DEG + 1e-9, step)
    score, k, rot, m, ratio = best_of(
        [(float(k * f), float(r)) for f in np.exp(np.linspace(-0.022, 0.022, 5)) for r in rotations]
    )
    return _Coarse(m / m[2, 2], k / c, rot, score, ratio)


# -- joint refinement -------------------------------------------------------------------------


@dataclass
class _Level:
    """One refinement level: thermal size and patch layout, and each frame's thermal features (fixed)."""

    size: Size
    to_level: Matrix  # full thermal px -> level px
    sigma: float
    patch: int
    corners: list[tuple[int, int]]  # patch top-left corners (level px)
    thermal: list[Image]
    usable: list[npt.NDArray[np.bool_]]  # per frame: patches whose thermal template has structure


def _make_level(pairs: Sequence[FramePair], width: int) -> _Level:
    tw, th = pairs[0].thermal_size
    size = (width, max(round(th * width / tw), 8))
    sigma = _default_sigma((size[1], size[0]))
    patch = max(16, min(size) // 4)
    xs = np.linspace(0, size[0] - patch, PATCH_GRID[0]).round().astype(int)
    ys = np.linspace(0, size[1] - patch, PATCH_GRID[1]).round().astype(int)
    corners = [(int(x), int(y)) for y in ys for x in xs]
    thermal, usable = [], []
    for p in pairs:
        f = orientation_features(_resize(p.thermal, size), sigma)
        thermal.append(f)
        energy = np.array([float(np.abs(f[y : y + patch, x : x + patch]).mean()) for x, y in corners])
        usable.append(energy > 0.02)
    return _Level(size, scale_matrix((tw, th), size), sigma, patch, corners, thermal, usable)


def _surfaces(pair: FramePair, feat_t: Image, usable: npt.NDArray[np.bool_], level: _Level, m: Matrix) -> Image:
    """One frame's NCC surfaces (patches x (2r+1) x (2r+1)) for shifts of the RGB warped by ``m``; NaN = none."""
    r = SEARCH_RADIUS
    pad = r + 2
    to_canvas = _translate(pad, pad) @ level.to_level @ m
    size = (level.size[0] + 2 * pad, level.size[1] + 2 * pad)
    feat_r, mask = _warped_features(pair.rgb, to_canvas, size, level.sigma, None)
    p = level.patch
    out = np.full((len(level.corners), 2 * r + 1, 2 * r + 1), np.nan, np.float32)
    for i, (x, y) in enumerate(level.corners):
        if not usable[i]:
            continue
        region = feat_r[y + pad - r : y + pad + p + r, x + pad - r : x + pad + p + r]
        if float(mask[y + pad - r : y + pad + p + r, x + pad - r : x + pad + p + r].mean()) < 0.9:
            continue
        out[i] = cv2.matchTemplate(region, feat_t[y : y + p, x : x + p], cv2.TM_CCOEFF_NORMED)
    out[~np.isfinite(out)] = np.nan
    return out


def _peak(surface: Image) -> tuple[float, float, float] | None:
    """Sub-pixel peak (dx, dy, value) of one surface, or None when the peak is on its border."""
    if not np.isfinite(surface).all():
        return None
    n = surface.shape[0]
    iy, ix = np.unravel_index(int(np.argmax(surface)), surface.shape)
    if ix in (0, n - 1) or iy in (0, n - 1):
        return None
    v = float(surface[iy, ix])

    def vertex(a: float, b: float, c: float) -> float:
        den = a - 2 * b + c
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    dx = vertex(float(surface[iy, ix - 1]), v, float(surface[iy, ix + 1]))
    dy = vertex(float(surface[iy - 1, ix]), v, float(surface[iy + 1, ix]))
    r = (n - 1) // 2
    return ix - r + dx, iy - r + dy, v


def _correspondences(
    surfaces: Image, level: _Level, m: Matrix, min_peak: float
) -> tuple[Points, Points, npt.NDArray[np.float64]]:
    """(RGB points, thermal points in full px, weights) from the patch peaks of (summed) surfaces."""
    p = level.patch
    inv = np.asarray(np.linalg.inv(level.to_level @ m), dtype=np.float64)
    from_level = np.asarray(np.linalg.inv(level.to_level), dtype=np.float64)
    src, dst, w = [], [], []
    for (x, y), surface in zip(level.corners, surfaces, strict=True):
        pk = _peak(surface)
        if pk is None or pk[2] < min_peak:
            continue
        cx, cy = x + (p - 1) / 2.0, y + (p - 1) / 2.0
        src.append(_apply(inv, np.array([[cx + pk[0], cy + pk[1]]]))[0])
        dst.append(_apply(from_level, np.array([[cx, cy]]))[0])
        w.append(max(pk[2] - float(np.median(surface)), 1e-3))
    return np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2), np.asarray(w)


def _apply(m: Matrix, pts: Points) -> Points:
    p = np.column_stack([pts, np.ones(len(pts))]) @ m.T
    return np.asarray(p[:, :2] / p[:, 2:3])


def _normaliser(pts: Points) -> Matrix:
    c = pts.mean(axis=0)
    s = math.sqrt(2.0) / max(float(np.sqrt(((pts - c) ** 2).sum(axis=1)).mean()), 1e-9)
    return np.array([[s, 0.0, -s * c[0]], [0.0, s, -s * c[1]], [0.0, 0.0, 1.0]])


def _fit_weighted(src: Points, dst: Points, w: npt.NDArray[np.float64], model: str) -> Matrix:
    """Weighted least-squares ``model`` mapping ``src`` onto ``dst`` (homography: linearised DLT)."""
    ns, nd = _normaliser(src), _normaliser(dst)
    a, b = _apply(ns, src), _apply(nd, dst)
    n = len(a)
    x, y, u, v = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
    one, zero = np.ones(n), np.zeros(n)
    if model == "similarity":
        rows = np.concatenate([np.column_stack([x, -y, one, zero]), np.column_stack([y, x, zero, one])])
    elif model == "affine":
        rows = np.concatenate(
            [np.column_stack([x, y, one, zero, zero, zero]), np.column_stack([zero, zero, zero, x, y, one])]
        )
    else:
        rows = np.concatenate(
            [
                np.column_stack([x, y, one, zero, zero, zero, -u * x, -u * y]),
                np.column_stack([zero, zero, zero, x, y, one, -v * x, -v * y]),
            ]
        )
    rhs = np.concatenate([u, v])
    sw = np.sqrt(np.concatenate([w, w]))
    p, *_ = np.linalg.lstsq(rows * sw[:, None], rhs * sw, rcond=None)
    if model == "similarity":
        h = np.array([[p[0], -p[1], p[2]], [p[1], p[0], p[3]], [0.0, 0.0, 1.0]])
    elif model == "affine":
        h = np.array([[p[0], p[1], p[2]], [p[3], p[4], p[5]], [0.0, 0.0, 1.0]])
    else:
        h = np.array([[p[0], p[1], p[2]], [p[3], p[4], p[5]], [p[6], p[7], 1.0]])
    out = np.linalg.inv(nd) @ h @ ns
    return np.asarray(out / out[2, 2], dtype=np.float64)


def _fit_robust(src: Points, dst: Points, w: npt.NDArray[np.float64], model: str) -> tuple[Matrix, Points]:
    """IRLS (Cauchy weights) fit; returns (matrix, per-point residuals in px)."""
    m = _fit_weighted(src, dst, w, model)
    for _ in range(3):
        res = np.linalg.norm(_apply(m, src) - dst, axis=1)
        scale = max(1.4826 * float(np.median(res)), 0.05)
        m = _fit_weighted(src, dst, w / (1.0 + (res / (2.5 * scale)) ** 2), model)
    return m, np.linalg.norm(_apply(m, src) - dst, axis=1)


def _view_grid(size: Size, n: tuple[int, int] = (7, 6)) -> Points:
    w, h = size
    gx, gy = np.meshgrid(
        np.linspace(0.05 * (w - 1), 0.95 * (w - 1), n[0]), np.linspace(0.05 * (h - 1), 0.95 * (h - 1), n[1])
    )
    return np.column_stack([gx.ravel(), gy.ravel()])


def _distance(a: Matrix, b: Matrix, grid_t: Points) -> float:
    """Mean distance (thermal px) over the thermal view between two RGB -> thermal transforms."""
    return float(np.linalg.norm(_apply(a @ np.linalg.inv(b), grid_t) - grid_t, axis=1).mean())


def _joint_step(
    pairs: Sequence[FramePair], level: _Level, m: Matrix, model: str, frames: Sequence[int]
) -> tuple[Matrix, list[Image]]:
    """One joint update: surfaces of every frame, summed; one fit. Returns (matrix, per-frame surfaces)."""
    per_frame = [_surfaces(pairs[i], level.thermal[i], level.usable[i], level, m) for i in range(len(pairs))]
    return _fit_summed(per_frame, level, m, model, frames), per_frame


def _fit_summed(per_frame: Sequence[Image], level: _Level, m: Matrix, model: str, frames: Sequence[int]) -> Matrix:
    stack = np.stack([per_frame[i] for i in frames])  # F x P x S x S
    counts = np.isfinite(stack).all(axis=(2, 3)).sum(axis=0)
    summed = np.nansum(stack, axis=0) / np.maximum(counts, 1)[:, None, None]
    summed[counts < max(1, len(frames) // 4)] = np.nan
    src, dst, w = _correspondences(summed, level, m, 0.0)
    if len(src) < max(MIN_POINTS[model] + 2, 6):
        raise AlignmentError(
            f"only {len(src)} image regions show structure both cameras see; the frames look too flat or too "
            "different to align automatically: pick a few correspondences by hand and pass them with --points"
        )
    new, _ = _fit_robust(src, dst, w, model)
    return new


def _frame_fit(pair: FramePair, surfaces: Image, level: _Level, m: Matrix) -> FrameFit:
    """Where one frame's own matched regions sit relative to the joint transform ``m``.

    The frame's residual is the (coordinate-wise median) offset between where its
    regions matched and where ``m`` puts them, in thermal px; its own transform is
    ``m`` corrected by that offset. A frame has a dozen or so usable regions at
    best, too few to pin its own scale or shear below a pixel at the view's edges
    (a per-frame affine fit spreads ~1 px from noise alone on real frames), so
    only the offset, which all its regions measure, is judged per frame.
    """
    src, dst, _ = _correspondences(surfaces, level, m, PEAK_MIN)
    peaks = surfaces[np.isfinite(surfaces).all(axis=(1, 2))]
    corr = float(peaks.max(axis=(1, 2)).mean()) if len(peaks) else float("nan")
    if len(src) < MIN_PATCHES:
        return FrameFit(
            pair.key, None, corr, error=f"too little structure both cameras see ({len(src)} of {len(surfaces)} regions)"
        )
    offset = np.median(dst - _apply(m, src), axis=0)
    return FrameFit(pair.key, _translate(*offset) @ m, corr, float(np.linalg.norm(offset)))


def _perspective(
    pairs_surfaces: Sequence[Image], level: _Level, m: Matrix, frames: Sequence[int], grid_t: Points
) -> tuple[float, bool]:
    """Size (px) of the perspective part the frames agree on, and whether it is significant.

    Each agreeing frame's homography minus its affine fit (both to its own patch
    peaks) is that frame's perspective displacement over the thermal view. If the
    mean over frames is within five standard errors of zero everywhere, or the
    median under half a pixel, it is noise (or too small to matter), and fitting
    it would only bend the transform (most visibly outside the thermal view).
    """
    per_frame = []
    for i in frames:
        src, dst, w = _correspondences(pairs_surfaces[i], level, m, PEAK_MIN)
        if len(src) < MIN_PATCHES + 2:
            continue
        h, _ = _fit_robust(src, dst, w, "homography")
        a, _ = _fit_robust(src, dst, w, "affine")
        per_frame.append(_apply(h @ np.linalg.inv(a), grid_t) - grid_t)
    if not per_frame:
        return 0.0, False
    stack = np.stack(per_frame)
    typical = np.linalg.norm(np.median(stack, axis=0), axis=1)  # robust: a few wild frames do not make it
    size = float(typical.max())
    if len(stack) < 3:
        return size, False
    mean = stack.mean(axis=0)
    se = stack.std(axis=0, ddof=1) / math.sqrt(len(stack))
    t = np.linalg.norm(mean, axis=1) / (np.linalg.norm(se, axis=1) + 1e-9)
    # t > 5, not 3: 42 grid points are tested at once, and real frames' perspective fits are heavy-tailed
    # (re-shot real frames with none reached t = 3.0 and ~0.6 px; 4e-5 of real perspective reaches t > 200).
    big = typical > PERSPECTIVE_NOISE_PX
    return size, bool(size > PERSPECTIVE_NOISE_PX and np.any((t > 5.0) & big))


def _check_pairs(pairs: Sequence[FramePair], model: str) -> tuple[Size, Size]:
    """The pairs' common RGB and thermal size; an AlignmentError for an unknown model or mixed sizes."""
    if model not in MODELS:
        raise AlignmentError(f"unknown transform model {model!r}; valid models: {', '.join(MODELS)}")
    if not pairs:
        raise AlignmentError("no frame pairs to estimate an alignment from")
    rgb_size, thermal_size = pairs[0].rgb_size, pairs[0].thermal_size
    if any(p.rgb_size != rgb_size or p.thermal_size != thermal_size for p in pairs):
        raise AlignmentError("all frame pairs passed to one estimate must share the RGB size and the thermal size")
    return rgb_size, thermal_size


def _coarse(pairs: Sequence[FramePair]) -> _Coarse:
    """The coarse search over the frames with the most structure."""
    ranked = sorted(pairs, key=lambda p: -float(np.mean(edge_features(_resize(p.thermal, (160, 128))))))
    coarse = coarse_search(ranked[:COARSE_FRAMES])
    log.info(
        "coarse search: %.3f RGB px per thermal px, %.2f deg, score %.3f (peak ratio %.2f)",
        1.0 / coarse.scale,
        coarse.rotation_deg,
        coarse.score,
        coarse.peak_ratio,
    )
    return coarse


def _refine(
    pairs: Sequence[FramePair], m: Matrix, base: str, thermal_size: Size, grid_t: Points
) -> tuple[Matrix, _Level]:
    """Joint refinement of ``m`` over all frames, coarse to fine; the result and the finest level."""
    widths = sorted({min(w, thermal_size[0]) for w in REFINE_WIDTHS})
    everyone = list(range(len(pairs)))
    level = _make_level(pairs, widths[0])
    for li, width in enumerate(progress(widths, total=len(widths), desc="align: refine", unit="level")):
        level = level if li == 0 else _make_level(pairs, width)
        for _ in range(3 if li == 0 else 2):
            new, _surfaces = _joint_step(pairs, level, m, base, everyone)
            moved = _distance(new, m, grid_t)
            m = new
            if moved < 0.05 * thermal_size[0] / width:
                break
    return m, level


def _fit_without_outliers(
    pairs: Sequence[FramePair], level: _Level, m: Matrix, base: str
) -> tuple[Matrix, list[Image], list[FrameFit], list[int]]:
    """Per-frame agreement around the joint result, and the final fit over the frames not grossly off.

    Returns the matrix, the correlation surfaces, the per-frame fits and the frames used.
    """
    everyone = list(range(len(pairs)))
    _, surfaces = _joint_step(pairs, level, m, base, everyone)
    fits = [_frame_fit(p, s, level, m) for p, s in zip(pairs, surfaces, strict=True)]
    # The final fit sums only frames that are not grossly off: frames with real per-pair jitter (a rig that
    # is not perfectly rigid, unsynchronised cameras) still average out, a wrong frame does not pull.
    chosen = everyone
    for _ in range(2):
        keep = [i for i, f in enumerate(fits) if f.matrix is not None and f.residual_px <= OUTLIER_PX]
        if len(keep) < MIN_AGREE:
            break
        chosen = keep
        m = _fit_summed(surfaces, level, m, base, chosen)
        _, surfaces = _joint_step(pairs, level, m, base, chosen)
        fits = [_frame_fit(p, s, level, m) for p, s in zip(pairs, surfaces, strict=True)]
    return m, surfaces, fits, chosen


def _quality(
    fits: list[FrameFit], agreeing: list[int], coarse: _Coarse, m: Matrix, perspective: tuple[float, bool]
) -> dict[str, float]:
    """The figures recorded in the alignment's ``quality`` (see :func:`weak_evidence`)."""
    res = np.array([f.residual_px for i, f in enumerate(fits) if i in agreeing]) if agreeing else np.array([np.nan])
    corrs = [f.correlation for f in fits if np.isfinite(f.correlation)]
    size, significant = perspective
    return {
        "frames": float(len(fits)),  # one fit per pair
        "frames_converged": float(sum(1 for f in fits if f.matrix is not None)),
        "frames_inliers": float(len(agreeing)),
        "residual_median_px": float(np.median(res)),
        "residual_max_px": float(np.max(res)),
        "residual_spread_px": float(np.std(res)),
        "correlation_median": float(np.median(corrs)) if corrs else float("nan"),
        "coarse_score": float(coarse.score),
        "coarse_peak_ratio": float(coarse.peak_ratio),
        "rotation_deg": float(math.degrees(math.atan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1]))),
        "perspective_px": size,
        "perspective_significant": float(significant),
        "rgb_px_per_thermal_px": float(1.0 / math.sqrt(abs(np.linalg.det(m[:2, :2])))),
    }


def estimate_alignment(
    pairs: Sequence[FramePair],
    model: str = "homography",
    on_frame: Callable[[FrameFit], None] | None = None,
) -> EstimateResult:
    """Estimate the rig's RGB -> thermal alignment from frame pairs of one RGB and one thermal size.

    ``model`` is the most general transform the result may use: a homography's
    perspective terms are kept only if the frames agree on them, otherwise the
    affine result stands (see :func:`_perspective`).
    """
    rgb_size, thermal_size = _check_pairs(pairs, model)
    coarse = _coarse(pairs)
    base = "similarity" if model == "similarity" else "affine"
    grid_t = _view_grid(thermal_size)
    m, level = _refine(pairs, coarse.matrix, base, thermal_size, grid_t)
    m, surfaces, fits, chosen = _fit_without_outliers(pairs, level, m, base)
    agreeing = [i for i, f in enumerate(fits) if f.matrix is not None and f.residual_px <= AGREE_PX]
    size, significant = _perspective(surfaces, level, m, chosen, grid_t)
    method = f"auto ({model}, joint patch correlation of gradient orientation)"
    if model == "homography":
        if significant:
            for _ in range(2):
                m, surfaces = _joint_step(pairs, level, m, "homography", chosen)
        else:
            method = "auto (homography requested; perspective not significant, affine kept; gradient orientation)"
    fits = [FrameFit(f.key, f.matrix, f.correlation, f.residual_px, i in agreeing, f.error) for i, f in enumerate(fits)]
    for f in fits:
        if on_frame is not None:
            on_frame(f)
    quality = _quality(fits, agreeing, coarse, m, (size, significant))
    alignment = Alignment.from_matrix(m, rgb_size, thermal_size, method, quality)
    return EstimateResult(alignment, fits, weak_evidence(quality, model))


def weak_evidence(quality: dict[str, float] | Alignment, model: str = "homography") -> list[str]:
    """Warnings, in the user's terms, when an automatic estimate rests on weak evidence."""
    q = quality.quality if isinstance(quality, Alignment) else quality
    out: list[str] = []
    frames, agree = int(q.get("frames", 0)), int(q.get("frames_inliers", 0))
    if agree < MIN_AGREE or agree < WEAK_AGREE_FRACTION * frames:
        out.append(
            f"only {agree} of {frames} frames agree on the transform (within {AGREE_PX:g} px); use more frames or "
            "frames with more structure both cameras see, and inspect it with 'thermal-synth align check'"
        )
    ratio = q.get("coarse_peak_ratio", math.inf)
    if ratio < FLAT_PEAK_RATIO:
        out.append(
            f"the coarse search score is flat (best match only {ratio:.2f}x the runner-up): the scale/offset may be "
            "ambiguous (repetitive or featureless scenes)"
        )
    size = q.get("perspective_px", 0.0)
    significant = q.get("perspective_significant", 0.0) == 1.0
    if significant and model != "homography":
        out.append(
            f"the frames agree on {size:.1f} px of perspective that a {model} cannot represent; try --model homography"
        )
    elif not significant and size > 2 * PERSPECTIVE_NOISE_PX:
        out.append(
            f"the frames' homographies differ by {size:.1f} px of perspective they do not agree on "
            "(dropped); the per-frame fits are noisy"
        )
    return out
