"""Test helpers: encode a reference RGB image into every sensor_msgs/Image encoding.

The encoders are written independently of ``thermal_synth_ros.conversions`` (the
inverse direction), so the tests compare two implementations rather than one
with itself.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# Pattern letters per 2x2 cell, row-major, in ROS naming.
BAYER_PATTERNS = {"rggb": "RGGB", "bggr": "BGGR", "gbrg": "GBRG", "grbg": "GRBG"}

ALL_COLOR_ENCODINGS = [
    "rgb8",
    "bgr8",
    "rgba8",
    "bgra8",
    "rgb16",
    "bgr16",
    "rgba16",
    "bgra16",
    "8UC3",
    "8UC4",
    "mono8",
    "8UC1",
    "mono16",
    "16UC1",
    "yuv422",
    "uyvy",
    "yuv422_yuy2",
    "yuyv",
    *[f"bayer_{p}8" for p in BAYER_PATTERNS],
    *[f"bayer_{p}16" for p in BAYER_PATTERNS],
]
EXACT = {"rgb8", "bgr8", "rgba8", "bgra8", "rgb16", "bgr16", "rgba16", "bgra16", "8UC3", "8UC4"}


def reference_rgb(height: int = 48, width: int = 64, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A smooth RGB test image (smooth so demosaicing and chroma subsampling stay close)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(20, 235, size=(max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def gray_of(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def _mosaic(rgb: npt.NDArray[Any], pattern: str) -> npt.NDArray[Any]:
    out = np.zeros(rgb.shape[:2], dtype=rgb.dtype)
    index = {"R": 0, "G": 1, "B": 2}
    for k, letter in enumerate(pattern):
        dy, dx = divmod(k, 2)
        out[dy::2, dx::2] = rgb[dy::2, dx::2, index[letter]]
    return out


def encode_pixels(rgb: npt.NDArray[np.uint8], encoding: str) -> npt.NDArray[Any]:
    """The pixel array (H, W[, C]) that a camera publishing ``encoding`` would send for ``rgb``."""
    rgb16 = rgb.astype(np.uint16) * 257
    alpha8 = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    alpha16 = np.full((*rgb.shape[:2], 1), 65535, np.uint16)
    table: dict[str, Any] = {
        "rgb8": lambda: rgb,
        "bgr8": lambda: rgb[:, :, ::-1],
        "8UC3": lambda: rgb[:, :, ::-1],
        "rgba8": lambda: np.concatenate([rgb, alpha8], axis=2),
        "bgra8": lambda: np.concatenate([rgb[:, :, ::-1], alpha8], axis=2),
        "8UC4": lambda: np.concatenate([rgb[:, :, ::-1], alpha8], axis=2),
        "rgb16": lambda: rgb16,
        "bgr16": lambda: rgb16[:, :, ::-1],
        "rgba16": lambda: np.concatenate([rgb16, alpha16], axis=2),
        "bgra16": lambda: np.concatenate([rgb16[:, :, ::-1], alpha16], axis=2),
        "mono8": lambda: gray_of(rgb),
        "8UC1": lambda: gray_of(rgb),
        "mono16": lambda: gray_of(rgb).astype(np.uint16) * 257,
        "16UC1": lambda: gray_of(rgb).astype(np.uint16) * 257,
        "yuv422": lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY),
        "uyvy": lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY),
        "yuv422_yuy2": lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2),
        "yuyv": lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2),
    }
    for ros, pattern in BAYER_PATTERNS.items():
        table[f"bayer_{ros}8"] = lambda p=pattern: _mosaic(rgb, p)
        table[f"bayer_{ros}16"] = lambda p=pattern: _mosaic(rgb16, p)
    return np.ascontiguousarray(table[encoding]())


def fields(
    pixels: npt.NDArray[Any], encoding: str, *, pad: int = 0, bigendian: bool = False, stamp: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    """The sensor_msgs/Image fields for ``pixels``, with ``pad`` extra bytes per row."""
    height, width = pixels.shape[:2]
    px = pixels.astype(pixels.dtype.newbyteorder(">")) if bigendian else pixels.astype(pixels.dtype.newbyteorder("<"))
    row = px.reshape(height, -1).view(np.uint8)
    padded = np.concatenate([row, np.full((height, pad), 0xAB, np.uint8)], axis=1) if pad else row
    step = padded.shape[1]
    return {
        "header": SimpleNamespace(stamp=SimpleNamespace(sec=stamp[0], nanosec=stamp[1]), frame_id="camera"),
        "height": height,
        "width": width,
        "encoding": encoding,
        "is_bigendian": int(bigendian),
        "step": step,
        "data": np.ascontiguousarray(padded).tobytes(),
    }


def fake_image(rgb: npt.NDArray[np.uint8], encoding: str, **kw: Any) -> SimpleNamespace:
    """A duck-typed sensor_msgs/Image for ``rgb`` in ``encoding``."""
    return SimpleNamespace(**fields(encode_pixels(rgb, encoding), encoding, **kw))


def rclpy_image(rgb: npt.NDArray[np.uint8], encoding: str, **kw: Any) -> Any:
    """A real rclpy sensor_msgs/Image for ``rgb`` in ``encoding``."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    f = fields(encode_pixels(rgb, encoding), encoding, **kw)
    stamp = f.pop("header").stamp
    msg = Image(**{k: v for k, v in f.items() if k != "data"})
    msg.header = Header(stamp=Time(sec=stamp.sec, nanosec=stamp.nanosec), frame_id="camera")
    import array

    msg.data = array.array("B", f["data"])
    return msg


def expected_rgb(rgb: npt.NDArray[np.uint8], encoding: str) -> tuple[npt.NDArray[np.uint8], int, int]:
    """What to_rgb8 should return for ``rgb`` sent as ``encoding``, the tolerance, and the border to ignore."""
    if encoding in EXACT:
        return rgb, 0, 0
    if encoding in ("mono8", "8UC1", "mono16", "16UC1"):
        g = gray_of(rgb)
        return np.repeat(g[:, :, None], 3, axis=2), 0, 0
    if encoding.startswith("bayer"):
        return rgb, 24, 2  # bilinear demosaicing of a smooth image; borders are extrapolated
    return rgb, 24, 0  # 4:2:2 chroma subsampling plus YUV rounding (a U/V or byte-order mix-up is ~100)
