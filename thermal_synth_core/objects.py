"""Objects that matter: annotated boxes and whether a thermal frame shows them.

Pixel metrics (L1, SSIM, warm-region IoU) say how close a synthetic frame is to
the real one; they do not say whether the pedestrian the real camera shows is
there at all. This module scores objects, one annotated box at a time:

* **box contrast**: on the AGC-normalised frame (:func:`~thermal_synth_core.agc.agc_normalize`,
  so values in [0, 1]), the mean of the box's central part (its middle
  :data:`INNER_FRACTION` of width and height: a box's corners are background)
  minus the mean of a ring around the box (a band :data:`RING_FRACTION` of the
  box's smaller side wide, at least :data:`RING_MIN_PX` pixels, clipped at the
  frame's edges). Warm objects on a cool background score positive.
* **visible**: a frame shows an object when its contrast has the same sign as the
  real frame's and at least :data:`VISIBLE_RATIO` (half) of its size. Objects whose
  real contrast is below :data:`MIN_REAL_CONTRAST` in magnitude (invisible in
  the real frame too) have no verdict (``visible is None``) and are counted apart.
* **aggregation** per class, per size bin and per lighting condition (and class
  by condition), as :class:`ObjectSummary`.

Size bins, by box area in pixels of the thermal frame scored (COCO's
thresholds): ``small`` under 32x32, ``medium`` under 96x96, ``large`` above.

Properties the tests hold: the real frame scored against itself is visible on
every object (1.0); its inverse on none (0.0); a flat frame on none; a positive
gain or a constant offset of the scored frame changes nothing (AGC removes both).

The module is in the foundations layer (NumPy and AGC only), so training
validation and evaluation both use it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_normalize

__all__ = [
    "INNER_FRACTION",
    "MIN_REAL_CONTRAST",
    "OBJECT_CLASSES",
    "RING_FRACTION",
    "RING_MIN_PX",
    "SIZE_BINS",
    "SIZE_LIMITS",
    "VISIBLE_RATIO",
    "Box",
    "ObjectClass",
    "ObjectScore",
    "ObjectSummary",
    "SizeBin",
    "Visibility",
    "box_contrast",
    "score_objects",
    "size_bin",
    "summarise",
]

#: The classes every dataset's labels are normalised to (``other``: anything else annotated).
ObjectClass = Literal["person", "bicycle", "car", "motorcycle", "bus", "truck", "dog", "other"]
OBJECT_CLASSES: tuple[ObjectClass, ...] = get_args(ObjectClass)

SizeBin = Literal["small", "medium", "large"]
SIZE_BINS: tuple[SizeBin, ...] = get_args(SizeBin)
#: Upper area limits (thermal pixels) of ``small`` and ``medium``: COCO's 32^2 and 96^2.
SIZE_LIMITS: tuple[float, float] = (32.0**2, 96.0**2)

#: The central part of a box whose mean is the object's: this fraction of its width and height.
INNER_FRACTION = 0.5
#: The ring around a box: this fraction of the box's smaller side wide ...
RING_FRACTION = 0.25
#: ... and at least this many pixels.
RING_MIN_PX = 2
#: Visible: same sign as the real contrast and at least this fraction of its magnitude.
VISIBLE_RATIO = 0.5
#: Real contrasts smaller than this (on the [0, 1] AGC scale) get no verdict: the real camera does not show them.
MIN_REAL_CONTRAST = 0.02

FloatImage = npt.NDArray[np.floating]


@dataclass(frozen=True)
class Box:
    """One annotated object: its class and box (left, top, width, height) in pixels of an image."""

    category: ObjectClass
    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        """Width times height, in pixels."""
        return self.w * self.h

    def scaled(self, sx: float, sy: float) -> Box:
        """The box in an image resized by ``sx`` horizontally and ``sy`` vertically."""
        return replace(self, x=self.x * sx, y=self.y * sy, w=self.w * sx, h=self.h * sy)

    def clipped(self, width: int, height: int) -> Box | None:
        """The part of the box inside a ``width`` x ``height`` image; None when nothing is left."""
        x0, y0 = max(0.0, self.x), max(0.0, self.y)
        x1, y1 = min(float(width), self.x + self.w), min(float(height), self.y + self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        return replace(self, x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def size_bin(box: Box) -> SizeBin:
    """``small``, ``medium`` or ``large`` by the box's area (:data:`SIZE_LIMITS`)."""
    if box.area < SIZE_LIMITS[0]:
        return "small"
    return "medium" if box.area < SIZE_LIMITS[1] else "large"


def _span(lo: float, hi: float, limit: int) -> tuple[int, int]:
    """Integer pixel range [a, b) covering [lo, hi), clipped to [0, limit)."""
    a = min(max(math.floor(lo), 0), limit)
    b = min(max(math.ceil(hi), 0), limit)
    return a, b


