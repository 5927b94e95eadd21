"""Colour maps: one registry, uint8 and uint16 input, BGR8 output."""

from __future__ import annotations

import numpy as np
import pytest

from thermal_synth_core.errors import DataError
from thermal_synth_core.infer import COLORMAPS, apply_colormap, list_colormaps

RAMP8 = np.tile(np.arange(256, dtype=np.uint8), (4, 1))


def test_registry() -> None:
    assert list_colormaps() == ["white-hot", "black-hot", "ironbow", "inferno"]
    assert set(COLORMAPS) == set(list_colormaps())


@pytest.mark.parametrize("name", list_colormaps())
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_every_colormap_gives_bgr8(name: str, dtype: type) -> None:
    img = (RAMP8.astype(np.uint16) * 257).astype(dtype) if dtype is np.uint16 else RAMP8
    out = apply_colormap(img, name)
    assert out.shape == (4, 256, 3)
    assert out.dtype == np.uint8
    assert len({tuple(c) for c in out[0]}) > 100  # a real gradient


def test_white_and_black_hot() -> None:
    white = apply_colormap(RAMP8, "white-hot")
    assert np.array_equal(white[..., 0], RAMP8)
    assert np.array_equal(apply_colormap(RAMP8, "black-hot")[..., 1], 255 - RAMP8)


def test_ironbow_runs_from_black_to_near_white_through_warm_colours() -> None:
    out = apply_colormap(RAMP8, "ironbow")[0]
    assert tuple(out[0]) == (0, 0, 0)
    assert min(out[255]) > 220
    b, g, r = (int(v) for v in out[160])
    assert r > g > b  # orange in the upper middle


def test_uint16_scales_linearly_and_agc_stretches() -> None:
    img16 = (RAMP8.astype(np.uint16) * 257).astype(np.uint16)
    assert np.array_equal(apply_colormap(img16, "white-hot"), apply_colormap(RAMP8, "white-hot"))
    narrow = (30000 + RAMP8.astype(np.uint16) * 4).astype(np.uint16)  # raw radiometric-like range
    stretched = apply_colormap(narrow, "white-hot", agc=True)
    assert stretched[..., 0].max() == 255
    assert stretched[..., 0].min() == 0


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match=r"unknown colour map 'jet'; valid: white-hot, black-hot, ironbow, inferno"):
        apply_colormap(RAMP8, "jet")
    with pytest.raises(DataError, match=r"non-empty H x W array"):
        apply_colormap(np.zeros((4, 4, 3), np.uint8), "ironbow")
    with pytest.raises(DataError, match=r"must be uint8 or uint16"):
        apply_colormap(np.zeros((4, 4), np.float32), "ironbow")
    assert apply_colormap(np.zeros((4, 4, 1), np.uint8), "inferno").shape == (4, 4, 3)
