"""Reading and writing dataset images, with corrupt files reported instead of silently half-decoded.

Arrays are RGB order (H x W x 3, uint8) for colour images, H x W uint8 or uint16
for thermal images and masks. OpenCV's BGR order stays inside this module.

A truncated JPEG is the classic silent failure: libjpeg warns "premature end of
JPEG file" and returns an image whose lower part is grey. :func:`read_rgb` and
:func:`read_thermal` check the JPEG end-of-image marker first and raise a
:class:`~thermal_synth_core.errors.DataError` naming the file instead.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.errors import DataError
from thermal_synth_core.fileio import atomic_write_bytes

__all__ = ["encode_image", "read_image", "read_mask", "read_rgb", "read_thermal", "write_image"]

_JPEG = {".jpg", ".jpeg"}


def read_image(path: str | Path) -> npt.NDArray[np.generic]:
    """Decode any image file unchanged (bit depth and channels kept, BGR order for colour)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except OSError as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc
    if not data:
        raise DataError(f"unreadable image {path}: the file is empty")
    if path.suffix.lower() in _JPEG:
        if data[:2] != b"\xff\xd8":
            raise DataError(f"unreadable image {path}: not a JPEG file (no start-of-image marker)")
        if b"\xff\xd9" not in data[-64:].rstrip(b"\x00"):
            raise DataError(f"unreadable image {path}: truncated JPEG (no end-of-image marker)")
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise DataError(f"unreadable image {path}: OpenCV could not decode it (corrupt or unsupported format)")
    return np.asarray(img)


def read_rgb(path: str | Path) -> npt.NDArray[np.uint8]:
    """An RGB image as H x W x 3 uint8 in RGB order (grayscale is expanded; 16-bit is scaled down)."""
    raw = read_image(path)
    if raw.dtype == np.uint16:
        raw = (raw.astype(np.uint16) >> 8).astype(np.uint8)
    if raw.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit colour image, got {raw.dtype}")
    img = np.asarray(raw, dtype=np.uint8)
    if img.ndim == 2:
        return np.asarray(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))
    if img.shape[2] == 4:
        return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGRA2RGB))
    return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))


def read_thermal(path: str | Path) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16]:
    """A thermal image as H x W, uint8 (AGC'd) or uint16 (raw radiometric), as stored."""
    img = read_image(path)
    if img.ndim == 3:
        # Some exports store gray thermal as 3 equal channels; keep one.
        img = img[:, :, 0]
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img, dtype=np.uint8)
    if img.dtype == np.uint16:
        return np.ascontiguousarray(img, dtype=np.uint16)
    raise DataError(f"{path}: thermal images must be 8- or 16-bit, got {img.dtype}")


def read_mask(path: str | Path) -> npt.NDArray[np.uint8]:
    """A warm-object mask as H x W uint8 (0 = not warm)."""
    img = read_image(path)
    if img.ndim == 3:
        img = img[:, :, 0]
    return np.ascontiguousarray(img, dtype=np.uint8)


def encode_image(suffix: str, image: npt.NDArray[np.generic], jpeg_quality: int = 92) -> bytes:
    """Encode ``image`` (RGB order if colour) for a file of ``suffix`` (.png, .jpg, .jpeg, .tiff)."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    params: list[int] = []
    suffix = suffix.lower()
    if suffix in _JPEG:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # fast; the size difference to level 9 is small for photos
    ok, buf = cv2.imencode(suffix, arr, params)
    if not ok:
        raise DataError(f"cannot encode an image of shape {arr.shape} and type {arr.dtype} as {suffix}")
    return bytes(buf.tobytes())


def write_image(path: str | Path, image: npt.NDArray[np.generic], jpeg_quality: int = 92) -> None:
    """Write ``image`` (RGB order if colour) atomically; the format follows the file suffix."""
    path = Path(path)
    atomic_write_bytes(path, encode_image(path.suffix, image, jpeg_quality))
