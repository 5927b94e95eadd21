"""``manifest.json``: what ``prepare`` wrote, validated whenever it is read.

The manifest is the contract between ``prepare`` and everything downstream
(training datasets, model metadata, evaluation). It records the source format,
the RGB -> thermal alignment used, the output size and thermal bit depth, the
thermal camera's horizontal field of view (``thermal_camera``; absent in manifests
written before it was recorded), every pair written (paths relative to the dataset root), single-camera frames written
for unpaired training, and every skipped frame with its reason.

:class:`Manifest` is the one schema of the file: ``prepare`` builds one and writes
it with :func:`write_manifest` (:meth:`Manifest.to_json`), every reader gets one
from :func:`read_manifest` (:meth:`Manifest.from_json`). Reading validates the
schema, types and paths: a path that is absolute or leaves the dataset root
(``..``) is rejected, so a manifest cannot make training read files elsewhere on
the machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypedDict, TypeVar

from thermal_synth_core.align.transform import Alignment, AlignmentJson
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.fileio import atomic_write_json

__all__ = [
    "CONDITIONS",
    "MANIFEST_NAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "AnnotationIssue",
    "CameraInfoRecord",
    "DriveBag",
    "DriveSource",
    "Manifest",
    "ObjectCounts",
    "PairEntry",
    "SingleEntry",
    "SkippedFrame",
    "ThermalCamera",
    "check_hfov",
    "read_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
SCHEMA = "thermal-synth.prepare-manifest"
SCHEMA_VERSION = 1

Size = tuple[int, int]
_T = TypeVar("_T")


def check_hfov(value: Any, what: str) -> float:
    """``value`` as a horizontal field of view in degrees; a DataError naming ``what`` unless 0 < value < 180."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise DataError(f"{what} must be a number of degrees between 0 and 180, got {value!r}")
    if not 0.0 < float(value) < 180.0:
        raise DataError(
            f"{what} must be between 0 and 180 degrees (exclusive), got {value:g}: "
            "the thermal camera's horizontal field of view over its full frame, e.g. 45 for the FLIR ADAS camera"
        )
    return float(value)


# -- the JSON shapes ------------------------------------------------------------------------------


class ThermalCameraJson(TypedDict):
    """The manifest's ``thermal_camera`` entry (also ``synth_info.json``'s)."""

    hfov_deg: float
    width: int
    source: str


class _PairJsonBase(TypedDict):
    split: str
    id: str
    rgb: str
    thermal: str


class PairJson(_PairJsonBase, total=False):
    """One entry of ``pairs``: paths relative to the dataset root; ``condition`` for data from a drive."""

    mask: str
    condition: str


class _SingleJsonBase(TypedDict):
    split: str
    id: str
    kind: str
    path: str


class SingleJson(_SingleJsonBase, total=False):
    """One entry of ``unpaired``: paths relative to the dataset root."""

    mask: str


class _SkippedJsonBase(TypedDict):
    split: str
    id: str
    kind: str
    reason: str
    detail: str


class SkippedJson(_SkippedJsonBase, total=False):
    """One entry of ``skipped``; ``signature`` (source files' sizes and times) when the images were read."""

    signature: str


class _ManifestJsonBase(TypedDict):
    schema: str
    version: int
    format: str
    source: str
    alignment: AlignmentJson
    alignment_source: str
    thermal_bits: int
    thermal_normalisation: str
    size: list[int]


class CameraInfoJson(TypedDict):
    """A CameraInfo found on a bag, as the manifest records it (``k`` row-major 3x3)."""

    topic: str
    width: int
    height: int
    k: list[float]
    d: list[float]
    distortion_model: str
    frame_id: str
    hfov_deg: float


class _DriveBagJsonBase(TypedDict):
    path: str
    name: str
    split: str
    pairs: int


class DriveBagJson(_DriveBagJsonBase, total=False):
    """One bag of a drive dataset; ``damage`` when it broke part-way (its pairs are those read before)."""

    damage: str


