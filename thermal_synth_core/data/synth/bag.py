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
* ``/thermal/warm_mask``: ``sensor_msgs/msg/Image`` mono8, warm-object mask with the thermal stamps;
* with ``camera_info=True`` (``--camera-info``), :data:`BAG_INFO_TOPICS`: ``/camera/rgb/camera_info``
  and ``/thermal/camera_info`` (``sensor_msgs/msg/CameraInfo``, the ROS ``<namespace>/camera_info``
  convention), one per image with its stamp and frame_id: a centred pinhole, ``plumb_bob`` with zero
  distortion, focal from the middle of the world's focal range (the HFOV ``thermal_camera`` records).

Header stamps are the capture times; the bag's log times are a few ms later.
Beside ``metadata.yaml`` the bag folder holds ``ground_truth_alignment.yaml`` (the
RGB -> thermal alignment) and ``synth_info.json`` (rates, segments, counts).
The bag is written to a temporary folder and moved into place when complete.

Options the bag layout alone has (each leaves the output byte for byte as before when unset):

* ``rig`` (``--rig``, :data:`RIGS`): ``flir`` (FLIR v1 style, the default) or ``other``
  (:func:`~thermal_synth_core.data.synth.folders.other_rig_alignment`: another offset and scale,
  a 1.5 degree roll, a narrower thermal view). ``synth_info.json`` then says ``"rig": "other"``.
