"""A rosbag2 of a short synthetic drive: RGB camera, real thermal camera and warm-object masks.

The drive goes through a few street segments, day ones then night ones; in each
the ego vehicle moves forward while pedestrians walk and other cars drive, so
consecutive frames are consistent. The two cameras run at different rates
(default RGB 10 Hz, thermal 9 Hz) with a little stamp jitter, like two real
cameras that are not hardware-synchronised.

Topics (see :data:`BAG_TOPICS`):

* ``/camera/rgb/image_raw``: ``sensor_msgs/msg/Image`` rgb8 at the RGB size
  (default 900x800: half the alignment's 1800x1600 reference, same aspect ratio);
* ``/camera/rgb/image_raw/compressed``: ``sensor_msgs/msg/CompressedImage`` JPEG (``compressed=True``);
* ``/thermal/image_raw``: ``sensor_msgs/msg/Image`` mono16, 14-bit radiometric counts;
* ``/thermal/warm_mask``: ``sensor_msgs/msg/Image`` mono8, warm-object mask with the thermal stamps.

Header stamps are the capture times; the bag's log times are a few ms later.
Beside ``metadata.yaml`` the bag folder holds ``ground_truth_alignment.yaml`` (the
RGB -> thermal alignment) and ``synth_info.json`` (rates, segments, counts).
The bag is written to a temporary folder and moved into place when complete.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from thermal_synth_core.align.transform import Alignment, AlignmentJson, scale_matrix
from thermal_synth_core.data.manifest import ThermalCameraJson
from thermal_synth_core.data.synth.folders import (
    GROUND_TRUTH_FILE,
    INFO_FILE,
    THERMAL_SIZE,
    V1_RGB_SIZE,
    SynthOptions,
    SynthResult,
    flir_v1_alignment,
    rig_thermal_camera,
)
from thermal_synth_core.data.synth.render import (
    RAW_AT_0C,
    RAW_PER_K,
    render_mask,
    render_rgb,
    render_temperature,
    temperature_to_counts,
)
from thermal_synth_core.data.synth.world import Scene, StreetLayout, random_layout
from thermal_synth_core.errors import DataError
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.ui import progress

__all__ = ["BAG_RGB_SIZE", "BAG_TOPICS", "STORAGES", "write_bag"]

Size = tuple[int, int]

#: Topic names of the synthetic drive.
BAG_TOPICS = {
    "rgb": "/camera/rgb/image_raw",
    "rgb_compressed": "/camera/rgb/image_raw/compressed",
    "thermal": "/thermal/image_raw",
    "mask": "/thermal/warm_mask",
}
#: Frame ids in the message headers.
FRAME_IDS = {"rgb": "rgb_camera", "thermal": "thermal_camera"}
BAG_RGB_SIZE: Size = (900, 800)
STORAGES = ("sqlite3", "mcap")
#: Seconds per street segment.
SEGMENT_SECONDS = 2.5
#: Epoch of the first stamp (2024-01-01T00:00:00Z): plausible wall-clock stamps.
START_NS = 1_704_067_200_000_000_000


@dataclass(frozen=True)
class _Segment:
    start: float
    end: float
    night: bool
    layout: StreetLayout


def _segments(rng: np.random.Generator, duration: float, night_fraction: float) -> list[_Segment]:
    count = max(1, round(duration / SEGMENT_SECONDS))
    if 0.0 < night_fraction < 1.0 and duration >= 1.0:
        count = max(count, 2)  # a short drive still gets a day and a night segment
    nights = round(count * night_fraction)
    if count >= 2 and 0.0 < night_fraction < 1.0:
        nights = min(max(nights, 1), count - 1)  # both day and night whenever there is room
    out = []
    for i in range(count):
        night = i >= count - nights  # day first, then into the night
        layout = random_layout(rng, V1_RGB_SIZE, night, ego_speed=float(rng.uniform(6.0, 11.0)))
        out.append(_Segment(duration * i / count, duration * (i + 1) / count, night, layout))
    return out


def _at(segments: list[_Segment], t: float) -> tuple[_Segment, float]:
    for seg in segments:
        if t < seg.end:
            return seg, t - seg.start
    return segments[-1], t - segments[-1].start


def _stamp(ts: Any, t_ns: int) -> Any:
    return ts.types["builtin_interfaces/msg/Time"](sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)


def _image(ts: Any, t_ns: int, frame_id: str, arr: npt.NDArray[Any], encoding: str) -> Any:
    header = ts.types["std_msgs/msg/Header"](stamp=_stamp(ts, t_ns), frame_id=frame_id)
    h, w = arr.shape[:2]
    data = np.frombuffer(
        np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(), dtype=np.uint8
    )
    return ts.types["sensor_msgs/msg/Image"](
        header=header,
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=w * arr.itemsize * (arr.shape[2] if arr.ndim == 3 else 1),
        data=data,
    )


@dataclass(frozen=True)
class _Drive:
    """What happens when: street segments, and every camera frame as (time s, "rgb" | "thermal", index)."""

    duration: float
    segments: list[_Segment]
    events: list[tuple[float, str, int]]
    gain: float  # the thermal camera's counts per kelvin


@dataclass(frozen=True)
class _Rig:
    rgb_size: Size
    thermal_size: Size
    to_thermal: npt.NDArray[np.float64]  # reference RGB px (1800x1600) -> thermal px
    truth: Alignment


class _BagInfo(TypedDict):
    """``synth_info.json`` of a bag."""

    generator: str
    storage: str
    topics: dict[str, str]
    frame_ids: dict[str, str]
    rgb_size: list[int]
    thermal_size: list[int]
    rgb_rate_hz: float
    thermal_rate_hz: float
    start_ns: int
    duration_s: float
    segments: list[dict[str, float | bool]]
    counts: dict[str, int]
    alignment: AlignmentJson
    thermal_camera: ThermalCameraJson


def _rig(out: Path, options: SynthOptions) -> _Rig:
    """Check the options (nothing is written yet) and derive the rig's sizes and transform."""
    if options.storage not in STORAGES:
        raise DataError(f"unknown bag storage {options.storage!r}; valid: {', '.join(STORAGES)}")
    if out.exists():
        raise DataError(f"{out} exists already; rosbag2 writers never overwrite (choose another --out or pass --force)")
    if options.rgb_rate <= 0 or options.thermal_rate <= 0:
        raise DataError("--rgb-rate and --thermal-rate must be positive")
    rgb_size = options.rgb_size or BAG_RGB_SIZE
    thermal_size = options.thermal_size or THERMAL_SIZE
    if abs((rgb_size[0] / rgb_size[1]) / (V1_RGB_SIZE[0] / V1_RGB_SIZE[1]) - 1.0) > 0.01:
        raise DataError(f"--rgb-size {rgb_size[0]}x{rgb_size[1]} must keep the 1800x1600 (9:8) aspect ratio of the rig")
    rig = flir_v1_alignment()
    to_thermal = scale_matrix(THERMAL_SIZE, thermal_size) @ rig.as_array()
    truth = Alignment.from_matrix(to_thermal, V1_RGB_SIZE, thermal_size, rig.method)
    return _Rig(rgb_size, thermal_size, to_thermal, truth)


