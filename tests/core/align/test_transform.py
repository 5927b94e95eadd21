"""Alignment conventions: scaling to other RGB sizes, warping, YAML round trip, clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_synth_core.align import Alignment, scale_matrix
from thermal_synth_core.errors import AlignmentError

# FLIR ADAS v1 style: ~2.48 RGB px per thermal px, offset ~(155, 155) RGB px.
FLIR = Alignment.from_matrix(
    np.array([[1 / 2.48, 0, -155 / 2.48], [0, 1 / 2.48, -155 / 2.48], [0, 0, 1]]), (1800, 1600), (640, 512), "test"
)


def _scene(w: int, h: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for i in range(0, w, max(w // 12, 1)):
        cv2.line(img, (i, 0), (i, h - 1), (255, 128, 0), max(w // 200, 1))
    cv2.circle(img, (w // 2, h // 2), h // 5, (0, 255, 255), -1)
    return img


def test_scale_matrix_maps_pixel_centres() -> None:
    m = scale_matrix((100, 50), (200, 100))
    # The centre of the first source pixel (0,0) covers target pixels 0..1 -> centre 0.5.
    np.testing.assert_allclose(m @ [0, 0, 1], [0.5, 0.5, 1])
    np.testing.assert_allclose(m @ [99, 49, 1], [198.5, 98.5, 1])


def test_half_resolution_rgb_warps_like_full() -> None:
    full = _scene(1800, 1600)
    half = cv2.resize(full, (900, 800), interpolation=cv2.INTER_AREA)
    a = FLIR.warp_rgb(full).astype(np.float32)
    b = FLIR.warp_rgb(half).astype(np.float32)
    assert a.shape == b.shape == (512, 640, 3)
    assert float(np.mean(np.abs(a - b))) < 6.0


def test_warp_to_other_output_size_composes_scale() -> None:
    rgb = _scene(1800, 1600)
    direct = FLIR.warp_rgb(rgb, out_size=(320, 256)).astype(np.float32)
    two_step = cv2.resize(FLIR.warp_rgb(rgb), (320, 256), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert float(np.mean(np.abs(direct - two_step))) < 8.0


def test_other_aspect_ratio_is_an_error() -> None:
    with pytest.raises(AlignmentError, match=r"1920x1080 has another aspect ratio.*1800x1600"):
        FLIR.matrix_for((1920, 1080))


def test_identity_and_resize() -> None:
    rgb = _scene(64, 48)
    np.testing.assert_array_equal(Alignment.identity((64, 48)).warp_rgb(rgb), rgb)
    assert Alignment.resize((128, 96), (64, 48)).warp_rgb(cv2.resize(rgb, (128, 96))).shape == (48, 64, 3)


def test_corner_error() -> None:
    offset = np.array([[0, 0, 1.0], [0, 0, 0], [0, 0, 0]])
    shifted = Alignment.from_matrix(np.add(FLIR.as_array(), offset), (1800, 1600), (640, 512), "t")
    assert FLIR.corner_error(FLIR) == pytest.approx(0.0, abs=1e-9)
    assert FLIR.corner_error(shifted) == pytest.approx(1.0)


def test_yaml_round_trip(tmp_path: Path) -> None:
    a = Alignment.from_matrix(FLIR.as_array(), (1800, 1600), (640, 512), "ecc", {"residual_px": 0.4})
    a.save(tmp_path / "a.yaml")
    assert Alignment.load(tmp_path / "a.yaml") == a


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("matrix: [[1,0,0],[0,1,0]]\nrgb_size: [4, 4]\nthermal_size: [4, 4]\n", "3x3"),
        ("matrix: [[0,0,0],[0,0,0],[0,0,1]]\nrgb_size: [4, 4]\nthermal_size: [4, 4]\n", "singular"),
        ("rgb_size: [4, 4]\n", "missing key"),
        ("matrix: [[1,0,0],[0,1,0],[0,0,1]]\nrgb_size: [4]\nthermal_size: [4, 4]\n", "malformed"),
        ("matrix: [[1,0,0],[0,1,0],[0,0,1]]\nrgb_size: [0, 4]\nthermal_size: [4, 4]\n", "positive"),
        ("matrix: [[1, 0, 0\n", "not a valid alignment YAML"),
        ("- 1\n", "expected a mapping"),
    ],
)
def test_bad_yaml_names_file(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(AlignmentError, match=pattern) as exc:
        Alignment.load(path)
    assert "bad.yaml" in str(exc.value)


def test_missing_file() -> None:
    with pytest.raises(AlignmentError, match="alignment file not found"):
        Alignment.load("/nonexistent/a.yaml")


def test_empty_image() -> None:
    with pytest.raises(AlignmentError, match="empty image"):
        FLIR.warp_rgb(np.zeros((0, 0, 3), np.uint8))