* ``stops`` (``--stops N``): N standstills of 1.5-3 s (whole thermal frame periods), each inside one
  street segment. The car stops exactly when a thermal frame is taken; that frame and the following
  ones until the car drives on show the same scene (the ego car, the other road users and the
  thermal camera's offset drift stand still), so they differ by sensor noise only.
  ``synth_info.json``'s ``stops`` lists each one's span and the stamps of the frames inside it.

All spans in ``synth_info.json`` (``segments`` with their ``night`` flag, ``stops``) are seconds on
the header-stamp clock after ``start_ns``: a frame stamped ``s`` ns lies at ``(s - start_ns) / 1e9``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from thermal_synth_core.align.transform import Alignment, AlignmentJson, scale_matrix
from thermal_synth_core.camera import CAMERA_INFO_TYPE, CameraInfoYaml, CameraModel
from thermal_synth_core.data.manifest import ThermalCameraJson
from thermal_synth_core.data.synth.folders import (
    GROUND_TRUTH_FILE,
    INFO_FILE,
    THERMAL_SIZE,
    V1_RGB_SIZE,
    SynthOptions,
    SynthResult,
    flir_v1_alignment,
    other_rig_alignment,
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
from thermal_synth_core.data.synth.world import FOCAL_RANGE, Scene, StreetLayout, random_layout
from thermal_synth_core.errors import DataError
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.ui import progress

__all__ = [
    "BAG_INFO_TOPICS",
    "BAG_RGB_SIZE",
    "BAG_TOPICS",
    "RIGS",
    "STORAGES",
    "BagInfoJson",
    "SegmentJson",
    "StopJson",
    "write_bag",
]

Size = tuple[int, int]

#: Topic names of the synthetic drive.
BAG_TOPICS = {
    "rgb": "/camera/rgb/image_raw",
    "rgb_compressed": "/camera/rgb/image_raw/compressed",
    "thermal": "/thermal/image_raw",
    "mask": "/thermal/warm_mask",
}
#: CameraInfo topics (``camera_info=True``): ``<namespace>/camera_info`` beside each camera's images.
BAG_INFO_TOPICS = {
    "rgb": "/camera/rgb/camera_info",
    "thermal": "/thermal/camera_info",
}
#: Frame ids in the message headers.
FRAME_IDS = {"rgb": "rgb_camera", "thermal": "thermal_camera"}
#: The rigs ``--rig`` offers: each gives the RGB (1800x1600 reference) -> thermal (640x512) alignment.
RIGS: dict[str, Callable[[], Alignment]] = {"flir": flir_v1_alignment, "other": other_rig_alignment}
BAG_RGB_SIZE: Size = (900, 800)
STORAGES = ("sqlite3", "mcap")
#: Seconds per street segment.
SEGMENT_SECONDS = 2.5
#: Epoch of the first stamp (2024-01-01T00:00:00Z): plausible wall-clock stamps.
START_NS = 1_704_067_200_000_000_000
#: Length of one standstill (s): drawn in this range, then rounded to whole thermal frame periods.
STOP_SECONDS = (1.5, 3.0)
#: A stop keeps this far (s of driving) from a segment's ends; two stops keep twice this apart.
STOP_MARGIN_S = 0.3


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
class _Stop:
    """A standstill: from ``start`` to ``end`` (s after START_NS) the drive's clock stands at ``motion``."""

    start: float
    end: float
    motion: float
    thermal: range  # thermal frames showing the stopped scene: the arrival, then its repeats


@dataclass(frozen=True)
class _Drive:
    """What happens when: street segments, and every camera frame as (time s, "rgb" | "thermal", index).

    Segments run on the drive's own clock (``motion``: seconds of driving), which stands still
    during each stop; frame times are stamps (s after START_NS). Without stops both clocks agree.
    """

    duration: float
    segments: list[_Segment]
    events: list[tuple[float, str, int]]
    gain: float  # the thermal camera's counts per kelvin
    stops: tuple[_Stop, ...] = ()

    def motion(self, t: float) -> float:
        """The drive's clock at stamp time ``t`` (s): ``t`` less the stops before it; frozen in a stop."""
        before = 0.0
        for stop in self.stops:
            if t < stop.start:
                break
            if t <= stop.end:
                return stop.motion
            before += stop.end - stop.start
        return t - before

    def stamp_time(self, motion: float) -> float:
        """The stamp time (s) at which the drive's clock reads ``motion`` (outside stops)."""
        return motion + sum(s.end - s.start for s in self.stops if s.motion < motion)

    def stop_of_thermal(self, idx: int) -> int | None:
        """The index of the stop whose scene thermal frame ``idx`` shows, if any."""
        return next((i for i, s in enumerate(self.stops) if idx in s.thermal), None)


@dataclass(frozen=True)
class _Rig:
    rgb_size: Size
    thermal_size: Size
    to_thermal: npt.NDArray[np.float64]  # reference RGB px (1800x1600) -> thermal px
    truth: Alignment
    cameras: dict[str, CameraModel]  # "rgb", "thermal": what the CameraInfo topics say


class SegmentJson(TypedDict):
    """One street segment in ``synth_info.json``'s ``segments`` (seconds after ``start_ns`` on the stamp clock)."""

    start_s: float
    end_s: float
    night: bool


class StopJson(TypedDict):
    """One standstill in ``synth_info.json``'s ``stops`` (seconds after ``start_ns`` on the stamp clock)."""

    start_s: float
    end_s: float
    #: Thermal frames showing the stopped scene: the first arrives (a full frame of driving after its
    #: predecessor), every further one repeats it apart from sensor noise.
    thermal_stamps_ns: list[int]
    #: RGB frames stamped within [start_s, end_s] (the scene stands still for them too).
    rgb_stamps_ns: list[int]


class BagInfoJson(TypedDict):
    """``synth_info.json`` of a bag; the keys marked NotRequired appear only with the options that add them."""

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
    segments: list[SegmentJson]
    counts: dict[str, int]
    alignment: AlignmentJson
    thermal_camera: ThermalCameraJson
    rig: NotRequired[str]  # --rig other
    stops: NotRequired[list[StopJson]]  # --stops N
    camera_info: NotRequired[dict[str, CameraInfoYaml]]  # --camera-info: "rgb", "thermal"


def _rig(out: Path, options: SynthOptions) -> _Rig:
    """Check the options (nothing is written yet) and derive the rig's sizes and transform."""
    if options.storage not in STORAGES:
        raise DataError(f"unknown bag storage {options.storage!r}; valid: {', '.join(STORAGES)}")
    if out.exists():
        raise DataError(f"{out} exists already; rosbag2 writers never overwrite (choose another --out or pass --force)")
    if options.rgb_rate <= 0 or options.thermal_rate <= 0:
        raise DataError("--rgb-rate and --thermal-rate must be positive")
    if options.rig not in RIGS:
        raise DataError(f"unknown rig {options.rig!r}; valid: {', '.join(RIGS)}")
    if options.stops < 0:
        raise DataError(f"--stops must be 0 or more, got {options.stops}")
    rgb_size = options.rgb_size or BAG_RGB_SIZE
    thermal_size = options.thermal_size or THERMAL_SIZE
    if abs((rgb_size[0] / rgb_size[1]) / (V1_RGB_SIZE[0] / V1_RGB_SIZE[1]) - 1.0) > 0.01:
        raise DataError(f"--rgb-size {rgb_size[0]}x{rgb_size[1]} must keep the 1800x1600 (9:8) aspect ratio of the rig")
    rig = RIGS[options.rig]()
    to_thermal = scale_matrix(THERMAL_SIZE, thermal_size) @ rig.as_array()
    truth = Alignment.from_matrix(to_thermal, V1_RGB_SIZE, thermal_size, rig.method)
    return _Rig(rgb_size, thermal_size, to_thermal, truth, _cameras(rgb_size, to_thermal, thermal_size))


def _cameras(rgb_size: Size, to_thermal: npt.NDArray[np.float64], thermal_size: Size) -> dict[str, CameraModel]:
    """Centred pinholes with no distortion, focal from the middle of the world's focal range (as ``thermal_camera``).

    The world is drawn through a pinhole of focal FOCAL_RANGE x the reference width; the RGB image is
    a rescale of the reference frame and ``to_thermal`` scales it into the thermal frame per axis.
    """
    ref_focal = V1_RGB_SIZE[0] * sum(FOCAL_RANGE) / 2.0
    focal = {
        "rgb": (ref_focal * rgb_size[0] / V1_RGB_SIZE[0], ref_focal * rgb_size[1] / V1_RGB_SIZE[1]),
        "thermal": (
            ref_focal * float(np.hypot(to_thermal[0, 0], to_thermal[1, 0])),
            ref_focal * float(np.hypot(to_thermal[0, 1], to_thermal[1, 1])),
        ),
    }
    out = {}
    for name, (w, h) in (("rgb", rgb_size), ("thermal", thermal_size)):
        fx, fy = focal[name]
        k = (fx, 0.0, (w - 1) / 2.0, 0.0, fy, (h - 1) / 2.0, 0.0, 0.0, 1.0)
        out[name] = CameraModel(w, h, k, (0.0,) * 5, "plumb_bob", frame_id=FRAME_IDS[name], source="synth-data")
    return out


def _drive(options: SynthOptions) -> _Drive:
    """The drive's segments, the cameras' frame times (with stamp jitter), stops and the thermal gain, from the seed."""
    rng = np.random.default_rng([options.seed, 4004])
    stop_rng = np.random.default_rng([options.seed, 4006])  # its own stream: no stops, the drive of old
    n_rgb = options.n
    duration = n_rgb / options.rgb_rate
    periods = [
        max(2, round(float(stop_rng.uniform(*STOP_SECONDS)) * options.thermal_rate)) for _ in range(options.stops)
    ]
    stopped = sum(periods) / options.thermal_rate
    if stopped and duration - stopped < stopped:
        need = math.ceil(2 * stopped * options.rgb_rate)
        raise DataError(
            f"--stops {options.stops} needs a longer drive: the stops take {stopped:.1f} s of {duration:.1f} s and "
            f"at least half of it must be driving; pass --n {need} or more"
        )
    segments = _segments(rng, duration - stopped if stopped else duration, options.night_fraction)
    events: list[tuple[float, str, int]] = []
    for k in range(n_rgb):
        events.append((k / options.rgb_rate + float(rng.uniform(-0.002, 0.002)), "rgb", k))
    j, t0 = 0, float(rng.uniform(0.01, 0.05))
    while (t := t0 + j / options.thermal_rate) < duration:
        events.append((max(t + float(rng.uniform(-0.003, 0.003)), 0.0), "thermal", j))
        j += 1
    events.sort()
    gain = RAW_PER_K * float(rng.uniform(0.97, 1.03))
    stops = _place_stops(stop_rng, segments, periods, t0, 1.0 / options.thermal_rate) if periods else ()
    return _Drive(duration, segments, events, gain, stops)


def _place_stops(
    rng: np.random.Generator, segments: list[_Segment], periods: list[int], t0: float, period: float
) -> tuple[_Stop, ...]:
    """Stops of ``periods`` thermal frame periods each, at thermal frame times inside segments.

    A stop starts at the stamp of a thermal frame (frame ``m`` of the drive without stops, at
    ``t0 + m * period`` of driving), so that frame and the next ``periods`` ones show one scene,
    and the frames after the stop fall on the same driving times as without it. Stops prefer
    segments that have none yet and keep :data:`STOP_MARGIN_S` from segment ends.
    """
    candidates: list[tuple[int, int]] = []  # (segment, thermal frame m of the drive without stops)
    for si, seg in enumerate(segments):
        first = math.ceil((seg.start + STOP_MARGIN_S - t0) / period)
        last = math.floor((seg.end - STOP_MARGIN_S - t0) / period)
        candidates += [(si, m) for m in range(max(first, 0), last + 1)]
    chosen: list[tuple[int, int]] = []
    for _ in periods:
        pool = [c for c in candidates if all(abs(c[1] - m) * period >= 2 * STOP_MARGIN_S for _, m in chosen)]
        fresh = [c for c in pool if c[0] not in {si for si, _ in chosen}]
        pool = fresh or pool
        if not pool:
            raise DataError(f"no room for {len(periods)} stops in this drive; pass a larger --n or fewer --stops")
        chosen.append(pool[int(rng.integers(len(pool)))])
    stops: list[_Stop] = []
    frames_before = 0  # thermal frame periods spent standing before this stop
    for (_, m), k in zip(sorted(chosen, key=lambda c: c[1]), periods, strict=True):
        motion = t0 + m * period
        start = motion + frames_before * period
        stops.append(_Stop(start, start + k * period, motion, range(m + frames_before, m + frames_before + k + 1)))
        frames_before += k
    return tuple(stops)


class _BagWriter:
    """Renders the drive's frames into an open rosbag2 writer, one message per camera frame (plus masks)."""

    IMAGE = "sensor_msgs/msg/Image"
    COMPRESSED = "sensor_msgs/msg/CompressedImage"
    CAMERA_INFO = CAMERA_INFO_TYPE

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
        if options.camera_info:
            for name, topic in BAG_INFO_TOPICS.items():
                self.conns[f"{name}_info"] = writer.add_connection(topic, self.CAMERA_INFO, typestore=self.ts)
        self.counts = {"rgb": 0, "thermal": 0}

    def write_all(self) -> None:
        """Every frame of the drive, in time order."""
        drive = self.drive
        for t, kind, idx in progress(drive.events, total=len(drive.events), desc="synth bag", unit="msg"):
            stop = drive.stop_of_thermal(idx) if kind == "thermal" and drive.stops else None
            # A thermal frame of a stop shows the stop's scene exactly, even when its stamp jitters out of it.
            motion = drive.motion(t) if stop is None else drive.stops[stop].motion
            seg, local = _at(drive.segments, motion)
            scene = seg.layout.scene_at(local)
            frame_rng = np.random.default_rng([self.options.seed, 4005, idx, 0 if kind == "rgb" else 1])
            stamp = START_NS + round(t * 1e9)
            log_time = stamp + round(float(frame_rng.uniform(0.004, 0.015)) * 1e9)
            if kind == "rgb":
                self._rgb(scene, frame_rng, stamp, log_time)
            else:
                # The surface texture is drawn per frame; in a stop it is the stop's, so only sensor noise changes.
                texture_rng = frame_rng if stop is None else np.random.default_rng([self.options.seed, 4007, stop])
                self._thermal(scene, (texture_rng, frame_rng), stamp, log_time, motion)
            if self.options.camera_info:
                self._camera_info(kind, stamp, log_time)

    def _camera_info(self, kind: str, stamp: int, log_time: int) -> None:
        """The CameraInfo of camera ``kind`` with the image's stamp, frame_id and log time."""
        ts, camera = self.ts, self.rig.cameras[kind]
        msg = camera.to_msg(ts.types, stamp, camera.frame_id)
        self.writer.write(self.conns[f"{kind}_info"], log_time, ts.serialize_cdr(msg, self.CAMERA_INFO))

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

    def _thermal(
        self,
        scene: Scene,
        rngs: tuple[np.random.Generator, np.random.Generator],
        stamp: int,
        log_time: int,
        t: float,
    ) -> None:
        """One thermal frame and its mask; ``rngs``: (surface texture, sensor noise), ``t`` the drive's clock."""
        ts, rig = self.ts, self.rig
        texture_rng, frame_rng = rngs
        temp = render_temperature(scene, rig.to_thermal, rig.thermal_size, texture_rng)
        # Slow offset drift (a real camera's flat-field corrections), not per-frame jumps.
        offset = RAW_AT_0C + 80.0 * math.sin(t / 7.0)
        raw = temperature_to_counts(temp, frame_rng, offset=offset, gain=self.drive.gain)
        thermal_msg = _image(ts, stamp, FRAME_IDS["thermal"], raw, "mono16")
        self.writer.write(self.conns["thermal"], log_time, ts.serialize_cdr(thermal_msg, self.IMAGE))
        mask = render_mask(scene, rig.to_thermal, rig.thermal_size)
        mask_msg = _image(ts, stamp, FRAME_IDS["thermal"], mask, "mono8")
        self.writer.write(self.conns["mask"], log_time, ts.serialize_cdr(mask_msg, self.IMAGE))
        self.counts["thermal"] += 1


def _stops_json(drive: _Drive) -> list[StopJson]:
    out: list[StopJson] = []
    for i, stop in enumerate(drive.stops):
        thermal = [
            START_NS + round(t * 1e9) for t, kind, idx in drive.events if kind == "thermal" and idx in stop.thermal
        ]
        rgb = [
            START_NS + round(t * 1e9) for t, kind, _ in drive.events if kind == "rgb" and stop.start <= t <= stop.end
        ]
        assert len(thermal) == len(stop.thermal), f"stop {i}: thermal frames past the drive's end"
        out.append({"start_s": stop.start, "end_s": stop.end, "thermal_stamps_ns": thermal, "rgb_stamps_ns": rgb})
    return out


def _info(options: SynthOptions, rig: _Rig, drive: _Drive, counts: dict[str, int]) -> BagInfoJson:
    topics = BAG_TOPICS if options.compressed else {k: v for k, v in BAG_TOPICS.items() if k != "rgb_compressed"}
    if options.camera_info:
        topics = {**topics, **{f"{k}_info": v for k, v in BAG_INFO_TOPICS.items()}}
    info: BagInfoJson = {
        "generator": "thermal-synth synth-data --layout bag",
        "storage": options.storage,
        "topics": topics,
        "frame_ids": FRAME_IDS,
        "rgb_size": list(rig.rgb_size),
        "thermal_size": list(rig.thermal_size),
        "rgb_rate_hz": options.rgb_rate,
        "thermal_rate_hz": options.thermal_rate,
        "start_ns": START_NS,
        "duration_s": drive.duration,
        "segments": [
            {"start_s": drive.stamp_time(s.start), "end_s": drive.stamp_time(s.end), "night": s.night}
            for s in drive.segments
        ],
        "counts": counts,
        "alignment": rig.truth.to_dict(),
        "thermal_camera": rig_thermal_camera(V1_RGB_SIZE[0], rig.to_thermal, rig.thermal_size[0]),
    }
    if options.rig != "flir":
        info["rig"] = options.rig
    if drive.stops:
        info["stops"] = _stops_json(drive)
    if options.camera_info:
        info["camera_info"] = {name: cam.to_yaml_dict(FRAME_IDS[name]) for name, cam in rig.cameras.items()}
    return info


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
            **({"rig": options.rig} if options.rig != "flir" else {}),
            **({"stops": len(drive.stops)} if drive.stops else {}),
        },
    )
