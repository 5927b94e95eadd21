"""Test helper: write small drives (RGB + real thermal, different rates) as rosbag2 or ROS 1 bags with rosbags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tests.ros.images import reference_rgb

Storage = Literal["sqlite3", "mcap", "ros1"]
STORAGES: tuple[Storage, ...] = ("sqlite3", "mcap", "ros1")

RGB_TOPIC = "/camera/rgb/image"
THERMAL_TOPIC = "/flir/image"
TEXT_TOPIC = "/note"
T0 = 1_700_000_000 * 1_000_000_000  # header stamps: a plausible epoch time


@dataclass
class Drive:
    """What was written: the bag path and the header stamps (ns) per topic."""

    path: Path
    stamps: dict[str, list[int]] = field(default_factory=dict)


def write_drive(
    out: Path,
    storage: Storage,
    *,
    rgb_frames: int = 10,
    rgb_hz: float = 20.0,
    thermal_hz: float = 9.0,
    size: tuple[int, int] = (64, 48),
    with_text: bool = True,
) -> Drive:
    """RGB at ``rgb_hz`` and mono16 thermal at ``thermal_hz`` over the same span, log time = stamp + 3 ms."""
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS1_NOETIC if storage == "ros1" else Stores.ROS2_KILTED)
    Image = store.types["sensor_msgs/msg/Image"]
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    String = store.types["std_msgs/msg/String"]
    w, h = size

    def header(t: int, frame: str, seq: int) -> Any:
        stamp = Time(sec=t // 1_000_000_000, nanosec=t % 1_000_000_000)
        if storage == "ros1":
            return Header(seq=seq, stamp=stamp, frame_id=frame)
        return Header(stamp=stamp, frame_id=frame)

    span = (rgb_frames - 1) / rgb_hz
    rgb_stamps = [T0 + round(i / rgb_hz * 1e9) for i in range(rgb_frames)]
    thermal_stamps = [T0 + 7_000_000 + round(i / thermal_hz * 1e9) for i in range(int(span * thermal_hz) + 1)]
    messages: list[tuple[int, str, Any, str]] = []
    for i, t in enumerate(rgb_stamps):
        rgb = reference_rgb(h, w, seed=i)
        msg = Image(
            header=header(t, "camera", i),
            height=h,
            width=w,
            encoding="rgb8",
            is_bigendian=0,
            step=w * 3,
            data=rgb.reshape(-1),
        )
        messages.append((t, RGB_TOPIC, msg, "sensor_msgs/msg/Image"))
    for i, t in enumerate(thermal_stamps):
        px = (np.full((h, w), 7000, np.uint16) + np.uint16(i * 10)).reshape(-1).view(np.uint8)
        msg = Image(
            header=header(t, "flir", i),
            height=h,
            width=w,
            encoding="mono16",
            is_bigendian=0,
            step=w * 2,
            data=px,
        )
        messages.append((t, THERMAL_TOPIC, msg, "sensor_msgs/msg/Image"))
    if with_text:
        messages.append((T0 + 1, TEXT_TOPIC, String(data="drive start"), "std_msgs/msg/String"))
    messages.sort(key=lambda m: m[0])

    if storage == "ros1":
        from rosbags.rosbag1 import Writer as Writer1

        path = out / "drive.bag"
        with Writer1(path) as writer1:
            conns = {}
            for _, topic, _, msgtype in messages:
                if topic not in conns:
                    conns[topic] = writer1.add_connection(topic, msgtype, typestore=store)
            for t, topic, msg, msgtype in messages:
                writer1.write(conns[topic], t + 3_000_000, store.serialize_ros1(msg, msgtype))
    else:
        from rosbags.rosbag2 import StoragePlugin, Writer

        path = out / f"drive_{storage}"
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        with Writer(path, version=9, storage_plugin=plugin) as writer:
            conns = {}
            for _, topic, _, msgtype in messages:
                if topic not in conns:
                    conns[topic] = writer.add_connection(topic, msgtype, typestore=store)
            for t, topic, msg, msgtype in messages:
                writer.write(conns[topic], t + 3_000_000, store.serialize_cdr(msg, msgtype))
    stamps = {RGB_TOPIC: rgb_stamps, THERMAL_TOPIC: thermal_stamps}
    return Drive(path, stamps)
