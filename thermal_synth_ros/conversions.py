"""sensor_msgs/Image <-> NumPy for the node: the core's readers plus rclpy message builders.

Decoding (every camera encoding, CompressedImage, typed :class:`MessageError`
on malformed input) lives in :mod:`thermal_synth_core.imagemsg`, shared with
offline evaluation; :func:`image_msg` builds rclpy ``sensor_msgs/Image``
messages from arrays, copying the input header so outputs keep the camera's stamp.

The decoders are importable without ROS 2 (they are tested without it); only the two
builders import the ROS message packages, when called.
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np
import numpy.typing as npt

from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import MessageError
from thermal_synth_core.imagemsg import (
    COLOR_ENCODINGS,
    MAX_BYTES,
    MAX_SIDE,
    THERMAL_ENCODINGS,
    ChannelOrder,
    Encoding,
    compressed_to_color8,
    compressed_to_mono,
    encoding_info,
    image_to_array,
    stamp_ns,
    to_color8,
    to_mono,
    to_rgb8,
    to_thermal_float,
)

__all__ = [
    "COLOR_ENCODINGS",
    "MAX_BYTES",
    "MAX_SIDE",
    "THERMAL_ENCODINGS",
    "ChannelOrder",
    "Encoding",
    "camera_info_msg",
    "compressed_to_color8",
    "compressed_to_mono",
    "encoding_info",
    "image_msg",
    "image_to_array",
    "stamp_ns",
    "to_color8",
    "to_mono",
    "to_rgb8",
    "to_thermal_float",
]

_OUT_ENCODINGS: dict[str, tuple[int, type[np.generic]]] = {
    "mono8": (1, np.uint8),
    "mono16": (1, np.uint16),
    "bgr8": (3, np.uint8),
    "rgb8": (3, np.uint8),
}


def image_msg(image: npt.NDArray[Any], encoding: str, header: Any, frame_id: str | None = None) -> Any:
    """A ``sensor_msgs/Image`` holding ``image``, with ``header``'s stamp and (unless given) frame_id.

    ``encoding`` is one of mono8, mono16, bgr8, rgb8 and must match the array's
    shape and dtype. The pixel buffer is copied once, in C.
    """
    # ROS 2's message packages: only the builders need them (the decoders work without ROS).
    from sensor_msgs.msg import Image  # noqa: PLC0415
    from std_msgs.msg import Header  # noqa: PLC0415

    channels, dtype = _OUT_ENCODINGS.get(encoding, (0, np.void))
    if channels == 0:
        raise MessageError(f"cannot build {encoding!r} images; choose one of {', '.join(_OUT_ENCODINGS)}")
    shape_ok = image.ndim == 2 if channels == 1 else image.ndim == 3 and image.shape[2] == channels
    if not shape_ok or image.dtype != dtype:
        raise MessageError(
            f"{encoding} needs a {np.dtype(dtype).name} array with {channels} channel(s), got "
            f"{image.dtype.name} {image.shape}"
        )
    image = np.ascontiguousarray(image)
    if image.dtype.byteorder == ">":
        image = image.astype(image.dtype.newbyteorder("<"))
    msg = Image()
    msg.header = Header(stamp=header.stamp, frame_id=frame_id if frame_id else header.frame_id)
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(image.strides[0])
    data = array.array("B")
    data.frombytes(image.reshape(-1).view(np.uint8).data)  # one copy of a C-contiguous buffer
    msg.data = data
    return msg


def camera_info_msg(camera: CameraModel, header: Any, frame_id: str | None = None) -> Any:
    """A ``sensor_msgs/CameraInfo`` of ``camera`` with ``header``'s stamp and (unless given) frame_id.

    Published beside each image with the same header, so image_proc, RViz's Camera
    display and projection code find the image's camera model by stamp.
    """
    from sensor_msgs.msg import CameraInfo  # noqa: PLC0415 - ROS 2 only where a message is built
    from std_msgs.msg import Header  # noqa: PLC0415

    msg = CameraInfo()
    msg.header = Header(stamp=header.stamp, frame_id=frame_id if frame_id else header.frame_id)
    msg.width, msg.height = camera.width, camera.height
    msg.distortion_model = camera.distortion_model or "plumb_bob"
    msg.d = [float(v) for v in camera.d]
    msg.k = [float(v) for v in camera.k]
    msg.r = [float(v) for v in camera.r]
    msg.p = [float(v) for v in camera.p]
    return msg