class DriveJson(TypedDict):
    """The manifest's ``drive`` entry: the bags a ``prepare --bag`` dataset was extracted from, and how."""

    bags: list[DriveBagJson]
    rgb_topic: str
    thermal_topic: str
    slop_s: float
    stride_s: float
    block_s: float
    val_fraction: float
    split_by: str
    standstill_threshold: float
    night_brightness: float
    camera_info: dict[str, CameraInfoJson]
    conditions: dict[str, dict[str, int]]
    skipped_by_reason: dict[str, int]
    reasons: dict[str, str]
    extraction: str


class AnnotationIssueJson(TypedDict):
    """An annotation file that was missing or malformed, and what is wrong with it."""

    path: str
    problem: str


class ObjectsJson(TypedDict):
    """The manifest's ``objects`` entry: the prepared COCO files, objects per split and class, issues."""

    files: dict[str, str]
    frames: dict[str, int]
    counts: dict[str, dict[str, int]]
    issues: list[AnnotationIssueJson]


class ManifestJson(_ManifestJsonBase, total=False):
    """``manifest.json`` as written (keys in this order; ``thermal_camera`` absent in old manifests).

    ``drive`` only in datasets prepared from bags (``prepare --bag``); ``objects`` only in
    datasets whose source has object annotations.
    """

    thermal_camera: ThermalCameraJson
    has_masks: bool
    counts: dict[str, dict[str, int]]
    skipped_by_reason: dict[str, int]
    reasons: dict[str, str]
    drive: DriveJson
    objects: ObjectsJson
    pairs: list[PairJson]
    unpaired: list[SingleJson]
    skipped: list[SkippedJson]


# -- the schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThermalCamera:
    """The prepared thermal frames' field of view: horizontal FOV of the full frame and the frames' width.

    ``hfov_deg / width`` is the angular scale (degrees per pixel) a model trained on them learns.
    """

    hfov_deg: float
    width: int  # pixels, of the thermal frames as prepare wrote them
    source: str = ""  # where the field of view comes from (a dataset preset, --thermal-hfov, a default)

    def to_dict(self) -> ThermalCameraJson:
        """The manifest's ``thermal_camera`` entry."""
        return {"hfov_deg": self.hfov_deg, "width": self.width, "source": self.source}

    @classmethod
    def from_dict(cls, data: object, where: str) -> ThermalCamera:
        """Parse a manifest's ``thermal_camera`` entry (DataError when malformed)."""
        w = f"{where} thermal_camera"
        if not isinstance(data, Mapping):
            raise DataError(f"{w}: expected an object with hfov_deg, width and source")
        hfov = check_hfov(data.get("hfov_deg"), f"{w}: 'hfov_deg'")
        width = data.get("width")
        if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
            raise DataError(f"{w}: 'width' must be a positive integer (pixels), got {width!r}")
        return cls(hfov, width, str(data.get("source", "")))


#: Lighting conditions a pair of a drive is tagged with (from the RGB frame's mean brightness).
CONDITIONS = ("day", "night")


@dataclass(frozen=True)
class CameraInfoRecord:
    """A camera's CameraInfo as found on a bag: its topic, size, intrinsics and horizontal field of view."""

    topic: str
    width: int
    height: int
    k: tuple[float, ...]
    d: tuple[float, ...] = ()
    distortion_model: str = ""
    frame_id: str = ""

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view of the full frame: ``2 atan(width / (2 fx))``, in degrees."""
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.k[0])))

    def to_json(self) -> CameraInfoJson:
        """The manifest's entry."""
        return {
            "topic": self.topic,
            "width": self.width,
            "height": self.height,
            "k": list(self.k),
            "d": list(self.d),
            "distortion_model": self.distortion_model,
            "frame_id": self.frame_id,
            "hfov_deg": round(self.hfov_deg, 6),
        }

    @classmethod
    def from_json(cls, item: object) -> CameraInfoRecord | None:
        """Parse one entry; None when malformed (the camera infos are information only)."""
        if not isinstance(item, Mapping):
            return None
        k, d, width, height = item.get("k"), item.get("d", []), item.get("width"), item.get("height")
        numbers = isinstance(k, list) and len(k) == 9 and isinstance(d, list)
        if not numbers or not isinstance(width, int) or not isinstance(height, int):
            return None
        assert isinstance(k, list) and isinstance(d, list)
        if not all(isinstance(v, int | float) for v in [*k, *d]) or not k[0]:
            return None
        return cls(
            str(item.get("topic", "")),
            width,
            height,
            tuple(float(v) for v in k),
            tuple(float(v) for v in d),
            str(item.get("distortion_model", "")),
            str(item.get("frame_id", "")),
        )


