"""Object visibility: box contrast, the visible verdict, and its sanity properties."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from thermal_synth_core.objects import (
    MIN_REAL_CONTRAST,
    Box,
    ObjectScore,
    box_contrast,
    score_objects,
    size_bin,
    summarise,
)

H, W = 256, 320
BACKGROUND = 0.35
#: Warm people and a car, a cold object (negative contrast), small to large.
BOXES = (
    Box("person", 20, 60, 12, 30),  # small (360 px)
    Box("person", 60, 40, 30, 80),  # medium (2400 px)
    Box("car", 120, 120, 110, 90),  # large (9900 px)
    Box("dog", 250, 60, 20, 14),  # small, cold
)
LEVELS = {0: 0.9, 1: 0.8, 2: 0.7, 3: 0.05}


def _frame(levels: dict[int, float], seed: int = 0) -> npt.NDArray[np.float32]:
    """Background with noise, pinned rows at 0 and 1 (so AGC maps [0, 1] to itself), objects at ``levels``."""
    rng = np.random.default_rng(seed)
    img = (BACKGROUND + rng.normal(0.0, 0.02, (H, W))).astype(np.float32)
    img[:6] = 0.0
    img[-6:] = 1.0
    for i, level in levels.items():
        b = BOXES[i]
        img[int(b.y) : int(b.y + b.h), int(b.x) : int(b.x + b.w)] = level
    return img


def _rate(frame: npt.NDArray[np.generic], real: npt.NDArray[np.generic]) -> float | None:
    return summarise(score_objects(frame, real, BOXES)).overall.rate


def test_real_frame_is_visible_on_every_object() -> None:
    real = _frame(LEVELS)
    scores = score_objects(real, real, BOXES)
    assert [s.visible for s in scores] == [True, True, True, True]
    assert summarise(scores).overall.rate == 1.0
    assert scores[0].real_contrast == pytest.approx(0.9 - BACKGROUND, abs=0.02)
    assert scores[3].real_contrast is not None and scores[3].real_contrast < 0  # cold object: negative


def test_inverted_frame_shows_nothing() -> None:
    real = _frame(LEVELS)
    assert _rate(1.0 - real, real) == 0.0
    assert _rate((255 - real * 255).astype(np.uint8), (real * 255).astype(np.uint8)) == 0.0


def test_flat_frame_shows_nothing() -> None:
    real = _frame(LEVELS)
    flat = np.full((H, W), 128, np.uint8)
    scores = score_objects(flat, real, BOXES)
    assert [s.contrast for s in scores] == [0.0] * 4
    assert summarise(scores).overall.rate == 0.0


@pytest.mark.parametrize(("gain", "offset"), [(1.0, 40.0), (3.0, 0.0), (0.25, -7.5), (1000.0, 12000.0)])
def test_gain_and_offset_change_nothing(gain: float, offset: float) -> None:
    real = _frame(LEVELS)
    synthetic = _frame({0: 0.5, 1: 0.8, 2: 0.37, 3: 0.12}, seed=1)  # some shown, some not
    base = score_objects(synthetic, real, BOXES)
    moved = score_objects(synthetic * gain + offset, real, BOXES)
    assert [s.visible for s in moved] == [s.visible for s in base] == [False, True, False, True]
    assert [s.contrast for s in moved] == pytest.approx([s.contrast for s in base], abs=1e-4)


def test_half_the_real_contrast_is_the_threshold() -> None:
    real = _frame(LEVELS)
    contrast = 0.9 - BACKGROUND
    above = _frame({0: BACKGROUND + 0.6 * contrast}, seed=2)
    below = _frame({0: BACKGROUND + 0.4 * contrast}, seed=2)
    assert score_objects(above, real, BOXES[:1])[0].visible is True
    assert score_objects(below, real, BOXES[:1])[0].visible is False


def test_no_verdict_where_the_real_frame_shows_nothing() -> None:
    real = _frame({})  # no object stands out
    scores = score_objects(_frame(LEVELS), real, BOXES)
    assert all(s.real_contrast is not None and abs(s.real_contrast) < MIN_REAL_CONTRAST for s in scores)
    assert all(s.visible is None for s in scores)
    summary = summarise(scores).overall
    assert (summary.judged, summary.unjudged, summary.rate) == (0, 4, None)


def test_boxes_at_and_beyond_the_edge() -> None:
    img = np.full((H, W), 0.2, np.float32)
    img[0:20, 0:10] = 0.8
    assert box_contrast(img, Box("person", 0, 0, 10, 20)) == pytest.approx(0.6)  # ring clipped to the frame
    assert box_contrast(img, Box("person", 400, 10, 10, 20)) is None  # outside
    assert box_contrast(img, Box("person", 0, 0, W, H)) is None  # no ring left


def test_size_bins_use_coco_areas() -> None:
    assert [size_bin(b) for b in BOXES] == ["small", "medium", "large", "small"]
    assert size_bin(Box("car", 0, 0, 32, 32)) == "medium" and size_bin(Box("car", 0, 0, 96, 96)) == "large"


def test_summary_groups_by_class_size_and_condition() -> None:
    real = _frame(LEVELS)
    shown_large_only = _frame({2: 0.7}, seed=3)
    scores: list[ObjectScore] = []
    scores += score_objects(real, real, BOXES, frame_id="a", condition="day")
    scores += score_objects(shown_large_only, real, BOXES, frame_id="b", condition="night")
    summary = summarise(scores)
    assert summary.overall.rate == pytest.approx(5 / 8)
    assert summary.rate("person") == 0.5 and summary.rate("car") == 1.0
    assert summary.rate("person", "day") == 1.0 and summary.rate("person", "night") == 0.0
    assert summary.by_size["large"].rate == 1.0 and summary.by_size["small"].rate == 0.5
    assert summary.by_condition["night"].rate == 0.25
    assert summary.rate("bus") is None and summary.rate("person", "dusk") is None
    assert list(summary.by_class) == ["person", "car", "dog"]  # in OBJECT_CLASSES order