def _drive(options: SynthOptions) -> _Drive:
    """The drive's segments, the cameras' frame times (with stamp jitter) and the thermal gain, from the seed."""
    rng = np.random.default_rng([options.seed, 4004])
    n_rgb = options.n
    duration = n_rgb / options.rgb_rate
    segments = _segments(rng, duration, options.night_fraction)
    events: list[tuple[float, str, int]] = []
    for k in range(n_rgb):
        events.append((k / options.rgb_rate + float(rng.uniform(-0.002, 0.002)), "rgb", k))
    j, t0 = 0, float(rng.uniform(0.01, 0.05))
    while (t := t0 + j / options.thermal_rate) < duration:
        events.append((max(t + float(rng.uniform(-0.003, 0.003)), 0.0), "thermal", j))
        j += 1
    events.sort()
    gain = RAW_PER_K * float(rng.uniform(0.97, 1.03))
    return _Drive(duration, segments, events, gain)


class _BagWriter:
    """Renders the drive's frames into an open rosbag2 writer, one message per camera frame (plus masks)."""

    IMAGE = "sensor_msgs/msg/Image"
    COMPRESSED = "sensor_msgs/msg/CompressedImage"

    def __init__(self, writer: Writer, options: SynthOptions, rig: _Rig, drive: _Drive) -> None:
        self.writer, self.options, self.rig, self.drive = writer, options, rig, drive
        self.ts = get_typestore(Stores.ROS2_KILTED)
        self.conns = {
            "rgb": writer.add_connection(BAG_TOPICS["rgb"], self.IMAGE, typestore=self.ts),
            "thermal": writer.add_connection(BAG_TOPICS["thermal"], self.IMAGE, typestore=self.ts),
            "mask": writer.add_connection(BAG_TOPICS["mask"], self.IMAGE, typestore=self.ts),
        }
        if options.compressed:
            self.conns["rgb_compressed"] = writer.add_connection(
                BAG_TOPICS["rgb_compressed"], self.COMPRESSED, typestore=self.ts
            )
        self.counts = {"rgb": 0, "thermal": 0}

    def write_all(self) -> None:
        """Every frame of the drive, in time order."""
        for t, kind, idx in progress(self.drive.events, total=len(self.drive.events), desc="synth bag", unit="msg"):
            seg, local = _at(self.drive.segments, t)
            scene = seg.layout.scene_at(local)
            frame_rng = np.random.default_rng([self.options.seed, 4005, idx, 0 if kind == "rgb" else 1])
            stamp = START_NS + round(t * 1e9)
            log_time = stamp + round(float(frame_rng.uniform(0.004, 0.015)) * 1e9)
            if kind == "rgb":
                self._rgb(scene, frame_rng, stamp, log_time)
            else:
                self._thermal(scene, frame_rng, stamp, log_time, t)

    def _rgb(self, scene: Scene, frame_rng: np.random.Generator, stamp: int, log_time: int) -> None:
        ts = self.ts
        rgb = render_rgb(scene, self.rig.rgb_size, frame_rng)
        msg = _image(ts, stamp, FRAME_IDS["rgb"], rgb, "rgb8")
        self.writer.write(self.conns["rgb"], log_time, ts.serialize_cdr(msg, self.IMAGE))
        if self.options.compressed:
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok
            header = ts.types["std_msgs/msg/Header"](stamp=_stamp(ts, stamp), frame_id=FRAME_IDS["rgb"])
            cmsg = ts.types[self.COMPRESSED](
                header=header,
                format="rgb8; jpeg compressed bgr8",
                data=np.asarray(jpg, dtype=np.uint8).ravel(),
            )
            self.writer.write(self.conns["rgb_compressed"], log_time, ts.serialize_cdr(cmsg, self.COMPRESSED))
        self.counts["rgb"] += 1

    def _thermal(self, scene: Scene, frame_rng: np.random.Generator, stamp: int, log_time: int, t: float) -> None:
        ts, rig = self.ts, self.rig
        temp = render_temperature(scene, rig.to_thermal, rig.thermal_size, frame_rng)
        # Slow offset drift (a real camera's flat-field corrections), not per-frame jumps.
        offset = RAW_AT_0C + 80.0 * math.sin(t / 7.0)
        raw = temperature_to_counts(temp, frame_rng, offset=offset, gain=self.drive.gain)
        thermal_msg = _image(ts, stamp, FRAME_IDS["thermal"], raw, "mono16")
        self.writer.write(self.conns["thermal"], log_time, ts.serialize_cdr(thermal_msg, self.IMAGE))
        mask = render_mask(scene, rig.to_thermal, rig.thermal_size)
        mask_msg = _image(ts, stamp, FRAME_IDS["thermal"], mask, "mono8")
        self.writer.write(self.conns["mask"], log_time, ts.serialize_cdr(mask_msg, self.IMAGE))
        self.counts["thermal"] += 1