@dataclass(frozen=True)
class DriveBag:
    """One bag of a drive dataset: where it was, its name in frame ids, its split, pairs taken, any damage."""

    path: str
    name: str
    split: str  # "train", "val", or "train+val" (split by time blocks)
    pairs: int
    damage: str = ""

    def to_json(self) -> DriveBagJson:
        """The manifest's entry."""
        out: DriveBagJson = {"path": self.path, "name": self.name, "split": self.split, "pairs": self.pairs}
        if self.damage:
            out["damage"] = self.damage
        return out

    @classmethod
    def from_json(cls, item: object) -> DriveBag | None:
        """Parse one entry; None when malformed (information only)."""
        if not isinstance(item, Mapping):
            return None
        pairs = item.get("pairs")
        if not isinstance(pairs, int) or isinstance(pairs, bool):
            return None
        path, name, split = (str(item.get(k, "")) for k in ("path", "name", "split"))
        return cls(path, name, split, pairs, str(item.get("damage", "")))


@dataclass(frozen=True)
class DriveSource:
    """What a ``prepare --bag`` dataset was extracted from and how (the manifest's ``drive`` entry)."""

    bags: tuple[DriveBag, ...]
    rgb_topic: str
    thermal_topic: str
    slop_s: float
    stride_s: float
    block_s: float
    val_fraction: float
    split_by: str  # "drive" (whole bags to val) or "time-block"
    standstill_threshold: float
    night_brightness: float
    #: ``rgb`` and ``thermal``: the CameraInfo found for each camera (absent when the bag has none).
    camera_info: Mapping[str, CameraInfoRecord] = field(default_factory=dict)
    #: Per split: pairs per lighting condition (``day``, ``night``).
    conditions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: Frames of the bags not extracted, by reason (unpaired, stride, standstill, undecodable, ...).
    skipped_by_reason: Mapping[str, int] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: The extraction's own record (per pair: bag, stamps, split, condition), relative to the dataset root.
    extraction: str = ""

    def to_json(self) -> DriveJson:
        """The manifest's ``drive`` entry."""
        return {
            "bags": [b.to_json() for b in self.bags],
            "rgb_topic": self.rgb_topic,
            "thermal_topic": self.thermal_topic,
            "slop_s": self.slop_s,
            "stride_s": self.stride_s,
            "block_s": self.block_s,
            "val_fraction": self.val_fraction,
            "split_by": self.split_by,
            "standstill_threshold": self.standstill_threshold,
            "night_brightness": self.night_brightness,
            "camera_info": {role: c.to_json() for role, c in self.camera_info.items()},
            "conditions": {split: dict(c) for split, c in self.conditions.items()},
            "skipped_by_reason": dict(self.skipped_by_reason),
            "reasons": dict(self.reasons),
            "extraction": self.extraction,
        }

    @classmethod
    def from_json(cls, data: object, where: str) -> DriveSource:
        """Parse the ``drive`` entry (DataError when it is not an object; odd details are dropped)."""
        if not isinstance(data, Mapping):
            raise DataError(f"{where} drive: expected an object")

        def number(key: str) -> float:
            value = data.get(key, 0.0)
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

        infos = data.get("camera_info")
        cameras = {
            str(role): c for role, c in ((r, CameraInfoRecord.from_json(v)) for r, v in _items(infos)) if c is not None
        }
        bags = (DriveBag.from_json(b) for b in (data.get("bags") or []))
        return cls(
            bags=tuple(b for b in bags if b is not None),
            rgb_topic=str(data.get("rgb_topic", "")),
            thermal_topic=str(data.get("thermal_topic", "")),
            slop_s=number("slop_s"),
            stride_s=number("stride_s"),
            block_s=number("block_s"),
            val_fraction=number("val_fraction"),
            split_by=str(data.get("split_by", "")),
            standstill_threshold=number("standstill_threshold"),
            night_brightness=number("night_brightness"),
            camera_info=cameras,
            conditions=_int_table(data.get("conditions")),
            skipped_by_reason=_str_map(data.get("skipped_by_reason"), int),
            reasons=_str_map(data.get("reasons"), str),
            extraction=str(data.get("extraction", "")),
        )


