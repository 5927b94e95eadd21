"""Render a :class:`~thermal_synth_core.data.synth.world.Scene` as RGB, thermal and warm-object mask.

All three images come from the same polygons: RGB through a rescale of the
reference RGB frame, thermal and mask through the RGB -> thermal matrix; so do
the object boxes (:func:`object_boxes`: each person's and car's visible extent
in the thermal frame, for the COCO annotations of the folder layouts). The
thermal path is physical enough to exercise the product's handling of real
cameras: supersampled temperatures, optical blur, a 14-bit-in-16 raw signal
with per-frame offset drift, fixed-pattern column noise, vignetting and temporal
noise, then a camera AGC (different percentiles every frame) for the 8-bit image.

Everything is vectorised OpenCV drawing plus a few whole-image NumPy operations;
noise comes from cached fields so a full-size FLIR v1 frame takes tens of ms.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import scale_matrix
from thermal_synth_core.data.synth.world import KELVIN, Scene, SceneObject
from thermal_synth_core.objects import Box

__all__ = [
    "MIN_BOX_PX",
    "MIN_VISIBLE_FRACTION",
    "VisibleObject",
    "camera_agc",
    "object_boxes",
    "render_mask",
    "render_rgb",
    "render_temperature",
    "temperature_to_counts",
]

Size = tuple[int, int]
Matrix = npt.NDArray[np.float64]

#: Fixed-point bits for sub-pixel polygon vertices (OpenCV ``shift``).
_SHIFT = 4
_ONE = float(1 << _SHIFT)
#: Raw counts of 0 degC and counts per K of the simulated 14-bit sensor.
RAW_AT_0C = 7400.0
RAW_PER_K = 40.0
RAW_MAX = 16383


def _apply(m: Matrix, poly: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    pts = poly @ m[:2, :2].T + m[:2, 2]
    if abs(m[2, 0]) > 1e-15 or abs(m[2, 1]) > 1e-15:
        w = poly @ m[2, :2] + m[2, 2]
        pts = pts / w[:, None]
    return np.asarray(pts)


def _fixed(poly: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    # Clamp far-away vertices: fixed-point int32 must not overflow, and the clipped
    # polygon is identical inside any image this size.
    return np.asarray(np.round(np.clip(poly, -1e5, 1e5) * _ONE), dtype=np.int32)


@functools.cache
def _noise_field(kind: str) -> npt.NDArray[np.uint8]:
    """Cached noise (deterministic): sliced at random offsets instead of drawn per frame."""
    rng = np.random.default_rng(12345 if kind == "pos" else 54321)
    return np.asarray(rng.integers(0, 5, (2200, 2200, 3), dtype=np.uint8))


@functools.cache
def _smooth_field() -> npt.NDArray[np.float32]:
    """Cached low-frequency texture (zero mean, unit-ish amplitude) for thermal surfaces."""
    rng = np.random.default_rng(777)
    small = rng.normal(0.0, 1.0, (200, 200)).astype(np.float32)
    big = cv2.resize(small, (1400, 1400), interpolation=cv2.INTER_CUBIC)
    return np.asarray(big / max(float(np.std(big)), 1e-6), dtype=np.float32)


def _sky_gradient(
    size: Size, rows_ref: npt.NDArray[np.float64], horizon: float, top: npt.ArrayLike, bottom: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    """Per-row sky value blending ``top`` (row 0 of the reference frame) to ``bottom`` (horizon)."""
    a = np.clip(rows_ref / max(horizon, 1.0), 0.0, 1.0)[:, None]
    t = np.asarray(top, dtype=np.float32).reshape(1, -1)
    b = np.asarray(bottom, dtype=np.float32).reshape(1, -1)
    col = (1.0 - a) * t + a * b  # (H, C)
    return np.ascontiguousarray(np.broadcast_to(col[:, None, :], (size[1], size[0], col.shape[1])), dtype=np.float32)


def _reference_rows(m: Matrix, size: Size) -> npt.NDArray[np.float64]:
    """The reference-frame row seen by each output row at the image centre (for sky gradients)."""
    inv = np.linalg.inv(m)
    ys = np.arange(size[1], dtype=np.float64)
    pts = np.stack([np.full_like(ys, size[0] / 2), ys, np.ones_like(ys)], axis=1) @ inv.T
    return np.asarray(pts[:, 1] / pts[:, 2])


def render_rgb(
    scene: Scene, size: Size, rng: np.random.Generator, noise: bool = True, matrix: Matrix | None = None
) -> npt.NDArray[np.uint8]:
    """The RGB camera's view (H x W x 3, RGB order) at ``size``.

    ``matrix`` maps reference RGB px to output px; by default a rescale of the
    reference frame (a camera mode at another resolution). The pairs layout
    passes the thermal camera's view instead, for co-registered pairs.
    """
    w, h = size
    m = scale_matrix(scene.ref_size, size) if matrix is None else np.asarray(matrix, dtype=np.float64)
    rows_ref = _reference_rows(m, size)
    img: npt.NDArray[np.uint8] = _sky_gradient(
        size, rows_ref, scene.horizon, scene.sky_rgb[0], scene.sky_rgb[1]
    ).astype(np.uint8)
    for part in scene.parts:
        cv2.fillPoly(img, [_fixed(_apply(m, part.poly))], part.color, lineType=cv2.LINE_AA, shift=_SHIFT)
    if scene.lights:
        img = np.asarray(cv2.add(img, _glow(scene, size, m)), dtype=np.uint8)
    if noise:
        amp = 3 if scene.night else 1
        fx = int(rng.integers(0, 2200 - w)) if w < 2200 else 0
        fy = int(rng.integers(0, 2200 - h)) if h < 2200 else 0
        for kind, op in (("pos", cv2.add), ("neg", cv2.subtract)):
            field = _noise_field(kind)[fy : fy + h, fx : fx + w]
            if field.shape[:2] != (h, w):
                field = np.asarray(cv2.resize(field, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
            for _ in range(amp):
                img = np.asarray(op(img, field), dtype=np.uint8)
    return np.asarray(img, dtype=np.uint8)


def _glow(scene: Scene, size: Size, m: Matrix) -> npt.NDArray[np.uint8]:
    """Additive glow of lights, rendered at quarter resolution as Gaussian splats."""
    w, h = size
    q = 4
    gw, gh = max(w // q, 1), max(h // q, 1)
    buf = np.zeros((gh, gw, 3), dtype=np.float32)
    sx = float(np.sqrt(abs(np.linalg.det(m[:2, :2])))) * gw / w
    for light in scene.lights:
        c = _apply(m, np.array([[light.x, light.y]]))[0] * (gw / w)
        rx = max(light.rx * sx, 0.6)
        ry = max(light.ry * sx, 0.6)
        x0, x1 = int(max(c[0] - 3 * rx, 0)), int(min(c[0] + 3 * rx + 1, gw))
        y0, y1 = int(max(c[1] - 3 * ry, 0)), int(min(c[1] + 3 * ry + 1, gh))
        if x0 >= x1 or y0 >= y1:
            continue
        xs = (np.arange(x0, x1, dtype=np.float32) - c[0]) / rx
        ys = (np.arange(y0, y1, dtype=np.float32) - c[1]) / ry
        g = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)) * light.strength
        buf[y0:y1, x0:x1] += g[:, :, None] * np.asarray(light.color, dtype=np.float32)[None, None, :]
    up = cv2.resize(np.clip(buf, 0, 255), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(up, dtype=np.uint8)


def render_temperature(
    scene: Scene, matrix: Matrix, size: Size, rng: np.random.Generator, supersample: int = 2
) -> npt.NDArray[np.float32]:
    """Surface temperature (K) seen by the thermal camera; ``matrix`` maps reference RGB px -> thermal px."""
    w, h = size
    ss = (w * supersample, h * supersample)
    m = scale_matrix(size, ss) @ np.asarray(matrix, dtype=np.float64)
    rows_ref = _reference_rows(m, ss)
    temp = _sky_gradient(ss, rows_ref, scene.horizon, [scene.sky_temp[0]], [scene.sky_temp[1]])[:, :, 0].copy()
    for part in scene.parts:
        cv2.fillPoly(temp, [_fixed(_apply(m, part.poly))], float(part.temp), lineType=cv2.LINE_8, shift=_SHIFT)
    out = cv2.resize(temp, size, interpolation=cv2.INTER_AREA)
    tex = _smooth_field()
    fx, fy = int(rng.integers(0, 1400 - w)) if w < 1400 else 0, int(rng.integers(0, 1400 - h)) if h < 1400 else 0
    field = tex[fy : fy + h, fx : fx + w]
    if field.shape != (h, w):
        field = np.asarray(cv2.resize(field, (w, h)), dtype=np.float32)
    return np.asarray(out + 0.3 * field, dtype=np.float32)


def temperature_to_counts(
    temp: npt.NDArray[np.float32],
    rng: np.random.Generator,
    blur_sigma: float = 0.8,
    offset: float | None = None,
    gain: float | None = None,
) -> npt.NDArray[np.uint16]:
    """A 14-bit radiometric frame (uint16) from temperatures: optics blur, drift, vignetting, FPN, noise.

    ``offset`` (counts at 0 degC) and ``gain`` (counts per K) default to random
    values around the sensor's nominal ones, as for independent frames.
    """
    h, w = temp.shape
    t = cv2.GaussianBlur(temp, (0, 0), blur_sigma)
    if offset is None:
        offset = RAW_AT_0C + float(rng.normal(0.0, 120.0))
    if gain is None:
        gain = RAW_PER_K * float(rng.uniform(0.95, 1.05))
    counts = offset + gain * (t - KELVIN)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    counts -= 0.6 * gain * r2  # lens vignetting: ~0.6 K cooler in the corners
    counts += rng.normal(0.0, 2.0, (1, w)).astype(np.float32)  # column fixed-pattern noise
    counts += rng.normal(0.0, 2.5, (h, w)).astype(np.float32)  # temporal noise (NETD ~ 60 mK)
    return np.asarray(np.clip(np.round(counts), 0, RAW_MAX), dtype=np.uint16)


def camera_agc(counts: npt.NDArray[np.uint16], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """The camera's own 8-bit AGC, different every frame, like FLIR's.

    A blend of a linear percentile stretch and plateau histogram equalisation
    (the equalisation spreads the crowded mid-temperatures, e.g. a sunlit road,
    over more grey levels so warmer objects on it stay visible), with random
    percentiles, plateau and blend weight per frame.
    """
    lo_p = float(rng.uniform(0.3, 3.0))
    hi_p = float(rng.uniform(97.0, 99.9))
    lo, hi = np.percentile(counts, [lo_p, hi_p])
    linear = np.clip((counts.astype(np.float32) - float(lo)) / max(float(hi - lo), 1.0), 0.0, 1.0)
    hist = np.bincount(counts.ravel(), minlength=RAW_MAX + 1).astype(np.float64)
    occupied = max(int(np.count_nonzero(hist)), 1)
    plateau = float(rng.uniform(2.0, 6.0)) * counts.size / occupied
    cdf = np.cumsum(np.minimum(hist, plateau))
    cdf /= max(float(cdf[-1]), 1.0)
    equalised = cdf[counts].astype(np.float32)
    w = float(rng.uniform(0.4, 0.8))
    out = w * equalised + (1.0 - w) * linear
    return np.asarray(np.round(255.0 * np.clip(out, 0.0, 1.0)), dtype=np.uint8)


def render_mask(scene: Scene, matrix: Matrix, size: Size) -> npt.NDArray[np.uint8]:
    """Warm-object mask in the thermal frame: MASK_PERSON / MASK_HOT_VEHICLE where visible, else 0."""
    w, h = size
    mask = np.zeros((h, w), dtype=np.uint8)
    m = np.asarray(matrix, dtype=np.float64)
    if not any(p.warm for p in scene.parts[scene.first_actor :]):
        return mask
    for part in scene.parts[scene.first_actor :]:
        cv2.fillPoly(mask, [_fixed(_apply(m, part.poly))], int(part.warm), lineType=cv2.LINE_8, shift=_SHIFT)
    return mask


#: Objects whose visible box is narrower or lower than this (thermal px) get no annotation.
MIN_BOX_PX = 4
#: Objects less visible than this get no annotation: visible pixels over the pixels the object
#: covers inside the frame when drawn alone. Below half, an object is mostly hidden behind
#: nearer ones (a person behind a car, a car behind a bus stop's props).
MIN_VISIBLE_FRACTION = 0.5


@dataclass(frozen=True)
class VisibleObject:
    """An object as the thermal frame shows it: the box of its visible pixels, and how much of it they are."""

    box: Box  # thermal px, inside the frame
    visible: float  # visible pixels / pixels of the object alone inside the frame
    pixels: int  # visible pixels


def _owner_map(scene: Scene, projected: list[npt.NDArray[np.float64]], size: Size) -> npt.NDArray[np.uint16]:
    """Per thermal pixel: 1 + the index of the object drawn last there (0: none), as :func:`render_mask` draws."""
    owner_of = {i: k for k, obj in enumerate(scene.objects, start=1) for i in range(obj.start, obj.stop)}
    owner = np.zeros((size[1], size[0]), dtype=np.uint16)
    for i, poly in enumerate(projected, start=scene.first_actor):
        cv2.fillPoly(owner, [_fixed(poly)], owner_of.get(i, 0), lineType=cv2.LINE_8, shift=_SHIFT)
    return owner


def _visible(
    obj: SceneObject, polys: list[npt.NDArray[np.float64]], owner: npt.NDArray[np.uint16], k: int
) -> VisibleObject | None:
    """Object ``k`` (its projected ``polys``) given the frame's :func:`_owner_map`."""
    h, w = owner.shape
    pts = np.concatenate(polys)
    x0, y0 = max(math.floor(float(pts[:, 0].min())) - 1, 0), max(math.floor(float(pts[:, 1].min())) - 1, 0)
    x1, y1 = min(math.ceil(float(pts[:, 0].max())) + 2, w), min(math.ceil(float(pts[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return None  # out of frame
    alone = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    offset = np.array([x0, y0], dtype=np.float64)  # whole pixels: the same raster as in the full frame
    cv2.fillPoly(alone, [_fixed(p - offset) for p in polys], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    total = int(np.count_nonzero(alone))
    ys, xs = np.nonzero(owner[y0:y1, x0:x1] == k)
    if total == 0 or len(xs) == 0:
        return None
    box = Box(obj.category, float(x0 + xs.min()), float(y0 + ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1))
    return VisibleObject(box, min(len(xs) / total, 1.0), len(xs))


def object_boxes(
    scene: Scene,
    matrix: Matrix,
    size: Size,
    min_side: int = MIN_BOX_PX,
    min_visible: float = MIN_VISIBLE_FRACTION,
) -> list[VisibleObject]:
    """The scene's people and cars as the thermal frame shows them (far to near), ready to annotate.

    Each object's polygons go through ``matrix`` (reference RGB px -> thermal px) and are
    rasterised as :func:`render_mask` does, so a box holds exactly the object's mask pixels.
    Left out: objects out of the frame, with a visible box under ``min_side`` px on a side, or
    less than ``min_visible`` visible (:data:`MIN_VISIBLE_FRACTION`). No random draws.
    """
    if not scene.objects:
        return []
    m = np.asarray(matrix, dtype=np.float64)
    projected = [_apply(m, part.poly) for part in scene.parts[scene.first_actor :]]
    owner = _owner_map(scene, projected, size)
    out: list[VisibleObject] = []
    for k, obj in enumerate(scene.objects, start=1):
        polys = projected[obj.start - scene.first_actor : obj.stop - scene.first_actor]
        found = _visible(obj, polys, owner, k) if polys else None
        if found is not None and min(found.box.w, found.box.h) >= min_side and found.visible >= min_visible:
            out.append(found)
    return out
