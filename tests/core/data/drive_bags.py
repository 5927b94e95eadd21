"""Test helper: tiny rosbag2 drives with controlled stamps, stops, brightness and CameraInfo topics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

RGB_TOPIC = "/cam/rgb/image_raw"
THERMAL_TOPIC = "/cam/thermal/image_raw"
THERMAL_INFO = "/cam/thermal/camera_info"
RGB_INFO = "/cam/rgb/camera_info"
T0 = 1_700_000_000 * 1_000_000_000
RGB_SIZE = (96, 72)
THERMAL_SIZE = (64, 48)


@dataclass
class TinyDrive:
    """What was written: the bag and the header stamps of each topic."""

    path: Path
    rgb_stamps: list[int] = field(default_factory=list)
    thermal_stamps: list[int] = field(default_factory=list)


def thermal_frame(i: int) -> np.ndarray[Any, np.dtype[np.uint16]]:
    """A distinct textured 16-bit frame per index."""
    rng = np.random.default_rng(1000 + i)
    w, h = THERMAL_SIZE
    return (7000 + rng.integers(0, 2000, size=(h, w))).astype(np.uint16)


def write_tiny_drive(
    path: Path,
    n: int = 60,
    *,
    rgb_hz: float = 10.0,
    thermal_hz: float = 10.0,
    thermal_offset_ns: int = 5_000_000,
    stop: Sequence[int] = (),
    dark_from: int | None = None,
    thermal_hfov_deg: float | None = None,
    t0: int = T0,
) -> TinyDrive:
    """RGB and mono16 thermal; thermal frames with index in ``stop`` repeat frame ``stop[0] - 1`` exactly."""
    store = get_typestore(Stores.ROS2_KILTED)
    image_t, header_t = store.types["sensor_msgs/msg/Image"], store.types["std_msgs/msg/Header"]
    time_t, info_t = store.types["builtin_interfaces/msg/Time"], store.types["sensor_msgs/msg/CameraInfo"]
    roi_t = store.types["sensor_msgs/msg/RegionOfInterest"]

    def header(t: int, frame: str) -> Any:
        return header_t(stamp=time_t(sec=t // 1_000_000_000, nanosec=t % 1_000_000_000), frame_id=frame)

    drive = TinyDrive(path)
    span = (n - 1) / rgb_hz
    drive.rgb_stamps = [t0 + round(i / rgb_hz * 1e9) for i in range(n)]
    drive.thermal_stamps = [
        t0 + thermal_offset_ns + round(i / thermal_hz * 1e9) for i in range(int(span * thermal_hz) + 1)
    ]
    messages: list[tuple[int, str, Any, str]] = []
    rw, rh = RGB_SIZE
    for i, t in enumerate(drive.rgb_stamps):
        level = 20 if dark_from is not None and i >= dark_from else 200
        rgb = np.clip(level + np.random.default_rng(i).integers(-10, 10, size=(rh, rw, 3)), 0, 255).astype(np.uint8)
        msg = image_t(header(t, "rgb"), rh, rw, "rgb8", 0, rw * 3, rgb.reshape(-1))
        messages.append((t, RGB_TOPIC, msg, "sensor_msgs/msg/Image"))
    tw, th = THERMAL_SIZE
    held = stop[0] - 1 if stop else -1
    for i, t in enumerate(drive.thermal_stamps):
        img = thermal_frame(held if i in stop else i)
        msg = image_t(header(t, "thermal"), th, tw, "mono16", 0, tw * 2, img.reshape(-1).view(np.uint8))
        messages.append((t, THERMAL_TOPIC, msg, "sensor_msgs/msg/Image"))
    if thermal_hfov_deg is not None:
        for topic, (w, h), hfov in ((THERMAL_INFO, THERMAL_SIZE, thermal_hfov_deg), (RGB_INFO, RGB_SIZE, 60.0)):
            f = w / (2 * math.tan(math.radians(hfov) / 2))
            k = np.array([f, 0, (w - 1) / 2, 0, f, (h - 1) / 2, 0, 0, 1], np.float64)
            p = np.array([f, 0, (w - 1) / 2, 0, 0, f, (h - 1) / 2, 0, 0, 0, 1, 0], np.float64)
            info = info_t(
                header(t0, "cam"),
                h,
                w,
                "plumb_bob",
                np.zeros(5),
                k,
                np.eye(3).reshape(-1),
                p,
                0,
                0,
                roi_t(0, 0, 0, 0, False),
            )
            messages.append((t0, topic, info, "sensor_msgs/msg/CameraInfo"))
    messages.sort(key=lambda m: m[0])
    with Writer(path, version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conns: dict[str, Any] = {}
        for t, topic, msg, msgtype in messages:
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(conns[topic], t + 2_000_000, store.serialize_cdr(msg, msgtype))
    return drive
