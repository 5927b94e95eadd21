"""The labelled side-by-side comparison image."""

from __future__ import annotations

import numpy as np
import pytest

from thermal_synth_ros.comparison import side_by_side


def test_panels_are_scaled_to_one_height_labelled_and_inputs_untouched() -> None:
    rgb = np.full((96, 128, 3), 200, np.uint8)
    synth = np.full((48, 64), 100, np.uint8)  # grey panels become BGR
    real = np.full((60, 80, 3), 50, np.uint8)
    before = rgb.copy()
    out = side_by_side([(["RGB"], rgb), (["synthetic"], synth), (["real", "dt +5 ms"], real)], 48)
    assert out.shape == (48, 64 * 3, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(rgb, before)
    # the label box is drawn top-left of each panel; the rest keeps the content
    assert out[1, 1].tolist() == [0, 0, 0]
    assert out[-1, 64 - 1].tolist() == [200, 200, 200]
    assert out[-1, 64 + 10].tolist() == [100, 100, 100]


def test_same_height_panels_are_copied_not_drawn_on() -> None:
    a = np.zeros((32, 32, 3), np.uint8)
    side_by_side([(["x"], a)], 32)
    assert not a.any()
    with pytest.raises(ValueError, match="at least one panel"):
        side_by_side([], 32)