@dataclass(frozen=True)
class AnnotationIssue:
    """An annotation file ``prepare`` could not use (missing or malformed), named, with what is wrong."""

    path: str
    problem: str

    def to_json(self) -> AnnotationIssueJson:
        """The manifest's entry."""
        return {"path": self.path, "problem": self.problem}

    @classmethod
    def from_json(cls, item: object) -> AnnotationIssue | None:
        """Parse one entry; None when malformed (information only)."""
        if not isinstance(item, Mapping) or not isinstance(item.get("path"), str):
            return None
        return cls(str(item.get("path")), str(item.get("problem", "")))


@dataclass(frozen=True)
class ObjectCounts:
    """The object annotations of a prepared dataset (the manifest's ``objects`` entry).

    ``files``: per split, its COCO file relative to the dataset root (boxes in the prepared
    thermal frames' pixels); ``frames``: annotated frames per split; ``counts``: per split,
    objects per normalised class; ``issues``: annotation files missing or malformed.
    """

    files: Mapping[str, str] = field(default_factory=dict)
    frames: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    issues: tuple[AnnotationIssue, ...] = ()

    def to_json(self) -> ObjectsJson:
        """The manifest's ``objects`` entry."""
        return {
            "files": dict(self.files),
            "frames": dict(self.frames),
            "counts": {split: dict(c) for split, c in self.counts.items()},
            "issues": [i.to_json() for i in self.issues],
        }

    @classmethod
    def from_json(cls, data: object, root: Path, where: str) -> ObjectCounts:
        """Parse the ``objects`` entry; its file paths must stay inside ``root``."""
        if not isinstance(data, Mapping):
            raise DataError(f"{where} objects: expected an object")
        files = _str_map(data.get("files"), str)
        for split, rel in files.items():
            _safe_path(root, rel, f"{where} objects files[{split!r}]")
        issues = (AnnotationIssue.from_json(i) for i in (data.get("issues") or []))
        return cls(
            files=files,
            frames=_str_map(data.get("frames"), int),
            counts=_int_table(data.get("counts")),
            issues=tuple(i for i in issues if i is not None),
        )


def _relative(path: Path, root: Path) -> str:
    """``path`` (under ``root``) as the manifest writes it: relative, with forward slashes."""
    return path.relative_to(root).as_posix()


@dataclass(frozen=True)
class PairEntry:
    """One aligned pair: RGB warped into the thermal view, thermal, and (optional) warm-object mask."""

    split: str
    frame_id: str
    rgb: Path
    thermal: Path
    mask: Path | None = None
    #: ``day`` or ``night`` for pairs from a drive (``prepare --bag``); None otherwise.
    condition: str | None = None

    def to_json(self, root: Path) -> PairJson:
        """The manifest entry, paths relative to the dataset ``root``."""
        out: PairJson = {
            "split": self.split,
            "id": self.frame_id,
            "rgb": _relative(self.rgb, root),
            "thermal": _relative(self.thermal, root),
        }
        if self.mask is not None:
            out["mask"] = _relative(self.mask, root)
        if self.condition is not None:
            out["condition"] = self.condition
        return out

    @classmethod
    def from_json(cls, item: object, root: Path, where: str) -> PairEntry:
        """Validate one manifest entry; its paths must stay inside ``root``."""
        if not isinstance(item, Mapping):
            raise DataError(f"{where}: expected an object")
        mask = item.get("mask")
        condition = item.get("condition")
        if condition is not None and condition not in CONDITIONS:
            raise DataError(f"{where}: 'condition' must be one of {', '.join(CONDITIONS)}, got {condition!r}")
        return cls(
            split=str(_need(item, "split", str, where)),
            frame_id=str(_need(item, "id", str, where)),
            rgb=_safe_path(root, item.get("rgb"), where),
            thermal=_safe_path(root, item.get("thermal"), where),
            mask=_safe_path(root, mask, where) if mask is not None else None,
            condition=condition,
        )


