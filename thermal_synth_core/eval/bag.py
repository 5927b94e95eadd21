"""What evaluation reads from recorded drives: the image topics it accepts and their messages as arrays.

Bags are opened with the project's one reader,
:class:`~thermal_synth_core.bagreader.BagSource` (rosbag2 sqlite3/mcap and ROS 1
through ``rosbags``, no ROS install), re-exported here with its records, topic
descriptions and errors; ``replay`` uses the same reader, so both accept and
refuse the same bags.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from thermal_synth_core import imagemsg
from thermal_synth_core.bagreader import BagReadError, BagSource, Record, TopicInfo, describe_topics

__all__ = [
    "COMPRESSED",
    "IMAGE",
    "BagReadError",
    "BagSource",
    "Record",
    "TopicInfo",
    "decode_mask",
    "decode_rgb",
    "decode_thermal",
    "describe_topics",
]

IMAGE: Final = "sensor_msgs/msg/Image"
COMPRESSED: Final = "sensor_msgs/msg/CompressedImage"
#: Message types each role accepts.
RGB_TYPES: Final = (IMAGE, COMPRESSED)
THERMAL_TYPES: Final = (IMAGE, COMPRESSED)
MASK_TYPES: Final = (IMAGE,)


# -- messages -> arrays ------------------------------------------------------------------------------


def decode_rgb(msg: Any, msgtype: str) -> tuple[npt.NDArray[np.uint8], imagemsg.ChannelOrder]:
    """An RGB camera message (Image of any colour encoding, or CompressedImage) as uint8 H x W x 3 + order."""
    if msgtype == COMPRESSED:
        return imagemsg.compressed_to_color8(msg)
    return imagemsg.to_color8(msg)


def decode_thermal(msg: Any, msgtype: str) -> npt.NDArray[Any]:
    """A real thermal message (mono8/mono16/16UC1/32FC1 Image, or a PNG CompressedImage) as H x W."""
    if msgtype == COMPRESSED:
        return imagemsg.compressed_to_mono(msg)
    return imagemsg.to_mono(msg)


def decode_mask(msg: Any) -> npt.NDArray[np.bool_]:
    """A warm-object mask (mono8 Image, non-zero = warm) as H x W bool."""
    return np.asarray(imagemsg.to_mono(msg)) > 0