def box_contrast(normalised: FloatImage, box: Box) -> float | None:
    """Mean of the box's central part minus mean of the ring around it, on an AGC-normalised frame.

    None when the box leaves no pixel inside or no ring pixel inside the frame.
    """
    height, width = normalised.shape[:2]
    mx, my = box.w * (1.0 - INNER_FRACTION) / 2.0, box.h * (1.0 - INNER_FRACTION) / 2.0
    ix0, ix1 = _span(box.x + mx, box.x + box.w - mx, width)
    iy0, iy1 = _span(box.y + my, box.y + box.h - my, height)
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    inner = float(normalised[iy0:iy1, ix0:ix1].mean())
    ring = max(float(RING_MIN_PX), RING_FRACTION * min(box.w, box.h))
    ox0, ox1 = _span(box.x - ring, box.x + box.w + ring, width)
    oy0, oy1 = _span(box.y - ring, box.y + box.h + ring, height)
    bx0, bx1 = _span(box.x, box.x + box.w, width)
    by0, by1 = _span(box.y, box.y + box.h, height)
    outer = normalised[oy0:oy1, ox0:ox1]
    box_sum = float(normalised[by0:by1, bx0:bx1].sum(dtype=np.float64))
    n_ring = outer.size - (bx1 - bx0) * (by1 - by0)
    if n_ring <= 0:
        return None
    return inner - (float(outer.sum(dtype=np.float64)) - box_sum) / n_ring


@dataclass(frozen=True)
class ObjectScore:
    """One object scored on one frame: its contrasts in the real and the scored frame, and the verdict."""

    frame_id: str
    box: Box
    real_contrast: float | None
    contrast: float | None
    #: True/False: shown or not; None: no verdict (the real frame does not show it, or the box is outside).
    visible: bool | None
    size: SizeBin
    #: ``day``, ``night``, or None when the frame's lighting is unknown.
    condition: str | None = None


def _verdict(real: float | None, scored: float | None) -> bool | None:
    if real is None or scored is None or abs(real) < MIN_REAL_CONTRAST:
        return None
    return (
        math.copysign(1.0, scored) == math.copysign(1.0, real)
        and scored != 0.0
        and abs(scored) >= (VISIBLE_RATIO * abs(real))
    )


def score_objects(
    frame: npt.NDArray[np.generic],
    real: npt.NDArray[np.generic],
    boxes: Sequence[Box],
    *,
    frame_id: str = "",
    condition: str | None = None,
) -> list[ObjectScore]:
    """Score every box on ``frame`` (synthetic, grayscale baseline, or the real one) against ``real``.

    Both are single-channel frames of the same size (any dtype); each is AGC-normalised here.
    Boxes are in pixels of these frames.
    """
    if frame.shape[:2] != real.shape[:2]:
        raise ValueError(f"frame and real frame differ in size: {frame.shape[:2]} vs {real.shape[:2]}")
    scored, truth = agc_normalize(frame), agc_normalize(real)
    out = []
    for box in boxes:
        real_c, c = box_contrast(truth, box), box_contrast(scored, box)
        out.append(ObjectScore(frame_id, box, real_c, c, _verdict(real_c, c), size_bin(box), condition))
    return out


@dataclass(frozen=True)
class Visibility:
    """How many objects of a group a frame shows: ``visible`` of ``judged``; ``unjudged`` had no verdict."""

    judged: int = 0
    visible: int = 0
    unjudged: int = 0

    @property
    def rate(self) -> float | None:
        """``visible / judged``; None when no object was judged."""
        return self.visible / self.judged if self.judged else None

    def add(self, score: ObjectScore) -> Visibility:
        """This tally with one more object."""
        if score.visible is None:
            return replace(self, unjudged=self.unjudged + 1)
        return replace(self, judged=self.judged + 1, visible=self.visible + int(score.visible))


@dataclass(frozen=True)
class ObjectSummary:
    """Visibility overall, per class, per size bin, per lighting condition, and per class and condition."""

    overall: Visibility = field(default_factory=Visibility)
    by_class: Mapping[ObjectClass, Visibility] = field(default_factory=dict)
    by_size: Mapping[SizeBin, Visibility] = field(default_factory=dict)
    by_condition: Mapping[str, Visibility] = field(default_factory=dict)
    by_class_condition: Mapping[ObjectClass, Mapping[str, Visibility]] = field(default_factory=dict)

    def rate(self, category: ObjectClass, condition: str | None = None) -> float | None:
        """Visibility rate of one class (in one condition); None when none was judged."""
        if condition is None:
            return self.by_class.get(category, Visibility()).rate
        return self.by_class_condition.get(category, {}).get(condition, Visibility()).rate


def summarise(scores: Iterable[ObjectScore]) -> ObjectSummary:
    """Aggregate object scores (frames with an unknown condition count in no condition group)."""
    overall = Visibility()
    by_class: dict[ObjectClass, Visibility] = defaultdict(Visibility)
    by_size: dict[SizeBin, Visibility] = defaultdict(Visibility)
    by_condition: dict[str, Visibility] = defaultdict(Visibility)
    by_cc: dict[ObjectClass, dict[str, Visibility]] = defaultdict(lambda: defaultdict(Visibility))
    for s in scores:
        overall = overall.add(s)
        by_class[s.box.category] = by_class[s.box.category].add(s)
        by_size[s.size] = by_size[s.size].add(s)
        if s.condition is not None:
            by_condition[s.condition] = by_condition[s.condition].add(s)
            by_cc[s.box.category][s.condition] = by_cc[s.box.category][s.condition].add(s)
    return ObjectSummary(
        overall,
        {c: by_class[c] for c in OBJECT_CLASSES if c in by_class},
        {b: by_size[b] for b in SIZE_BINS if b in by_size},
        dict(sorted(by_condition.items())),
        {c: dict(sorted(by_cc[c].items())) for c in OBJECT_CLASSES if c in by_cc},
    )
