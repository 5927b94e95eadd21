"""A recorded drive (rosbags) as a dataset: pair, select and extract frames for ``prepare`` and ``align``.

A vehicle with both cameras records bags, not dataset folders. This module
turns one or more bags into a ``pairs`` folder that the dataset machinery reads
(:mod:`~thermal_synth_core.data.prepare`, :mod:`~thermal_synth_core.data.rig`):

1. **Stamps** (one cheap pass per bag, :class:`~thermal_synth_core.bagreader.BagSource`):
   the header stamps of the RGB and thermal topics (16 bytes a frame; no image is
   decoded). RGB frames are paired with thermal frames by the nearest header
   stamp within ``slop`` seconds, each thermal frame used at most once: the rule
   of the node and of ``evaluate`` (:func:`~thermal_synth_core.sync.pair_nearest`).
2. **Selection**: ``stride_s`` keeps at most one pair per interval (a pair is a
   candidate when its RGB stamp is at least ``stride_s`` after the previous
   candidate's), then a standstill test drops a candidate whose thermal frame,
   downscaled to :data:`STANDSTILL_WIDTH` px and AGC-normalised, differs from the
   last kept one by a mean absolute difference under :data:`STANDSTILL_THRESHOLD`
   (the car stands still: the frame adds nothing but weight). Each pair is tagged
   ``night`` when the RGB frame's mean brightness (0-255) is under
   :data:`NIGHT_BRIGHTNESS`, else ``day``.
3. **Split** without leaks: with several bags, whole bags go to ``val``; with one,
   blocks of ``block_s`` seconds do. ``val_fraction`` of them, evenly spaced
   (item ``i`` is ``val`` when ``floor((i+1) f) > floor(i f)``), at least one
   when there are two or more. Never frame by frame: neighbouring frames of a
   drive are near copies.
4. **Extraction** (a second pass, decoding only the candidates and holding only
   the messages of pairs whose other half has not arrived yet, so memory stays
   bounded whatever the drive's length): ``<split>/rgb/<id>.png`` (RGB as
   recorded) and ``<split>/thermal16/<id>.png`` (mono16/16UC1) or
   ``<split>/thermal/<id>.png`` (mono8), ``id`` = ``<bag name>_<RGB stamp ns>``,
   each file written atomically, thermal first, so a pair is done when its RGB
   file exists and a re-run skips it. With ``workers`` > 1 the PNG encoding and
   writing (most of the work) run on a pool of that many threads (OpenCV's encoder
   and the file system calls release the GIL) fed through a bounded queue, while
   reading, decoding and the standstill test stay in order in the calling thread:
   the output is the same whatever the worker count. :data:`EXTRACTION_NAME` records every pair
   (bag, stamps, split, block, condition), the skips by reason, the bags (with any
   damage) and their CameraInfos.

A bag that breaks part-way keeps the pairs read before the damage and records
the damage; :func:`prepare_drive` prepares them and then raises a
:class:`~thermal_synth_core.errors.BagError` naming the bag and what to do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import shutil
import tempfile
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core import imagemsg
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.bagreader import BagReadError, BagSource, Record
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.data.imageio import write_image
from thermal_synth_core.data.manifest import (
    CameraInfoJson,
    CameraInfoRecord,
    DriveBag,
    DriveBagJson,
    DriveSource,
    read_manifest,
    write_manifest,
)
from thermal_synth_core.data.prepare import PrepareOptions, PrepareResult, prepare_dataset
from thermal_synth_core.errors import BagError, DataError
from thermal_synth_core.fileio import atomic_write_json, remove_partials
from thermal_synth_core.sync import pair_nearest, seconds_to_ns
from thermal_synth_core.ui import progress

__all__ = [
    "EXTRACTION_NAME",
    "EXTRACT_DIR",
    "NIGHT_BRIGHTNESS",
    "SKIP_REASONS",
    "STANDSTILL_THRESHOLD",
    "STANDSTILL_WIDTH",
    "DriveOptions",
    "DrivePair",
    "DrivePrepareResult",
    "Extraction",
    "brightness",
    "extract_drive",
    "info_topic_of",
    "lighting",
    "prepare_drive",
    "sampled_pairs",
    "val_items",
]

log = logging.getLogger(__name__)

#: Mean brightness (0-255, over the RGB frame's gray levels) under which a pair is tagged ``night``.
NIGHT_BRIGHTNESS: Final = 60.0


def brightness(rgb: npt.NDArray[np.uint8]) -> float:
    """The RGB frame's mean gray level (0-255)."""
    return float(np.mean(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))


