"""Image I/O: corrupt files are reported, not half-decoded; round trips keep bit depth and colour order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from thermal_synth_core.data.imageio import read_mask, read_rgb, read_thermal, write_image
from thermal_synth_core.errors import DataError


def _jpeg(tmp_path: Path) -> Path:
    img = np.zeros((64, 80, 3), np.uint8)
    img[:, :, 0] = 200  # red in RGB order
    path = tmp_path / "a.jpg"
    write_image(path, img)
    return path


def test_rgb_round_trip_keeps_rgb_order(tmp_path: Path) -> None:
    rgb = read_rgb(_jpeg(tmp_path))
    assert rgb.shape == (64, 80, 3)
    assert rgb[..., 0].mean() > 150 and rgb[..., 2].mean() < 50


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_thermal_round_trip_keeps_bit_depth(tmp_path: Path, dtype: type) -> None:
    img: np.ndarray = (np.arange(64 * 80).reshape(64, 80) % (256 if dtype is np.uint8 else 16384)).astype(dtype)
    for suffix in (".png", ".tiff"):
        write_image(tmp_path / f"t{suffix}", img)
        back = read_thermal(tmp_path / f"t{suffix}")
        assert back.dtype == dtype
        np.testing.assert_array_equal(back, img)


@pytest.mark.parametrize(
    ("mangle", "match"),
    [
        (lambda b: b[: len(b) // 2], "truncated JPEG"),
        (lambda b: b"GIF89a" + b[6:], "not a JPEG"),
        (lambda b: b"", "empty"),
        (lambda b: b[:2] + bytes(len(b) - 4) + b[-2:], "could not decode"),
    ],
    ids=["truncated", "not-jpeg", "empty", "garbage"],
)
def test_corrupt_jpeg_is_a_clear_error(tmp_path: Path, mangle: object, match: str) -> None:
    path = _jpeg(tmp_path)
    path.write_bytes(mangle(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(DataError, match=match) as exc:
        read_rgb(path)
    assert str(path) in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="image not found"):
        read_mask(tmp_path / "nope.png")