@dataclass(frozen=True)
class SingleEntry:
    """One single-camera frame (``prepare --include-unpaired``): ``kind`` is ``rgb`` or ``thermal``."""

    split: str
    frame_id: str
    kind: str
    path: Path
    mask: Path | None = None

    def to_json(self, root: Path) -> SingleJson:
        """The manifest entry, paths relative to the dataset ``root``."""
        out: SingleJson = {
            "split": self.split,
            "id": self.frame_id,
            "kind": self.kind,
            "path": _relative(self.path, root),
        }
        if self.mask is not None:
            out["mask"] = _relative(self.mask, root)
        return out

    @classmethod
    def from_json(cls, item: object, root: Path, where: str) -> SingleEntry:
        """Validate one manifest entry; its paths must stay inside ``root``."""
        if not isinstance(item, Mapping):
            raise DataError(f"{where}: expected an object")
        kind = _need(item, "kind", str, where)
        if kind not in ("rgb", "thermal"):
            raise DataError(f"{where}: 'kind' must be 'rgb' or 'thermal', got {kind!r}")
        mask = item.get("mask")
        return cls(
            split=str(_need(item, "split", str, where)),
            frame_id=str(_need(item, "id", str, where)),
            kind=kind,
            path=_safe_path(root, item.get("path"), where),
            mask=_safe_path(root, mask, where) if mask is not None else None,
        )


