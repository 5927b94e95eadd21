"""Estimate one RGB -> thermal transform for a fixed rig from many frame pairs, automatically.

RGB and thermal images share little intensity (a red car and a grey one can be
equally cold), but they share *structure*: object outlines, building edges, the
horizon. The estimator works on that:

1. **Features**: each image is contrast-normalised locally (so a dark night RGB
   frame and a thermal frame dominated by a cold sky both show their edges),
   then turned into a gradient-magnitude map.
2. **Coarse search** (scale and offset): for log-spaced scales, the RGB feature
   map is resized and the central part of the thermal feature map is located in
   it by normalised cross-correlation. Scores are summed over several frames, so
   one frame with few edges cannot mislead the search. A second, finer pass at
   twice the resolution narrows the scale.
3. **Refinement**: per frame, ECC (:func:`cv2.findTransformECC`) on the feature
   maps, coarse to fine, with the chosen model (homography, affine, or affine
   then projected to a similarity).
4. **Robust combination**: each frame's transform maps a grid of points; frames
   whose points stray from the per-point median by more than a robust threshold
   are rejected; the final transform is a least-squares fit to the inliers'
   points. The per-frame residual spread is reported, so a user sees how well
   the frames agree.

The rig is assumed fixed with roughly parallel cameras: rotation and perspective
are small, scale is searched between 0.6x and 1.7x of the image-size ratio.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.align.points import MODELS, fit_transform
from thermal_synth_core.align.transform import Alignment, scale_matrix
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.ui import progress

__all__ = [
    "EstimateResult",
    "FrameFit",
    "FramePair",
    "edge_features",
    "estimate_alignment",
    "estimate_from_dataset",
    "load_pair",
]

log = logging.getLogger(__name__)

Size = tuple[int, int]
Matrix = npt.NDArray[np.float64]
Image = npt.NDArray[np.float32]

#: Frames used for the coarse scale/offset search (scores are summed over them).
COARSE_FRAMES = 8
#: Thermal width of the coarse and fine search passes.
COARSE_WIDTH = 160
FINE_WIDTH = 320
#: Frames whose transforms differ by less than this (mean over a grid, thermal px) agree.
AGREE_PX = 1.0
#: Scale search range relative to the image-size ratio.
SCALE_RANGE = (0.6, 1.7)


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
    """How one frame fared: its own transform, its ECC correlation, its residual to the result."""

    key: str
    matrix: Matrix | None
    correlation: float = float("nan")
    residual_px: float = float("nan")
    inlier: bool = False
    error: str | None = None


@dataclass(frozen=True)
class EstimateResult:
    """The combined alignment and the per-frame detail behind it."""

    alignment: Alignment
    frames: list[FrameFit] = field(default_factory=list)


def edge_features(image: npt.NDArray[np.floating], smooth: float = 1.0) -> Image:
    """Gradient magnitude of a locally contrast-normalised image, scaled to about [0, 1].

    Local normalisation (subtract a blurred mean, divide by a blurred standard
    deviation with a floor) equalises dark and bright regions and both cameras'
    gains; the floor keeps flat, noisy areas from being amplified into edges.
    """
    x = np.asarray(image, dtype=np.float32)
    h, w = x.shape
    sigma = max(min(h, w) / 24.0, 2.0)
    mu = cv2.GaussianBlur(x, (0, 0), sigma)
    d = x - mu
    var = cv2.GaussianBlur(d * d, (0, 0), sigma)
    floor = max(float(np.std(x)) * 0.25, 1e-3)
    n = d / np.sqrt(var + floor * floor)
    if smooth > 0:
        n = cv2.GaussianBlur(n, (0, 0), smooth)
    gx = cv2.Sobel(n, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(n, cv2.CV_32F, 0, 1, ksize=3)
    g = cv2.magnitude(gx, gy)
    top = float(np.percentile(g, 99.5))
    if top <= 0:
        return np.zeros_like(g)
    return np.asarray(np.minimum(g / top, 1.0), dtype=np.float32)


def _resize(img: Image, size: Size) -> Image:
    interp = cv2.INTER_AREA if size[0] < img.shape[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(img, size, interpolation=interp), dtype=np.float32)


def _search_pass(
    pairs: Sequence[FramePair], width: int, scales: npt.NDArray[np.float64]
) -> tuple[float, Matrix, float]:
    """Best (scale, RGB -> thermal matrix, score) over ``scales`` at thermal width ``width``."""
    tw, th = pairs[0].thermal_size
    rw, rh = pairs[0].rgb_size
    c = width / tw
    t_size = (width, max(round(th * c), 8))
    s_t = scale_matrix((tw, th), t_size)
    # Template: the central 60% of the thermal view, which a rig's RGB camera normally sees.
    mw, mh = round(t_size[0] * 0.6), round(t_size[1] * 0.6)
    tx0, ty0 = (t_size[0] - mw) // 2, (t_size[1] - mh) // 2
    templates = [edge_features(_resize(p.thermal, t_size))[ty0 : ty0 + mh, tx0 : tx0 + mw] for p in pairs]
    # Shrink the RGB frames once to twice the largest size this pass needs; each scale resizes from there.
    work_w = min(rw, round(2 * rw * float(np.max(scales)) * c))
    work = [_resize(p.rgb, (work_w, max(round(rh * work_w / rw), 8))) for p in pairs]
    best = (-math.inf, 0.0, np.eye(3))
    for k in scales:
        r_size = (max(round(rw * k * c), 8), max(round(rh * k * c), 8))
        total: npt.NDArray[np.float32] | None = None
        for rgb, tmpl in zip(work, templates, strict=True):
            feat = edge_features(_resize(rgb, r_size))
            padded = cv2.copyMakeBorder(feat, mh, mh, mw, mw, cv2.BORDER_CONSTANT, value=0.0)
            score = np.asarray(cv2.matchTemplate(padded, tmpl, cv2.TM_CCOEFF_NORMED), dtype=np.float32)
            total = score if total is None else total + score
        assert total is not None
        _, peak, _, loc = cv2.minMaxLoc(total)
        peak /= len(pairs)
        if peak > best[0]:
            # Template top-left sits at loc in the padded RGB map: thermal x = rgb x - (loc - pad) + tx0.
            d = np.array([[1.0, 0.0, tx0 - (loc[0] - mw)], [0.0, 1.0, ty0 - (loc[1] - mh)], [0.0, 0.0, 1.0]])
            m = np.linalg.inv(s_t) @ d @ scale_matrix((rw, rh), r_size)
            best = (float(peak), float(k), m)
    return best[1], best[2], best[0]


def coarse_search(pairs: Sequence[FramePair]) -> tuple[Matrix, float, float]:
    """Scale and offset by normalised cross-correlation, coarse then fine; returns (matrix, scale, score)."""
    tw = pairs[0].thermal_size[0]
    rw = pairs[0].rgb_size[0]
    k0 = tw / rw
    scales = k0 * np.exp(np.linspace(math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1]), 48))
    k, _, _ = _search_pass(pairs, min(COARSE_WIDTH, tw), scales)
    fine = k * np.exp(np.linspace(-0.025, 0.025, 11))
    k, m, score = _search_pass(pairs, min(FINE_WIDTH, tw), fine)
    return m, k, score


def _ecc_motion(model: str) -> int:
    return cv2.MOTION_HOMOGRAPHY if model == "homography" else cv2.MOTION_AFFINE


def refine_frame(pair: FramePair, init: Matrix, model: str, scale: float) -> tuple[Matrix, float]:
    """ECC refinement of one frame's RGB -> thermal matrix; returns (matrix, correlation)."""
    tw, th = pair.thermal_size
    rw, rh = pair.rgb_size
    # Bring the RGB image to about thermal resolution first: ECC then compares like with like.
    r_size = (max(round(rw * scale), 8), max(round(rh * scale), 8))
    s_r = scale_matrix((rw, rh), r_size)
    rgb_small = _resize(pair.rgb, r_size)
    motion = _ecc_motion(model)
    warp = s_r @ np.linalg.inv(init)  # thermal px -> resized RGB px
    warp /= warp[2, 2]
    corr = float("nan")
    for level in (2, 1):  # coarse to fine
        t_size = (tw // level, th // level)
        i_size = (r_size[0] // level, r_size[1] // level)
        up_t = scale_matrix((tw, th), t_size)
        up_i = scale_matrix(r_size, i_size)
        w_level = up_i @ warp @ np.linalg.inv(up_t)
        tmpl = edge_features(_resize(pair.thermal, t_size))
        inp = edge_features(_resize(rgb_small, i_size))
        w0 = (w_level / w_level[2, 2]).astype(np.float32)
        if motion != cv2.MOTION_HOMOGRAPHY:
            w0 = w0[:2].copy()
        # The coarse search leaves ~1 px to fix: few iterations suffice at each level.
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40 if level > 1 else 25, 1e-5)
        corr, w_out = cv2.findTransformECC(tmpl, inp, w0, motion, criteria, None, 3)  # type: ignore[call-overload]
        w_full = np.eye(3)
        w_full[: w_out.shape[0]] = w_out
        warp = np.linalg.inv(up_i) @ w_full @ up_t
        warp /= warp[2, 2]
    m = np.linalg.inv(warp) @ s_r
    return m / m[2, 2], float(corr)


def _grid(size: Size, n: tuple[int, int] = (7, 6)) -> npt.NDArray[np.float64]:
    w, h = size
    xs = np.linspace(0.05 * (w - 1), 0.95 * (w - 1), n[0])
    ys = np.linspace(0.05 * (h - 1), 0.95 * (h - 1), n[1])
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _map(m: Matrix, pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    p = np.column_stack([pts, np.ones(len(pts))]) @ m.T
    return np.asarray(p[:, :2] / p[:, 2:3])


@dataclass(frozen=True)
class _Combined:
    """Per-frame transforms combined into one: the matrix, inliers and residuals."""

    matrix: Matrix
    fits: list[FrameFit]  # every frame, with residual and inlier flag filled in
    mapped: npt.NDArray[np.float64]  # converged frames x grid points x 2
    inlier: npt.NDArray[np.bool_]  # per converged frame
    residuals: npt.NDArray[np.float64]  # per converged frame, to the combined transform


def _refine_all(
    pairs: Sequence[FramePair],
    init: Matrix,
    model: str,
    scale: float,
    *,
    desc: str,
    on_frame: Callable[[FrameFit], None] | None = None,
) -> list[FrameFit]:
    fits: list[FrameFit] = []
    for pair in progress(pairs, total=len(pairs), desc=desc, unit="frame"):
        try:
            m, corr = refine_frame(pair, init, model, scale)
            fit = FrameFit(pair.key, m, corr)
        except cv2.error as exc:
            fit = FrameFit(pair.key, None, error=f"ECC did not converge ({str(exc).strip().splitlines()[-1]})")
        fits.append(fit)
        if on_frame is not None:
            on_frame(fit)
    return fits


def _combine(fits: list[FrameFit], grid_r: npt.NDArray[np.float64], model: str) -> _Combined:
    """Find the largest group of frames that agree, least-squares fit ``model`` to them.

    Frames whose ECC correlation is below half the best frame's are not trusted
    (night frames with little RGB structure). Among the rest, the frame that the
    most others agree with (mean grid distance within :data:`AGREE_PX`) is the
    consensus; inliers are the frames close to the median of its group. A plain
    median over all frames would fail when most frames are poor.
    """
    good = [f for f in fits if f.matrix is not None]
    if not good:
        raise AlignmentError(
            "automatic alignment failed on every frame (ECC did not converge); pick a few correspondences by hand "
            "and pass them with --points"
        )
    mapped = np.stack([_map(np.asarray(f.matrix, dtype=np.float64), grid_r) for f in good])  # F x P x 2
    corr = np.array([f.correlation for f in good])
    trusted = corr >= 0.5 * float(np.nanmax(corr))
    dist = np.linalg.norm(mapped[:, None] - mapped[None, :], axis=3).mean(axis=2)  # F x F
    support = ((dist <= AGREE_PX) & trusted[None, :]).sum(axis=1) + 1e-3 * corr
    support[~trusted] = -1.0
    group = (dist[int(np.argmax(support))] <= AGREE_PX) & trusted
    centre = np.median(mapped[group], axis=0)
    res = np.linalg.norm(mapped - centre, axis=2).mean(axis=1)
    inlier = (res <= AGREE_PX) & trusted
    if int(inlier.sum()) == 0:  # pragma: no cover - the consensus frame is always within its own group
        inlier[np.argmax(support)] = True
    src = np.concatenate([grid_r] * int(inlier.sum()))
    m = fit_transform(src, mapped[inlier].reshape(-1, 2), model)
    res_final = np.linalg.norm(mapped - _map(m, grid_r), axis=2).mean(axis=1)
    by_key = {f.key: (float(r), bool(i)) for f, r, i in zip(good, res_final, inlier, strict=True)}
    frames = [FrameFit(f.key, f.matrix, f.correlation, *by_key[f.key]) if f.key in by_key else f for f in fits]
    return _Combined(m, frames, mapped, inlier, res_final)


def _perspective(combined: _Combined, grid_r: npt.NDArray[np.float64]) -> tuple[float, bool]:
    """Size (px) of the perspective part the frames agree on, and whether it is significant.

    Each inlier frame's homography minus its best affine approximation is that
    frame's perspective displacement at the grid points. If the mean over frames
    is within three standard errors of zero everywhere, the frames do not agree
    on any perspective, or on less than half a pixel of it, it is noise (or too
    small to matter), and fitting it would only bend the transform (most visibly
    outside the thermal view).
    """
    maps = combined.mapped[combined.inlier]
    per_frame = np.stack([m - _map(fit_transform(grid_r, m, "affine"), grid_r) for m in maps])  # K x P x 2
    mean = per_frame.mean(axis=0)
    size = float(np.linalg.norm(mean, axis=1).max())
    if len(maps) < 3:
        return size, False
    se = per_frame.std(axis=0, ddof=1) / math.sqrt(len(maps))
    t = np.linalg.norm(mean, axis=1) / (np.linalg.norm(se, axis=1) + 1e-9)
    # Below half a pixel inside the view, perspective is not worth its two extra parameters.
    return size, bool(size > 0.5 and np.any((t > 3.0) & (np.linalg.norm(mean, axis=1) > 0.5)))


def estimate_alignment(
    pairs: Sequence[FramePair],
    model: str = "homography",
    on_frame: Callable[[FrameFit], None] | None = None,
) -> EstimateResult:
    """Estimate the rig's RGB -> thermal alignment from frame pairs of one RGB and one thermal size.

    ECC first fits an affine transform per frame (robust: six parameters). For
    the homography model a second ECC pass starts from the combined affine
    result; its perspective terms are kept only if the frames agree on them
    (:func:`_perspective`), otherwise the affine result stands.
    """
    if model not in MODELS:
        raise AlignmentError(f"unknown transform model {model!r}; valid models: {', '.join(MODELS)}")
    if not pairs:
        raise AlignmentError("no frame pairs to estimate an alignment from")
    rgb_size, thermal_size = pairs[0].rgb_size, pairs[0].thermal_size
    if any(p.rgb_size != rgb_size or p.thermal_size != thermal_size for p in pairs):
        raise AlignmentError("all frame pairs passed to one estimate must share the RGB size and the thermal size")
    # The coarse search uses the frames with the most structure.
    ranked = sorted(pairs, key=lambda p: -float(np.mean(edge_features(_resize(p.thermal, (160, 128))))))
    init, scale, coarse_score = coarse_search(ranked[:COARSE_FRAMES])
    log.info("coarse search: %.3f RGB px per thermal px, score %.3f", 1.0 / scale, coarse_score)
    grid_r = _map(np.asarray(np.linalg.inv(init), dtype=np.float64), _grid(thermal_size))  # RGB points in view
    affine_fits = _refine_all(pairs, init, "affine", scale, desc="align: refine", on_frame=on_frame)
    result = _combine(affine_fits, grid_r, "similarity" if model == "similarity" else "affine")
    method = f"auto ({model}, ECC on edge maps)"
    extra: dict[str, float] = {}
    if model == "homography":
        keep = {f.key for f in result.fits if f.inlier}
        homography_fits = _refine_all(
            [p for p in pairs if p.key in keep], result.matrix, "homography", scale, desc="align: perspective"
        )
        if any(f.matrix is not None for f in homography_fits):
            candidate = _combine(homography_fits, grid_r, "homography")
            size, significant = _perspective(candidate, grid_r)
            extra = {"perspective_px": size, "perspective_significant": float(significant)}
            if significant:
                rejected = [f for f in result.fits if f.key not in keep]
                result = _Combined(
                    candidate.matrix, candidate.fits + rejected, candidate.mapped, candidate.inlier, candidate.residuals
                )
            else:
                method = "auto (homography requested; perspective not significant, affine kept; ECC on edge maps)"
    m = result.matrix
    inl_res = result.residuals[result.inlier]
    corrs = [f.correlation for f in result.fits if f.matrix is not None]
    quality = {
        "frames": float(len(pairs)),
        "frames_converged": float(sum(1 for f in affine_fits if f.matrix is not None)),
        "frames_inliers": float(result.inlier.sum()),
        "residual_median_px": float(np.median(inl_res)),
        "residual_max_px": float(np.max(inl_res)),
        "residual_spread_px": float(np.std(inl_res)),
        "ecc_correlation_median": float(np.median(corrs)),
        "coarse_score": float(coarse_score),
        "rgb_px_per_thermal_px": float(1.0 / math.sqrt(abs(np.linalg.det(m[:2, :2])))),
        **extra,
    }
    alignment = Alignment.from_matrix(m, rgb_size, thermal_size, method, quality)
    order = {p.key: i for i, p in enumerate(pairs)}
    return EstimateResult(alignment, sorted(result.fits, key=lambda f: order[f.key]))


def load_pair(key: str, rgb_path: Path, thermal_path: Path) -> FramePair:
    """Read one pair for estimation: RGB to gray float, thermal through the shared AGC."""
    from thermal_synth_core.data.imageio import read_rgb, read_thermal

    rgb = read_rgb(rgb_path)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    thermal = agc_normalize(read_thermal(thermal_path))
    return FramePair(key, np.asarray(gray, dtype=np.float32), thermal)


def estimate_from_dataset(
    root: str | Path,
    fmt: str,
    *,
    model: str = "homography",
    max_frames: int = 60,
    seed: int = 0,
    on_frame: Callable[[FrameFit], None] | None = None,
) -> EstimateResult:
    """Sample up to ``max_frames`` pairs of a dataset and estimate its rig's alignment.

    Only pairs at the most common RGB size are used (other camera modes need
    their own alignment); unreadable frames are skipped and counted.
    """
    from thermal_synth_core.data.layouts import scan_dataset

    records = [r for r in scan_dataset(root, fmt) if r.paired]
    if not records:
        raise AlignmentError(f"no frame has both an RGB and a thermal image under {root} (format {fmt})")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(records))
    pairs: list[FramePair] = []
    unreadable = 0
    for idx in progress(order, total=min(len(order), max_frames), desc="align: read", unit="frame"):
        if len(pairs) >= max_frames * 2:  # read a margin: some may be at another RGB size
            break
        rec = records[int(idx)]
        thermal_path = rec.thermal16 or rec.thermal8
        assert rec.rgb is not None and thermal_path is not None
        try:
            pairs.append(load_pair(rec.key, rec.rgb, thermal_path))
        except DataError as exc:
            unreadable += 1
            log.warning("skipping %s: %s", rec.key, exc)
        if len(pairs) >= max_frames and _modal_count(pairs) >= max_frames:
            break
    if not pairs:
        raise AlignmentError(f"none of the sampled frames under {root} could be read")
    sizes = Counter((p.rgb_size, p.thermal_size) for p in pairs)
    (rgb_size, thermal_size), _ = sizes.most_common(1)[0]
    used = [p for p in pairs if p.rgb_size == rgb_size and p.thermal_size == thermal_size][:max_frames]
    result = estimate_alignment(used, model, on_frame)
    q = dict(result.alignment.quality)
    q["frames_unreadable"] = float(unreadable)
    q["frames_other_size"] = float(len(pairs) - sum(1 for p in pairs if p.rgb_size == rgb_size))
    a = result.alignment
    return EstimateResult(Alignment.from_matrix(a.as_array(), a.rgb_size, a.thermal_size, a.method, q), result.frames)


def _modal_count(pairs: Sequence[FramePair]) -> int:
    return Counter((p.rgb_size, p.thermal_size) for p in pairs).most_common(1)[0][1]