def lighting(level: float) -> str:
    """``night`` when a frame's mean gray level is under :data:`NIGHT_BRIGHTNESS`, else ``day``."""
    return "night" if level < NIGHT_BRIGHTNESS else "day"


#: Width (px) the thermal frame is downscaled to for the standstill test.
STANDSTILL_WIDTH: Final = 64
#: Mean absolute difference (AGC-normalised, 0-1) under which a thermal frame repeats the last kept one.
STANDSTILL_THRESHOLD: Final = 0.01
#: The folder under ``prepare --out`` that holds the extracted (unaligned) pairs.
EXTRACT_DIR: Final = "extracted"
#: The extraction's record, in the extracted folder.
EXTRACTION_NAME: Final = "extraction.json"
SETTINGS_NAME: Final = ".extract-settings.json"
EXTRACTION_SCHEMA: Final = "thermal-synth.drive-extraction"

IMAGE: Final = "sensor_msgs/msg/Image"
COMPRESSED: Final = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO: Final = "sensor_msgs/msg/CameraInfo"
IMAGE_TYPES: Final = (IMAGE, COMPRESSED)

#: Why a frame of a bag was not extracted, by reason code.
SKIP_REASONS: Final[dict[str, str]] = {
    "unpaired_rgb": "RGB frame with no thermal frame within --slop (or the thermal frame went to a nearer RGB frame)",
    "unpaired_thermal": "thermal frame not paired with any RGB frame",
    "stride": "pair within --stride-s of the previous selected pair",
    "standstill": f"thermal frame nearly identical to the last kept one (mean abs. difference < "
    f"{STANDSTILL_THRESHOLD:g} at {STANDSTILL_WIDTH} px wide, AGC-normalised): the vehicle stands still",
    "undecodable_rgb": "RGB message could not be decoded",
    "undecodable_thermal": "thermal message could not be decoded (or is not 8/16-bit)",
    "not_sampled": "not among the pairs sampled (align: --max-frames / --n)",
}


@dataclass(frozen=True)
class DriveOptions:
    """Which bags and topics make the dataset, and how frames are selected and split (see the module doc)."""

    bags: tuple[Path, ...]
    rgb_topic: str
    thermal_topic: str
    slop: float = 0.05
    stride_s: float = 0.0
    block_s: float = 30.0
    val_fraction: float = 0.2
    rgb_info_topic: str | None = None
    thermal_info_topic: str | None = None
    standstill: float = STANDSTILL_THRESHOLD  # 0 keeps standing frames
    max_pairs: int | None = None  # an evenly spaced sample (align), None: every selected pair

    def check(self) -> DriveOptions:
        """Refuse bad options before any bag is read."""
        if not self.bags:
            raise DataError("give at least one --bag")
        for name, value in (("--slop", self.slop), ("--stride-s", self.stride_s), ("standstill", self.standstill)):
            if not math.isfinite(value) or value < 0:
                raise DataError(f"{name} must be a number >= 0, got {value}")
        if not math.isfinite(self.block_s) or self.block_s <= 0:
            raise DataError(f"--block-s must be > 0 seconds, got {self.block_s}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise DataError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")
        if self.rgb_topic.strip("/") == self.thermal_topic.strip("/"):
            raise DataError(f"--rgb-topic and --thermal-topic are both {self.rgb_topic}")
        return self

    def settings(self) -> dict[str, object]:
        """What decides the extracted frames; a re-run into the same folder must use the same."""
        return {
            "bags": [str(p.resolve()) for p in self.bags],
            "rgb_topic": self.rgb_topic,
            "thermal_topic": self.thermal_topic,
            "slop_s": self.slop,
            "stride_s": self.stride_s,
            "block_s": self.block_s,
            "val_fraction": self.val_fraction,
            "standstill_threshold": self.standstill,
            "night_brightness": NIGHT_BRIGHTNESS,
            "max_pairs": self.max_pairs,
        }


# -- the documents -------------------------------------------------------------------------------


class DrivePairJson(TypedDict):
    """One extracted pair in :data:`EXTRACTION_NAME`."""

    id: str
    bag: str
    split: str
    block: int
    rgb_stamp_ns: int
    thermal_stamp_ns: int
    brightness: float
    condition: str


