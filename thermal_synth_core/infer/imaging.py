"""The pure image steps around a generator: RGB frame -> network input, network output -> thermal frame.

Preprocess: check the frame, warp it with the view's pixel map (see
:mod:`thermal_synth_core.infer.view`) to the network's working size in one
interpolation (the alignment's matrix composed with the scale to the input size
in ``rig`` view; a plain area resize when the map is only a scale, as in
``camera`` view), put the channels in RGB order and normalise to [-1, 1].
Postprocess: resize the output to the output size, map [-1, 1] to the full
8- or 16-bit range.
"""

from __future__ import annotations

from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import Alignment, scale_matrix
from thermal_synth_core.errors import DataError
from thermal_synth_core.modelfile import ModelSpec

__all__ = [
    "CHANNEL_ORDERS",
    "ThermalImage",
    "check_rgb",
    "model_alignment",
    "postprocess",
    "preprocess",
    "warp_to_blob",
]

CHANNEL_ORDERS: Final = ("rgb", "bgr")

Size = tuple[int, int]
#: A thermal frame: H x W, uint8 (mono8) or uint16 (mono16).
ThermalImage = npt.NDArray[np.uint8 | np.uint16]


def model_alignment(spec: ModelSpec) -> Alignment:
    """The spec's alignment, or for models trained without one, a plain rescale to the model input size."""
    if spec.alignment is not None:
        return spec.alignment
    return Alignment.from_matrix(np.eye(3), spec.input_size, spec.input_size, "none (model input size)")


def check_rgb(image: Any, what: str = "RGB image") -> npt.NDArray[np.uint8]:
    """``image`` as an H x W x 3 uint8 array, or a DataError saying what is wrong with it."""
    if not isinstance(image, np.ndarray):
        raise DataError(f"{what} must be a NumPy array, got {type(image).__name__}")
    if image.size == 0 or image.ndim < 2 or image.shape[0] == 0 or image.shape[1] == 0:
        raise DataError(f"{what} is empty (shape {image.shape})")
    if image.ndim != 3 or image.shape[2] != 3:
        channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else "?"
        raise DataError(
            f"{what} must have 3 channels (H x W x 3, RGB or BGR), got shape {image.shape} ({channels} channel(s))"
        )
    if image.dtype != np.uint8:
        raise DataError(f"{what} must be 8-bit (uint8), got {image.dtype}")
    return image


def preprocess(
    rgb: npt.NDArray[np.uint8], spec: ModelSpec, alignment: Alignment, channel_order: str = "rgb"
) -> npt.NDArray[np.float32]:
    """One frame -> (1, 3, H, W) float32 in [-1, 1], RGB order, in the thermal field of view at the input size."""
    image = check_rgb(rgb)
    h, w = image.shape[:2]
    m = alignment.matrix_for((w, h), spec.input_size)  # raises AlignmentError for another aspect ratio
    return warp_to_blob(image, m, spec.input_size, channel_order)


def warp_to_blob(
    rgb: npt.NDArray[np.uint8], m: npt.NDArray[np.float64], size: Size, channel_order: str = "rgb"
) -> npt.NDArray[np.float32]:
    """One frame warped by the pixel map ``m`` to ``size`` -> (1, 3, H, W) float32 in [-1, 1], RGB order."""
    if channel_order not in CHANNEL_ORDERS:
        raise DataError(f"unknown channel order {channel_order!r}; valid: {', '.join(CHANNEL_ORDERS)}")
    image = check_rgb(rgb)
    h, w = image.shape[:2]
    if np.allclose(m, scale_matrix((w, h), size), atol=1e-9):
        # A pure rescale: INTER_AREA averages when shrinking (no aliasing), and is exact geometry.
        interp = cv2.INTER_AREA if w > size[0] or h > size[1] else cv2.INTER_LINEAR
        warped = image if (w, h) == size else cv2.resize(image, size, interpolation=interp)
    elif Alignment.is_affine(m):
        warped = cv2.warpAffine(image, m[:2], size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    else:
        warped = cv2.warpPerspective(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # (x - 127.5) / 127.5, HWC -> NCHW, optional R/B swap: one optimised OpenCV call.
    blob = cv2.dnn.blobFromImage(
        np.ascontiguousarray(warped), scalefactor=1.0 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=channel_order == "bgr"
    )
    return np.asarray(blob, dtype=np.float32)


def postprocess(output: npt.NDArray[np.floating[Any]], spec: ModelSpec, size: Size | None = None) -> ThermalImage:
    """A network output (1 x H x W or H x W, in [-1, 1]) -> thermal frame at ``size`` (default: the model's)."""
    img = np.asarray(output, dtype=np.float32)
    while img.ndim > 2:
        img = img[0]
    w, h = size or spec.output_size
    if img.shape != (h, w):
        shrinking = img.shape[1] > w or img.shape[0] > h
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        img = np.asarray(cv2.resize(img, (w, h), interpolation=interp), dtype=np.float32)
    top = float(spec.output_max)
    scaled = (img + 1.0) * (top / 2.0)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, 0.0, top, out=scaled)
    np.rint(scaled, out=scaled)
    return scaled.astype(np.uint16 if spec.output_bits == 16 else np.uint8)