@dataclass(frozen=True)
class SkippedFrame:
    """A frame ``prepare`` did not write, with the reason code (``REASONS`` of ``prepare``) and the detail."""

    split: str
    frame_id: str
    kind: str  # "pair", "rgb" or "thermal": what the frame would have been
    reason: str
    detail: str
    #: The source files' sizes and modification times, when prepare read them: an unchanged frame is not re-read.
    signature: str | None = None

    def to_json(self) -> SkippedJson:
        """The manifest entry."""
        out: SkippedJson = {
            "split": self.split,
            "id": self.frame_id,
            "kind": self.kind,
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.signature is not None:
            out["signature"] = self.signature
        return out

    @classmethod
    def from_json(cls, item: object) -> SkippedFrame | None:
        """Parse one entry; None when it is not a complete entry (skipped frames are information only)."""
        if not isinstance(item, Mapping):
            return None
        fields = [item.get(k) for k in ("split", "id", "kind", "reason", "detail")]
        signature = item.get("signature")
        if not all(isinstance(v, str) for v in fields) or not isinstance(signature, str | None):
            return None
        split, frame_id, kind, reason, detail = (str(v) for v in fields)
        return cls(split, frame_id, kind, reason, detail, signature)


class ModelDataMetadata(TypedDict):
    """:meth:`Manifest.model_metadata`: what a model file records of its training data."""

    alignment: AlignmentJson
    thermal_bits: int
    size: list[int]
    dataset_format: str
    thermal_normalisation: str
    thermal_camera: ThermalCameraJson | None


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: a validated one (:func:`read_manifest`) or one ``prepare`` writes; paths under ``root``."""

    root: Path
    format: str
    source: str
    alignment: Alignment
    thermal_bits: int
    size: Size
    has_masks: bool
    pairs: tuple[PairEntry, ...]
    unpaired: tuple[SingleEntry, ...] = ()
    skipped: tuple[SkippedFrame, ...] = ()
    #: Per split: pairs, single-camera frames (``unpaired_rgb``, ``unpaired_thermal``) and skipped frames.
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: The thermal camera's field of view (None: a manifest written before it was recorded).
    thermal_camera: ThermalCamera | None = None
    #: Where the alignment came from ("file PATH", "auto: ..."; "" in manifests that lack it).
    alignment_source: str = ""
    #: How the thermal frames were normalised, in words.
    thermal_normalisation: str = ""
    skipped_by_reason: Mapping[str, int] = field(default_factory=dict)
    #: The reason codes of ``skipped`` in words.
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: The bags a ``prepare --bag`` dataset was extracted from (None for datasets read from folders).
    drive: DriveSource | None = None
    #: Object annotations written with the data (None when the source has none).
    objects: ObjectCounts | None = None

    @property
    def splits(self) -> list[str]:
        """Split names that have pairs or single-camera frames."""
        return sorted({p.split for p in self.pairs} | {u.split for u in self.unpaired})

    def pairs_in(self, split: str) -> list[PairEntry]:
        """Pairs of one split, in manifest order."""
        return [p for p in self.pairs if p.split == split]

    def rgb_frames(self, split: str) -> list[tuple[str, Path]]:
        """(id, path) of every RGB frame of a split: those of pairs, then RGB-only frames."""
        out = [(p.frame_id, p.rgb) for p in self.pairs if p.split == split]
        out += [(u.frame_id, u.path) for u in self.unpaired if u.split == split and u.kind == "rgb"]
        return out

    def thermal_frames(self, split: str) -> list[tuple[str, Path]]:
        """(id, path) of every thermal frame of a split: those of pairs, then thermal-only frames."""
        out = [(p.frame_id, p.thermal) for p in self.pairs if p.split == split]
        out += [(u.frame_id, u.path) for u in self.unpaired if u.split == split and u.kind == "thermal"]
        return out

    def model_metadata(self) -> ModelDataMetadata:
        """What a model trained on this data must carry: alignment, size, bit depth, source format, field of view."""
        return {
            "alignment": self.alignment.to_dict(),
            "thermal_bits": self.thermal_bits,
            "size": list(self.size),
            "dataset_format": self.format,
            "thermal_normalisation": self.thermal_normalisation,
            "thermal_camera": None if self.thermal_camera is None else self.thermal_camera.to_dict(),
        }

    # -- (de)serialisation ----------------------------------------------------------------------

    def to_json(self) -> ManifestJson:
        """The document ``prepare`` writes (paths relative to ``root``)."""
        out: ManifestJson = {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "format": self.format,
            "source": self.source,
            "alignment": self.alignment.to_dict(),
            "alignment_source": self.alignment_source,
            "thermal_bits": self.thermal_bits,
            "thermal_normalisation": self.thermal_normalisation,
            "size": list(self.size),
        }
        if self.thermal_camera is not None:
            out["thermal_camera"] = self.thermal_camera.to_dict()
        out["has_masks"] = self.has_masks
        out["counts"] = {split: dict(c) for split, c in self.counts.items()}
        out["skipped_by_reason"] = dict(self.skipped_by_reason)
        out["reasons"] = dict(self.reasons)
        if self.drive is not None:
            out["drive"] = self.drive.to_json()
        if self.objects is not None:
            out["objects"] = self.objects.to_json()
        out["pairs"] = [p.to_json(self.root) for p in self.pairs]
        out["unpaired"] = [u.to_json(self.root) for u in self.unpaired]
        out["skipped"] = [s.to_json() for s in self.skipped]
        return out

    @classmethod
    def from_json(cls, data: object, root: Path, where: str) -> Manifest:
        """Validate a parsed ``manifest.json`` of the dataset at ``root``; errors name ``where``."""
        _check_header(data, where)
        assert isinstance(data, Mapping)
        bits = _need(data, "thermal_bits", int, where)
        if bits not in (8, 16):
            raise DataError(f"{where}: 'thermal_bits' must be 8 or 16, got {bits}")
        try:
            alignment = Alignment.from_dict(_need(data, "alignment", Mapping, where), source=f"{where} alignment")
        except AlignmentError as exc:
            raise DataError(str(exc)) from exc
        pairs = tuple(
            PairEntry.from_json(item, root, f"{where} pairs[{i}]")
            for i, item in enumerate(_need(data, "pairs", list, where))
        )
        unpaired = tuple(
            SingleEntry.from_json(item, root, f"{where} unpaired[{i}]")
            for i, item in enumerate(data.get("unpaired", []) or [])
        )
        camera = data.get("thermal_camera")
        drive, objects = data.get("drive"), data.get("objects")
        return cls(
            root=root,
            format=str(_need(data, "format", str, where)),
            source=str(data.get("source", "")),
            alignment=alignment,
            thermal_bits=bits,
            size=_size(data.get("size"), where),
            has_masks=bool(data.get("has_masks", False)),
            pairs=pairs,
            unpaired=unpaired,
            skipped=tuple(s for s in map(SkippedFrame.from_json, data.get("skipped") or []) if s is not None),
            counts=_int_table(data.get("counts")),
            thermal_camera=None if camera is None else ThermalCamera.from_dict(camera, where),
            alignment_source=str(data.get("alignment_source", "")),
            thermal_normalisation=str(data.get("thermal_normalisation", "")),
            skipped_by_reason=_str_map(data.get("skipped_by_reason"), int),
            reasons=_str_map(data.get("reasons"), str),
            drive=None if drive is None else DriveSource.from_json(drive, where),
            objects=None if objects is None else ObjectCounts.from_json(objects, root, where),
        )


# -- validation helpers ---------------------------------------------------------------------------


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise DataError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{where}: key {key!r} must be {names}, got {type(value).__name__}")
    return value


def _check_header(data: object, where: str) -> None:
    """A JSON object with this module's schema, at a version it understands."""
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise DataError(f"{where}: not a thermal-synth prepare manifest (schema {data.get('schema')!r})")
    version = _need(data, "version", int, where)
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{where}: manifest version {version} is newer than this thermal-synth understands ({SCHEMA_VERSION})"
        )