def _info(options: SynthOptions, rig: _Rig, drive: _Drive, counts: dict[str, int]) -> _BagInfo:
    return {
        "generator": "thermal-synth synth-data --layout bag",
        "storage": options.storage,
        "topics": BAG_TOPICS if options.compressed else {k: v for k, v in BAG_TOPICS.items() if k != "rgb_compressed"},
        "frame_ids": FRAME_IDS,
        "rgb_size": list(rig.rgb_size),
        "thermal_size": list(rig.thermal_size),
        "rgb_rate_hz": options.rgb_rate,
        "thermal_rate_hz": options.thermal_rate,
        "start_ns": START_NS,
        "duration_s": drive.duration,
        "segments": [{"start_s": s.start, "end_s": s.end, "night": s.night} for s in drive.segments],
        "counts": counts,
        "alignment": rig.truth.to_dict(),
        "thermal_camera": rig_thermal_camera(V1_RGB_SIZE[0], rig.to_thermal, rig.thermal_size[0]),
    }


def write_bag(out: str | Path, options: SynthOptions) -> SynthResult:
    """Write the synthetic drive to the rosbag2 folder ``out`` (which must not exist yet)."""
    out = Path(out)
    rig = _rig(out, options)
    drive = _drive(options)
    storage = StoragePlugin.MCAP if options.storage == "mcap" else StoragePlugin.SQLITE3
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        bag_dir = staging / out.name
        with Writer(bag_dir, version=9, storage_plugin=storage) as writer:
            frames = _BagWriter(writer, options, rig, drive)
            frames.write_all()
        counts = frames.counts
        rig.truth.save(bag_dir / GROUND_TRUTH_FILE)
        atomic_write_json(bag_dir / INFO_FILE, _info(options, rig, drive, counts))
        bag_dir.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SynthResult(
        out=out,
        layout="bag",
        rgb_frames=counts["rgb"],
        thermal_frames=counts["thermal"],
        pairs=0,
        alignment=rig.truth,
        extra={
            "storage": options.storage,
            "segments": len(drive.segments),
            "nights": sum(s.night for s in drive.segments),
        },
    )