class ExtractionJson(TypedDict):
    """:data:`EXTRACTION_NAME`: what was extracted from which bags, and what was skipped and why."""

    schema: str
    version: int
    settings: dict[str, object]  # free-form: the options as given (DriveOptions.settings)
    split_by: str
    bags: list[DriveBagJson]
    camera_info: dict[str, CameraInfoJson]
    counts: dict[str, int]
    skipped_by_reason: dict[str, int]
    reasons: dict[str, str]
    pairs: list[DrivePairJson]


@dataclass(frozen=True)
class DrivePair:
    """One extracted pair: its id, bag, split, time block, stamps, RGB brightness and condition."""

    frame_id: str
    bag: str
    split: str
    block: int
    rgb_stamp_ns: int
    thermal_stamp_ns: int
    brightness: float
    condition: str

    def to_json(self) -> DrivePairJson:
        """The extraction record's entry."""
        return {
            "id": self.frame_id,
            "bag": self.bag,
            "split": self.split,
            "block": self.block,
            "rgb_stamp_ns": self.rgb_stamp_ns,
            "thermal_stamp_ns": self.thermal_stamp_ns,
            "brightness": round(self.brightness, 3),
            "condition": self.condition,
        }

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> DrivePair:
        """Parse one entry (DataError when malformed)."""
        try:
            return cls(
                str(item["id"]),
                str(item["bag"]),
                str(item["split"]),
                int(item["block"]),
                int(item["rgb_stamp_ns"]),
                int(item["thermal_stamp_ns"]),
                float(item["brightness"]),
                str(item["condition"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{EXTRACTION_NAME}: malformed pair entry {item!r}: {exc}") from None


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract_drive` wrote under ``root`` (the record is ``root/extraction.json``)."""

    root: Path
    settings: Mapping[str, object]  # free-form: DriveOptions.settings as given
    split_by: str
    bags: tuple[DriveBag, ...]
    camera_info: Mapping[str, CameraInfoRecord]
    pairs: tuple[DrivePair, ...]
    skipped_by_reason: Mapping[str, int]
    written: int = 0  # pairs written by this run (the others were there already)

    @property
    def damaged(self) -> list[DriveBag]:
        """The bags that broke part-way."""
        return [b for b in self.bags if b.damage]

    def to_json(self) -> ExtractionJson:
        """The record written to :data:`EXTRACTION_NAME` (no run-dependent values: a re-run writes the same)."""
        splits = Counter(p.split for p in self.pairs)
        return {
            "schema": EXTRACTION_SCHEMA,
            "version": 1,
            "settings": dict(self.settings),
            "split_by": self.split_by,
            "bags": [b.to_json() for b in self.bags],
            "camera_info": {role: c.to_json() for role, c in self.camera_info.items()},
            "counts": {"pairs": len(self.pairs), **{f"pairs_{s}": n for s, n in sorted(splits.items())}},
            "skipped_by_reason": dict(sorted(self.skipped_by_reason.items())),
            "reasons": dict(SKIP_REASONS),
            "pairs": [p.to_json() for p in self.pairs],
        }

    @classmethod
    def from_json(cls, data: object, root: Path) -> Extraction:
        """Parse an extraction record of the folder ``root`` (DataError when it is not one)."""
        if not isinstance(data, Mapping) or data.get("schema") != EXTRACTION_SCHEMA:
            raise DataError(f"{root / EXTRACTION_NAME}: not a thermal-synth drive extraction record")
        infos = data.get("camera_info") or {}
        cameras = {str(r): CameraInfoRecord.from_json(v) for r, v in infos.items()}
        bags = (DriveBag.from_json(b) for b in data.get("bags") or [])
        skipped = data.get("skipped_by_reason") or {}
        return cls(
            root,
            dict(data.get("settings") or {}),
            str(data.get("split_by", "")),
            tuple(b for b in bags if b is not None),
            {r: c for r, c in cameras.items() if c is not None},
            tuple(DrivePair.from_json(p) for p in data.get("pairs") or []),
            {str(k): int(v) for k, v in skipped.items()},
        )


# -- pass 1: stamps, pairing, selection, split ------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A selected pair before decoding: message indices on the two topics, stamps, split and block."""

    rgb_idx: int
    thermal_idx: int
    rgb_stamp_ns: int
    thermal_stamp_ns: int
    split: str
    block: int


@dataclass
class _BagPlan:
    """One bag after the stamp pass: its name, topics, candidates and damage."""

    path: Path
    name: str
    rgb_topic: str
    thermal_topic: str
    rgb_stamps: list[int] = field(default_factory=list)
    thermal_stamps: list[int] = field(default_factory=list)
    candidates: list[_Candidate] = field(default_factory=list)
    damage: BagReadError | None = None


def val_items(n: int, fraction: float) -> set[int]:
    """Indices of ``n`` items (bags or time blocks) that go to ``val``: evenly spaced, at least one of two or more."""
    if fraction <= 0 or n < 2:
        return set()
    chosen = {i for i in range(n) if math.floor((i + 1) * fraction + 1e-9) > math.floor(i * fraction + 1e-9)}
    return chosen or {n - 1}


def _bag_names(paths: Sequence[Path]) -> list[str]:
    """A name per bag for frame ids (its file or folder name, cleaned; made unique by a suffix)."""
    names: list[str] = []
    for p in paths:
        base = re.sub(r"[^A-Za-z0-9-]", "-", p.stem if p.is_file() else p.name).strip("-") or "bag"
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _scan_stamps(src: BagSource, plan: _BagPlan) -> None:
    """Header stamps of both topics, in recording order; a bag broken part-way keeps the stamps read first."""
    try:
        for rec in src.records([plan.rgb_topic, plan.thermal_topic]):
            stamps = plan.rgb_stamps if rec.topic == plan.rgb_topic else plan.thermal_stamps
            stamps.append(src.header_stamp_ns(rec))
    except BagReadError as exc:
        plan.damage = exc
        log.warning("%s", exc)


def _select(plan: _BagPlan, opts: DriveOptions, skips: Counter[str], split_of_block: Mapping[int, str]) -> None:
    """Pair by stamp (each thermal frame once), apply the stride and assign each candidate its split."""
    pairs = pair_nearest(plan.rgb_stamps, plan.thermal_stamps, opts.slop, unique=True)
    skips["unpaired_rgb"] += len(plan.rgb_stamps) - len(pairs)
    skips["unpaired_thermal"] += len(plan.thermal_stamps) - len(pairs)
    t0 = min(plan.rgb_stamps, default=0)
    stride_ns, block_ns = seconds_to_ns(opts.stride_s), seconds_to_ns(opts.block_s)
    last: int | None = None
    for p in sorted(pairs, key=lambda p: (plan.rgb_stamps[p.a], p.a)):
        t = plan.rgb_stamps[p.a]
        if last is not None and t - last < stride_ns:
            skips["stride"] += 1
            continue
        last = t
        block = (t - t0) // block_ns
        plan.candidates.append(_Candidate(p.a, p.b, t, plan.thermal_stamps[p.b], split_of_block[block], block))


def _splits_of_blocks(plan: _BagPlan, opts: DriveOptions, bag_split: str | None) -> dict[int, str]:
    """The split of each time block of the bag: the bag's own (split by drive), else by :func:`val_items`."""
    if not plan.rgb_stamps:
        return {}
    t0, block_ns = min(plan.rgb_stamps), seconds_to_ns(opts.block_s)
    n_blocks = (max(plan.rgb_stamps) - t0) // block_ns + 1
    if bag_split is not None:
        return dict.fromkeys(range(n_blocks), bag_split)
    val = val_items(n_blocks, opts.val_fraction)
    return {b: "val" if b in val else "train" for b in range(n_blocks)}


def _sample(plans: list[_BagPlan], max_pairs: int | None, skips: Counter[str]) -> None:
    """Keep an evenly spaced sample of ``max_pairs`` candidates over all bags (align)."""
    everything = [(i, c) for i, plan in enumerate(plans) for c in plan.candidates]
    if max_pairs is None or len(everything) <= max_pairs:
        return
    keep = {round(float(x)) for x in np.linspace(0, len(everything) - 1, max_pairs)}
    skips["not_sampled"] += len(everything) - len(keep)
    for plan in plans:
        plan.candidates = []
    for k, (i, c) in enumerate(everything):
        if k in keep:
            plans[i].candidates.append(c)


def _plan(opts: DriveOptions, skips: Counter[str]) -> tuple[list[_BagPlan], str]:
    """The stamp pass over every bag: candidates per bag and how the split was made."""
    names = _bag_names(opts.bags)
    by_drive = len(opts.bags) > 1
    val_bags = val_items(len(opts.bags), opts.val_fraction) if by_drive else set()
    plans: list[_BagPlan] = []
    for i, (path, name) in enumerate(zip(opts.bags, names, strict=True)):
        with BagSource(path) as src:
            rgb = src.require(opts.rgb_topic, "RGB", IMAGE_TYPES)
            thermal = src.require(opts.thermal_topic, "thermal", IMAGE_TYPES)
            plan = _BagPlan(Path(path), name, rgb.name, thermal.name)
            _scan_stamps(src, plan)
        bag_split = ("val" if i in val_bags else "train") if by_drive else None
        _select(plan, opts, skips, _splits_of_blocks(plan, opts, bag_split))
        plans.append(plan)
    _sample(plans, opts.max_pairs, skips)
    return plans, "drive" if by_drive else "time-block"


# -- camera infos --------------------------------------------------------------------------------


def info_topic_of(image_topic: str) -> str:
    """``<namespace>/camera_info`` beside an image topic (``/a/b/image_raw[/compressed]`` -> ``/a/b/camera_info``)."""
    topic = image_topic.rstrip("/")
    if topic.endswith("/compressed"):
        topic = topic[: -len("/compressed")]
    namespace = topic.rsplit("/", 1)[0] if "/" in topic else ""
    return f"{namespace}/camera_info"


def _read_info(src: BagSource, topic: str) -> CameraInfoRecord | None:
    """The first CameraInfo on ``topic`` of the bag, or None when the bag has none there."""
    info = src.find(topic)
    if info is None or info.count == 0:
        return None
    if info.msgtype != CAMERA_INFO:
        raise DataError(f"{info.name} in {src.path} carries {info.msgtype}, not {CAMERA_INFO}")
    records = src.records([info.name])
    try:
        msg = src.deserialize(next(records))
    except (StopIteration, BagReadError):
        return None
    finally:
        records.close()
    m = CameraModel.from_msg(msg, f"CameraInfo on {info.name} in {src.path}")
    return CameraInfoRecord(info.name, m.width, m.height, m.k, m.d, m.distortion_model, m.frame_id)


def _camera_infos(opts: DriveOptions) -> dict[str, CameraInfoRecord]:
    """The CameraInfo of each camera from the first bag that has it; an explicit topic must exist."""
    wanted = {
        "rgb": (opts.rgb_info_topic or info_topic_of(opts.rgb_topic), opts.rgb_info_topic is not None),
        "thermal": (opts.thermal_info_topic or info_topic_of(opts.thermal_topic), opts.thermal_info_topic is not None),
    }
    found: dict[str, CameraInfoRecord] = {}
    for role, (topic, explicit) in wanted.items():
        for path in opts.bags:
            with BagSource(path) as src:
                record = _read_info(src, topic)
            if record is not None:
                found[role] = record
                break
        else:
            if explicit:
                flag = f"--{role}-info-topic"
                raise DataError(f"{flag} {topic}: no CameraInfo message on that topic in any of the bags")
    return found


# -- pass 2: decoding, standstill, day/night --------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """A decoded candidate ready to write."""

    pair: DrivePair
    rgb: npt.NDArray[np.uint8]
    thermal: npt.NDArray[Any]


def _decode_rgb(src: BagSource, rec: Record) -> npt.NDArray[np.uint8]:
    msg = src.deserialize(rec)
    if rec.connection.msgtype == COMPRESSED:
        arr, order = imagemsg.compressed_to_color8(msg)
        return np.asarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), np.uint8) if order == "bgr" else arr
    return imagemsg.to_rgb8(msg)


def _decode_thermal(src: BagSource, rec: Record) -> npt.NDArray[Any]:
    msg = src.deserialize(rec)
    img = imagemsg.compressed_to_mono(msg) if rec.connection.msgtype == COMPRESSED else imagemsg.to_mono(msg)
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f"thermal frames of type {img.dtype} cannot be extracted (8- or 16-bit only)")
    return img


def _thumb(thermal: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """The thermal frame for the standstill test: :data:`STANDSTILL_WIDTH` px wide, AGC-normalised."""
    h = max(1, round(thermal.shape[0] * STANDSTILL_WIDTH / thermal.shape[1]))
    small = cv2.resize(thermal.astype(np.float32), (STANDSTILL_WIDTH, h), interpolation=cv2.INTER_AREA)
    return agc_normalize(small)


class _Decoder:
    """Decodes candidates in stamp order, applying the standstill test against the last kept thermal frame."""

    def __init__(self, src: BagSource, plan: _BagPlan, opts: DriveOptions, skips: Counter[str]) -> None:
        self.src, self.plan, self.opts, self.skips = src, plan, opts, skips
        self.last: npt.NDArray[np.float32] | None = None
        self.ids: set[str] = set()

    def frame(self, cand: _Candidate, rgb_rec: Record, thermal_rec: Record) -> _Frame | None:
        """The decoded pair, or None when it is skipped (counted by reason)."""
        try:
            thermal = _decode_thermal(self.src, thermal_rec)
        except Exception as exc:  # a malformed message of any kind: count it and go on (never stop the drive)
            return self._skip("undecodable_thermal", f"{thermal_rec.topic} @ {cand.thermal_stamp_ns}: {exc}")
        thumb = _thumb(thermal)
        if self._standing(thumb):
            return self._skip("standstill", "")
        try:
            rgb = _decode_rgb(self.src, rgb_rec)
        except Exception as exc:  # as above
            return self._skip("undecodable_rgb", f"{rgb_rec.topic} @ {cand.rgb_stamp_ns}: {exc}")
        self.last = thumb
        level = brightness(rgb)
        frame_id = f"{self.plan.name}_{cand.rgb_stamp_ns}"
        if frame_id in self.ids:  # two RGB frames with one stamp: keep both apart
            frame_id = f"{frame_id}-{cand.rgb_idx}"
        self.ids.add(frame_id)
        condition = lighting(level)
        pair = DrivePair(
            frame_id,
            self.plan.name,
            cand.split,
            cand.block,
            cand.rgb_stamp_ns,
            cand.thermal_stamp_ns,
            level,
            condition,
        )
        return _Frame(pair, rgb, thermal)

    def _standing(self, thumb: npt.NDArray[np.float32]) -> bool:
        """Whether ``thumb`` repeats the last kept thermal frame (the standstill test)."""
        last = self.last
        if last is None or last.shape != thumb.shape or self.opts.standstill <= 0:
            return False
        return float(np.mean(np.abs(thumb - last))) < self.opts.standstill

    def _skip(self, reason: str, detail: str) -> _Frame | None:
        """Count a skipped candidate (None: nothing to write)."""
        self.skips[reason] += 1
        if detail:
            log.warning("skipping a frame of %s: %s", self.plan.path, detail)
        return None


def _decoded(plan: _BagPlan, opts: DriveOptions, skips: Counter[str]) -> Iterator[_Frame]:
    """The bag's candidates decoded, in stamp order, holding only messages whose pair is incomplete."""
    if not plan.candidates:
        return
    by_rgb = {c.rgb_idx: k for k, c in enumerate(plan.candidates)}
    by_thermal = {c.thermal_idx: k for k, c in enumerate(plan.candidates)}
    held: dict[int, dict[str, Record]] = {}
    counts = {plan.rgb_topic: 0, plan.thermal_topic: 0}
    following = 0
    with BagSource(plan.path) as src:
        decoder = _Decoder(src, plan, opts, skips)
        for rec in src.records([plan.rgb_topic, plan.thermal_topic]):
            idx = counts[rec.topic]
            counts[rec.topic] += 1
            role = "rgb" if rec.topic == plan.rgb_topic else "thermal"
            k = (by_rgb if role == "rgb" else by_thermal).get(idx)
            if k is None:
                continue
            held.setdefault(k, {})[role] = rec
            while following < len(plan.candidates) and len(held.get(following, {})) == 2:
                parts = held.pop(following)
                frame = decoder.frame(plan.candidates[following], parts["rgb"], parts["thermal"])
                following += 1
                if frame is not None:
                    yield frame
            if following == len(plan.candidates):
                return


# -- extraction ----------------------------------------------------------------------------------


def _paths(root: Path, frame: _Frame) -> tuple[Path, Path]:
    """Where a pair's thermal and RGB files go."""
    p = frame.pair
    folder = "thermal16" if frame.thermal.dtype == np.uint16 else "thermal"
    return root / p.split / folder / f"{p.frame_id}.png", root / p.split / "rgb" / f"{p.frame_id}.png"


def _write(root: Path, frame: _Frame) -> bool:
    """Write one pair (thermal first, RGB last: done when the RGB file exists); False when already there."""
    thermal_path, rgb_path = _paths(root, frame)
    if rgb_path.is_file() and thermal_path.is_file():
        return False
    write_image(thermal_path, frame.thermal)
    write_image(rgb_path, frame.rgb)
    return True


def _written(root: Path, frames: Iterable[_Frame], workers: int) -> Iterator[tuple[DrivePair, bool]]:
    """Write each frame, yielding its pair and whether it was written now, in the order of ``frames``.

    With ``workers`` > 1 the writes run on that many threads (PNG encoding and file
    system calls release the GIL); at most ``2 * workers`` frames are in flight, so
    memory stays bounded. A failed write stops the run after the writes under way end.
    """
    if workers <= 1:
        for frame in frames:
            yield frame.pair, _write(root, frame)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract")
    pending: deque[tuple[DrivePair, Future[bool]]] = deque()
    try:
        for frame in frames:
            pending.append((frame.pair, pool.submit(_write, root, frame)))
            while len(pending) >= 2 * workers:
                pair, done = pending.popleft()
                yield pair, done.result()
        while pending:
            pair, done = pending.popleft()
            yield pair, done.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _open_extraction(root: Path, opts: DriveOptions, overwrite: bool) -> None:
    """Create ``root``; refuse (or with ``overwrite`` clear) an extraction made with other settings."""
    root.mkdir(parents=True, exist_ok=True)
    for sub in root.glob("*/*"):
        if sub.is_dir():
            remove_partials(sub)
    settings = json.loads(json.dumps(opts.settings()))
    path = root / SETTINGS_NAME
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != settings and not overwrite:
            changed = sorted(k for k in settings if previous.get(k) != settings[k])
            raise DataError(
                f"{root} already holds frames extracted with other settings (differs in: {', '.join(changed)}); "
                "use another --out, or --overwrite to replace them"
            )
    if overwrite:
        for split in [p for p in root.iterdir() if p.is_dir()]:
            shutil.rmtree(split)
        with contextlib.suppress(FileNotFoundError):
            (root / EXTRACTION_NAME).unlink()
    atomic_write_json(path, settings)


def extract_drive(
    opts: DriveOptions,
    root: str | Path,
    *,
    overwrite: bool = False,
    show_progress: bool | None = None,
    workers: int = 1,
) -> Extraction:
    """Pair, select and write the drive's frames as a ``pairs`` folder at ``root`` (resumable; see the module doc).

    ``workers`` threads encode and write the PNGs (1: in the calling thread); the output does not depend on it.
    """
    opts, root = opts.check(), Path(root)
    _open_extraction(root, opts, overwrite)
    skips: Counter[str] = Counter()
    cameras = _camera_infos(opts)
    plans, split_by = _plan(opts, skips)
    pairs: list[DrivePair] = []
    bags: list[DriveBag] = []
    written = 0
    total = sum(len(p.candidates) for p in plans)
    disable = None if show_progress is None else not show_progress
    frames = (f for plan in plans for f in _decoded(plan, opts, skips))
    for pair, now in progress(
        _written(root, frames, workers), total=total, desc="extract", unit="pair", disable=disable
    ):
        written += now
        pairs.append(pair)
    for plan in plans:
        splits = sorted({c.split for c in plan.candidates}) or ["train"]
        damage = str(plan.damage) if plan.damage is not None else ""
        bags.append(
            DriveBag(str(plan.path), plan.name, "+".join(splits), sum(p.bag == plan.name for p in pairs), damage)
        )
    extraction = Extraction(root, opts.settings(), split_by, tuple(bags), cameras, tuple(pairs), dict(skips), written)
    atomic_write_json(root / EXTRACTION_NAME, extraction.to_json())
    return extraction


@contextlib.contextmanager
def sampled_pairs(opts: DriveOptions, n: int) -> Iterator[Path]:
    """A temporary ``pairs`` folder with an evenly spaced sample of ``n`` pairs of the drive (``align --bag``)."""
    with tempfile.TemporaryDirectory(prefix="thermal-synth-drive-") as tmp:
        extraction = extract_drive(replace(opts, max_pairs=n, val_fraction=0.0), tmp)
        if not extraction.pairs:
            raise DataError(
                f"no RGB/thermal pair in {', '.join(map(str, opts.bags))} (skipped: "
                f"{dict(extraction.skipped_by_reason)}); check --rgb-topic, --thermal-topic and --slop"
            )
        if extraction.damaged:
            log.warning("%s", "; ".join(b.damage for b in extraction.damaged))
        yield Path(tmp)


# -- prepare --bag ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrivePrepareResult:
    """``prepare --bag``: the extraction and the prepare run on it."""

    extraction: Extraction
    prepare: PrepareResult

    def summary(self) -> str:
        """One line for the end of the command."""
        e = self.extraction
        conditions = Counter(p.condition for p in e.pairs)
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(e.skipped_by_reason.items()) if v) or "none"
        return (
            f"{self.prepare.summary()}; from {len(e.bags)} bag(s): {len(e.pairs)} pairs extracted "
            f"(day {conditions['day']}, night {conditions['night']}; split by {e.split_by}), "
            f"frames skipped: {skipped}"
        )


def _thermal_hfov(prep: PrepareOptions, extraction: Extraction) -> PrepareOptions:
    """``--thermal-hfov`` if given, else the thermal CameraInfo's ``2 atan(w / 2 fx)``, else prepare's default."""
    info = extraction.camera_info.get("thermal")
    if prep.thermal_hfov is not None or info is None:
        return prep
    return replace(prep, thermal_hfov=round(info.hfov_deg, 6), thermal_hfov_source=f"CameraInfo on {info.topic}")


def _drive_source(
    opts: DriveOptions, extraction: Extraction, conditions: Mapping[str, Mapping[str, int]]
) -> DriveSource:
    return DriveSource(
        bags=extraction.bags,
        rgb_topic=opts.rgb_topic,
        thermal_topic=opts.thermal_topic,
        slop_s=opts.slop,
        stride_s=opts.stride_s,
        block_s=opts.block_s,
        val_fraction=opts.val_fraction,
        split_by=extraction.split_by,
        standstill_threshold=opts.standstill,
        night_brightness=NIGHT_BRIGHTNESS,
        camera_info=extraction.camera_info,
        conditions=conditions,
        skipped_by_reason=dict(sorted(extraction.skipped_by_reason.items())),
        reasons=SKIP_REASONS,
        extraction=f"{EXTRACT_DIR}/{EXTRACTION_NAME}",
    )


def _annotate_manifest(out: Path, opts: DriveOptions, extraction: Extraction) -> None:
    """Add the drive's facts to the manifest prepare wrote: each pair's condition and the ``drive`` entry."""
    manifest = read_manifest(out, check_files=False)
    condition = {p.frame_id: p.condition for p in extraction.pairs}
    pairs = tuple(replace(p, condition=condition.get(p.frame_id)) for p in manifest.pairs)
    table: dict[str, Counter[str]] = {}
    for p in pairs:
        table.setdefault(p.split, Counter())[p.condition or "unknown"] += 1
    conditions = {split: dict(sorted(c.items())) for split, c in sorted(table.items())}
    write_manifest(replace(manifest, pairs=pairs, drive=_drive_source(opts, extraction, conditions)))


def _damage_error(out: Path, extraction: Extraction) -> BagError:
    bags = extraction.damaged
    kept = sum(b.pairs for b in bags)
    return BagError(
        f"{'; '.join(b.damage for b in bags)}. The {kept} pair(s) read before the damage are extracted and "
        f"prepared in {out} (manifest.json lists the damage under drive.bags); to use the rest of the drive, "
        "repair the bag (for a rosbag2 bag whose metadata is lost: 'ros2 bag reindex') or record it again, "
        "or leave it out of --bag"
    )


def prepare_drive(opts: DriveOptions, prep: PrepareOptions, *, show_progress: bool | None = None) -> DrivePrepareResult:
    """``prepare --bag``: extract the drive under ``prep.out/extracted``, then prepare it as a ``pairs`` dataset.

    ``prep.root`` and ``prep.fmt`` are replaced; ``--alignment auto`` estimates the
    rig's alignment from the extracted pairs; ``prep.workers`` threads write the
    extracted PNGs, then as many processes prepare them. A bag broken part-way raises a
    BagError after the pairs read before the damage are prepared.
    """
    root = Path(prep.out) / EXTRACT_DIR
    extraction = extract_drive(opts, root, overwrite=prep.overwrite, show_progress=show_progress, workers=prep.workers)
    if not extraction.pairs:
        raise DataError(
            f"no RGB/thermal pair was extracted from {', '.join(map(str, opts.bags))} "
            f"(skipped: {dict(extraction.skipped_by_reason)}); check the topics and --slop"
        )
    prep = _thermal_hfov(replace(prep, root=root, fmt="pairs", estimate_alignment=True), extraction)
    result = prepare_dataset(prep, show_progress=show_progress)
    _annotate_manifest(Path(prep.out), opts, extraction)
    if extraction.damaged:
        raise _damage_error(Path(prep.out), extraction)
    return DrivePrepareResult(extraction, result)
