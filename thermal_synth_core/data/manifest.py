"""``manifest.json``: what ``prepare`` wrote, validated whenever it is read.

The manifest is the contract between ``prepare`` and everything downstream
(training datasets, model metadata, evaluation). It records the source format,
the RGB -> thermal alignment used, the output size and thermal bit depth, the
thermal camera's horizontal field of view (``thermal_camera``; absent in manifests
written before it was recorded), every pair written (paths relative to the dataset root), single-camera frames written
for unpaired training, and every skipped frame with its reason.

Reading validates the schema, types and paths: a path that is absolute or leaves
the dataset root (``..``) is rejected, so a manifest cannot make training read
files elsewhere on the machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import AlignmentError, DataError

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Manifest",
    "PairEntry",
    "SingleEntry",
    "ThermalCamera",
    "check_hfov",
    "read_manifest",
]

MANIFEST_NAME = "manifest.json"
SCHEMA = "thermal-synth.prepare-manifest"
SCHEMA_VERSION = 1

Size = tuple[int, int]


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


@dataclass(frozen=True)
class ThermalCamera:
    """The prepared thermal frames' field of view: horizontal FOV of the full frame and the frames' width.

    ``hfov_deg / width`` is the angular scale (degrees per pixel) a model trained on them learns.
    """

    hfov_deg: float
    width: int  # pixels, of the thermal frames as prepare wrote them
    source: str = ""  # where the field of view comes from (a dataset preset, --thermal-hfov, a default)

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``thermal_camera`` entry."""
        return {"hfov_deg": self.hfov_deg, "width": self.width, "source": self.source}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ThermalCamera:
        """Parse a manifest's ``thermal_camera`` entry (DataError when malformed)."""
        w = f"{where} thermal_camera"
        if not isinstance(data, Mapping):
            raise DataError(f"{w}: expected an object with hfov_deg, width and source")
        hfov = check_hfov(data.get("hfov_deg"), f"{w}: 'hfov_deg'")
        width = data.get("width")
        if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
            raise DataError(f"{w}: 'width' must be a positive integer (pixels), got {width!r}")
        return cls(hfov, width, str(data.get("source", "")))


@dataclass(frozen=True)
class PairEntry:
    """One aligned pair: RGB warped into the thermal view, thermal, and (optional) warm-object mask."""

    split: str
    frame_id: str
    rgb: Path
    thermal: Path
    mask: Path | None = None


@dataclass(frozen=True)
class SingleEntry:
    """One single-camera frame (``prepare --include-unpaired``): ``kind`` is ``rgb`` or ``thermal``."""

    split: str
    frame_id: str
    kind: str
    path: Path
    mask: Path | None = None


@dataclass(frozen=True)
class Manifest:
    """A validated ``manifest.json`` with absolute paths under ``root``."""

    root: Path
    format: str
    source: str
    alignment: Alignment
    thermal_bits: int
    size: Size
    has_masks: bool
    pairs: tuple[PairEntry, ...]
    unpaired: tuple[SingleEntry, ...] = ()
    skipped: tuple[Mapping[str, str], ...] = ()
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: The thermal camera's field of view (None: a manifest written before it was recorded).
    thermal_camera: ThermalCamera | None = None

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

    def model_metadata(self) -> dict[str, Any]:
        """What a model trained on this data must carry: alignment, size, bit depth, source format, field of view."""
        return {
            "alignment": self.alignment.to_dict(),
            "thermal_bits": self.thermal_bits,
            "size": list(self.size),
            "dataset_format": self.format,
            "thermal_normalisation": self.raw.get("thermal_normalisation", ""),
            "thermal_camera": None if self.thermal_camera is None else self.thermal_camera.to_dict(),
        }


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise DataError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{where}: key {key!r} must be {names}, got {type(value).__name__}")
    return value


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


def read_manifest(root: str | Path, check_files: bool = True) -> Manifest:
    """Read and validate ``root/manifest.json`` written by ``thermal-synth prepare``.

    ``check_files`` also checks that every listed image exists (a stat each), so a
    training run fails at start-up rather than hours in.
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise DataError(
            f"no {MANIFEST_NAME} in {root}: point at a folder written by 'thermal-synth prepare' (or run prepare first)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc
    where = str(path)
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise DataError(f"{where}: not a thermal-synth prepare manifest (schema {data.get('schema')!r})")
    version = _need(data, "version", int, where)
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{where}: manifest version {version} is newer than this thermal-synth understands ({SCHEMA_VERSION})"
        )
    bits = _need(data, "thermal_bits", int, where)
    if bits not in (8, 16):
        raise DataError(f"{where}: 'thermal_bits' must be 8 or 16, got {bits}")
    try:
        alignment = Alignment.from_dict(_need(data, "alignment", Mapping, where), source=f"{where} alignment")
    except AlignmentError as exc:
        raise DataError(str(exc)) from exc
    pairs: list[PairEntry] = []
    for i, item in enumerate(_need(data, "pairs", list, where)):
        w = f"{where} pairs[{i}]"
        if not isinstance(item, Mapping):
            raise DataError(f"{w}: expected an object")
        mask = item.get("mask")
        pairs.append(
            PairEntry(
                split=str(_need(item, "split", str, w)),
                frame_id=str(_need(item, "id", str, w)),
                rgb=_safe_path(root, item.get("rgb"), w),
                thermal=_safe_path(root, item.get("thermal"), w),
                mask=_safe_path(root, mask, w) if mask is not None else None,
            )
        )
    unpaired: list[SingleEntry] = []
    for i, item in enumerate(data.get("unpaired", []) or []):
        w = f"{where} unpaired[{i}]"
        if not isinstance(item, Mapping):
            raise DataError(f"{w}: expected an object")
        kind = _need(item, "kind", str, w)
        if kind not in ("rgb", "thermal"):
            raise DataError(f"{w}: 'kind' must be 'rgb' or 'thermal', got {kind!r}")
        mask = item.get("mask")
        unpaired.append(
            SingleEntry(
                split=str(_need(item, "split", str, w)),
                frame_id=str(_need(item, "id", str, w)),
                kind=kind,
                path=_safe_path(root, item.get("path"), w),
                mask=_safe_path(root, mask, w) if mask is not None else None,
            )
        )
    if check_files:
        for entry in pairs:
            for p in (entry.rgb, entry.thermal, entry.mask):
                if p is not None and not p.is_file():
                    raise DataError(
                        f"{where}: listed file {p} is missing; re-run 'thermal-synth prepare' to complete it"
                    )
        for single in unpaired:
            if not single.path.is_file():
                raise DataError(f"{where}: listed file {single.path} is missing; re-run 'thermal-synth prepare'")
    skipped = tuple(
        {str(k): str(v) for k, v in item.items()} for item in (data.get("skipped") or []) if isinstance(item, Mapping)
    )
    counts = data.get("counts") or {}
    camera = data.get("thermal_camera")
    return Manifest(
        root=root,
        format=str(_need(data, "format", str, where)),
        source=str(data.get("source", "")),
        alignment=alignment,
        thermal_bits=bits,
        size=_size(data.get("size"), where),
        has_masks=bool(data.get("has_masks", False)),
        pairs=tuple(pairs),
        unpaired=tuple(unpaired),
        skipped=skipped,
        counts=counts if isinstance(counts, Mapping) else {},
        raw=data,
        thermal_camera=None if camera is None else ThermalCamera.from_dict(camera, where),
    )