def _safe_path(root: Path, rel: Any, where: str) -> Path:
    """``root / rel`` after checking that ``rel`` is a relative path staying inside ``root``."""
    if not isinstance(rel, str) or not rel:
        raise DataError(f"{where}: paths must be non-empty strings relative to the dataset root")
    if "\x00" in rel:
        raise DataError(f"{where}: path {rel!r} contains a NUL character")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        raise DataError(f"{where}: path {rel!r} is absolute; manifest paths must be relative to the dataset root")
    if ".." in pure.parts:
        raise DataError(f"{where}: path {rel!r} leaves the dataset root")
    full = (root / Path(*pure.parts)).resolve()
    if not full.is_relative_to(root.resolve()):
        raise DataError(f"{where}: path {rel!r} leaves the dataset root (through a link)")
    return root / Path(*pure.parts)


def _size(value: Any, where: str) -> Size:
    if not (isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)):
        raise DataError(f"{where}: 'size' must be [width, height] of positive integers, got {value!r}")
    return (int(value[0]), int(value[1]))


def _str_map(value: object, kind: type[_T]) -> dict[str, _T]:
    """The entries of an informational mapping whose values are of ``kind`` (anything else is ignored)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, kind) and not isinstance(v, bool)}


def _items(value: object) -> list[tuple[str, object]]:
    """The entries of a mapping (none when ``value`` is not one)."""
    return [(str(k), v) for k, v in value.items()] if isinstance(value, Mapping) else []


def _int_table(value: object) -> dict[str, dict[str, int]]:
    """``counts``: per split, the integer entries (anything else is ignored: the counts are information)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(split): _str_map(row, int) for split, row in value.items() if isinstance(row, Mapping)}


def _check_files(manifest: Manifest, where: str) -> None:
    for entry in manifest.pairs:
        for p in (entry.rgb, entry.thermal, entry.mask):
            if p is not None and not p.is_file():
                raise DataError(f"{where}: listed file {p} is missing; re-run 'thermal-synth prepare' to complete it")
    for single in manifest.unpaired:
        if not single.path.is_file():
            raise DataError(f"{where}: listed file {single.path} is missing; re-run 'thermal-synth prepare'")


# -- files ----------------------------------------------------------------------------------------


def write_manifest(manifest: Manifest) -> Path:
    """Write ``manifest`` to ``manifest.root/manifest.json`` (atomically); returns the path."""
    path = manifest.root / MANIFEST_NAME
    atomic_write_json(path, manifest.to_json())
    return path


def _load(path: Path, root: Path) -> object:
    if not path.is_file():
        raise DataError(
            f"no {MANIFEST_NAME} in {root}: point at a folder written by 'thermal-synth prepare' (or run prepare first)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc


def read_manifest(root: str | Path, check_files: bool = True) -> Manifest:
    """Read and validate ``root/manifest.json`` written by ``thermal-synth prepare``.

    ``check_files`` also checks that every listed image exists (a stat each), so a
    training run fails at start-up rather than hours in.
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    manifest = Manifest.from_json(_load(path, root), root, str(path))
    if check_files:
        _check_files(manifest, str(path))
    return manifest
