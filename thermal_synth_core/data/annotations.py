r"""Object annotations of the public datasets, read into one form and written as COCO by ``prepare``.

Where each layout keeps them (boxes on the thermal images in every case):

* ``flir-v1``: ``<split>/thermal_annotations.json`` (COCO; ``file_name`` ``thermal_8_bit/<id>.jpeg``).
* ``flir-v2``: ``images_thermal_{train,val}/coco.json`` and ``video_thermal_test/coco.json``
  (COCO; ``file_name`` ``data/<id>.jpg``).
* ``kaist``: one text file per frame, ``annotations/setXX/VYYY/I#####.txt`` beside the
  ``setXX`` folders or one level up (the ``kaist-cvpr15`` release keeps ``images/`` and
  ``annotations/`` side by side), in Piotr Dollar's ``% bbGt version=3`` format: one
  ``label x y w h ...`` line per object.
* ``llvip``: ``Annotations/<id>.xml`` (Pascal VOC; ``bndbox`` corners), one per frame for both splits.
* ``pairs`` (and ``prepare``'s own output): ``<split>/annotations.json`` (COCO, as written here).

Labels are normalised to :data:`~thermal_synth_core.objects.OBJECT_CLASSES` through one
typed table per dataset (:data:`CLASS_MAPS`); a label a table does not know is ``other``.

A missing annotation file means no objects for its frames (they are left out of the
COCO file: unannotated, not empty); a malformed one is named with what is wrong. Both
are :class:`~thermal_synth_core.data.manifest.AnnotationIssue`\ s: ``prepare`` logs
them, records them in the manifest and carries on.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from thermal_synth_core.data.layouts import FrameRecord
from thermal_synth_core.data.manifest import AnnotationIssue, ObjectCounts
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.objects import OBJECT_CLASSES, Box, ObjectClass

__all__ = [
    "ANNOTATIONS_NAME",
    "CLASS_MAPS",
    "Annotations",
    "FrameObjects",
    "PreparedFrame",
    "normalise_class",
    "read_annotations",
    "write_prepared_annotations",
]

#: The COCO file ``prepare`` writes in each split folder.
ANNOTATIONS_NAME = "annotations.json"

Size = tuple[int, int]
Key = tuple[str, str]  # (split, frame id as the layout scanner names it)

_COCO: Mapping[str, ObjectClass] = {c: c for c in OBJECT_CLASSES}

#: Per layout: source label (lower case) -> normalised class. KAIST's ``people`` (a group)
#: and ``cyclist`` (a person on a bicycle, boxed together) are warm people: ``person``;
#: its uncertain ``person?`` is ``other``.
CLASS_MAPS: Mapping[str, Mapping[str, ObjectClass]] = {
    "flir-v1": {**_COCO, "motorbike": "motorcycle", "bike": "bicycle"},
    "flir-v2": {**_COCO, "bike": "bicycle", "motor": "motorcycle"},
    "kaist": {"person": "person", "people": "person", "cyclist": "person"},
    "llvip": {"person": "person"},
    "pairs": _COCO,
}


def normalise_class(label: str, table: Mapping[str, ObjectClass]) -> ObjectClass:
    """The normalised class of a dataset's ``label`` (``other`` when ``table`` does not know it)."""
    return table.get(label.strip().lower(), "other")


@dataclass(frozen=True)
class FrameObjects:
    """The objects annotated on one frame; ``image_size`` when the annotation states the image's size."""

    boxes: tuple[Box, ...] = ()
    image_size: Size | None = None


@dataclass(frozen=True)
class Annotations:
    """What a dataset's annotation files say: objects per annotated frame, the files read, the issues."""

    frames: Mapping[Key, FrameObjects] = field(default_factory=dict)
    #: Annotation files (or folders) found; empty when the dataset has no annotations at all.
    sources: tuple[str, ...] = ()
    issues: tuple[AnnotationIssue, ...] = ()

    @property
    def found(self) -> bool:
        """Whether the dataset has any annotation file (readable or not)."""
        return bool(self.sources)


class _MalformedError(Exception):
    """An annotation file that cannot be used; the message says what is wrong."""


# -- COCO (FLIR v1, FLIR v2, pairs) -----------------------------------------------------------------


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _MalformedError(f"not a finite number: {value!r}")
    return float(value)


def _box(category: ObjectClass, x: object, y: object, w: object, h: object) -> Box:
    box = Box(category, _number(x), _number(y), _number(w), _number(h))
    if box.w <= 0 or box.h <= 0:
        raise _MalformedError(f"box of width {box.w:g} and height {box.h:g}")
    return box


def _coco_images(data: Mapping[str, object]) -> dict[object, tuple[str, Size | None]]:
    """COCO ``images``: id -> (frame id, image size)."""
    images = data.get("images")
    if not isinstance(images, list):
        raise _MalformedError("no 'images' list (not a COCO file)")
    out: dict[object, tuple[str, Size | None]] = {}
    for i, img in enumerate(images):
        if not isinstance(img, Mapping) or not isinstance(img.get("file_name"), str) or "id" not in img:
            raise _MalformedError(f"images[{i}] has no 'id' and 'file_name'")
        w, h = img.get("width"), img.get("height")
        size = (w, h) if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 else None
        out[img["id"]] = (Path(str(img["file_name"]).replace("\\", "/")).stem, size)
    return out


def _coco_categories(data: Mapping[str, object], table: Mapping[str, ObjectClass]) -> dict[object, ObjectClass]:
    cats = data.get("categories")
    if not isinstance(cats, list):
        raise _MalformedError("no 'categories' list (not a COCO file)")
    return {c.get("id"): normalise_class(str(c.get("name", "")), table) for c in cats if isinstance(c, Mapping)}


def _coco_boxes(
    data: Mapping[str, object], images: Mapping[object, object], cats: Mapping[object, ObjectClass]
) -> tuple[dict[object, list[Box]], list[str]]:
    """Boxes by image id, and what was wrong with the annotations that were dropped."""
    anns = data.get("annotations")
    if not isinstance(anns, list):
        raise _MalformedError("no 'annotations' list (not a COCO file)")
    boxes: dict[object, list[Box]] = defaultdict(list)
    bad: list[str] = []
    for i, ann in enumerate(anns):
        try:
            if not isinstance(ann, Mapping) or ann.get("image_id") not in images:
                raise _MalformedError("no known 'image_id'")
            bbox = ann.get("bbox")
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise _MalformedError(f"'bbox' is not [x, y, w, h]: {bbox!r}")
            boxes[ann["image_id"]].append(_box(cats.get(ann.get("category_id"), "other"), *bbox))
        except _MalformedError as exc:
            bad.append(f"annotations[{i}]: {exc}")
    return boxes, bad


def _read_coco(path: Path, split: str, table: Mapping[str, ObjectClass]) -> tuple[dict[Key, FrameObjects], list[str]]:
    """One COCO file's frames of ``split``, and its problems (raises _MalformedError when unusable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _MalformedError(f"not readable JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise _MalformedError("not a JSON object (not a COCO file)")
    images = _coco_images(data)
    boxes, bad = _coco_boxes(data, images, _coco_categories(data, table))
    frames = {(split, fid): FrameObjects(tuple(boxes.get(img_id, ())), size) for img_id, (fid, size) in images.items()}
    problems = [f"malformed: {len(bad)} annotations dropped (first: {bad[0]})"] if bad else []
    return frames, problems


_COCO_FILES: Mapping[str, Callable[[Path, str], Path]] = {
    "flir-v1": lambda root, split: root / split / "thermal_annotations.json",
    "flir-v2": lambda root, split: (
        root
        / {"train": "images_thermal_train", "val": "images_thermal_val", "test": "video_thermal_test"}.get(split, split)
        / "coco.json"
    ),
    "pairs": lambda root, split: root / split / ANNOTATIONS_NAME,
}


def _read_coco_layout(root: Path, fmt: str, records: Sequence[FrameRecord]) -> Annotations:
    frames: dict[Key, FrameObjects] = {}
    sources: list[str] = []
    issues: list[AnnotationIssue] = []
    missing: list[str] = []
    for split in sorted({r.split for r in records if r.has_thermal}):
        path = _COCO_FILES[fmt](root, split)
        if not path.is_file():
            missing.append(str(path))
            continue
        sources.append(str(path))
        try:
            found, problems = _read_coco(path, split, CLASS_MAPS[fmt])
        except _MalformedError as exc:
            issues.append(AnnotationIssue(str(path), f"malformed: {exc}"))
            continue
        frames.update(found)
        issues.extend(AnnotationIssue(str(path), p) for p in problems)
    if sources:  # a dataset without any annotation file has none; one with some misses the others
        issues.extend(AnnotationIssue(p, "missing: no annotations for this split") for p in missing)
    return Annotations(frames, tuple(sources), tuple(issues))


# -- per-frame files (KAIST, LLVIP) ------------------------------------------------------------------


def _read_bbgt(path: Path) -> FrameObjects:
    """A KAIST ``% bbGt version=3`` file: ``label x y w h [occluded vx vy vw vh ignore angle]`` lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _MalformedError(f"not readable text: {exc}") from exc
    if not lines or not lines[0].startswith("% bbGt"):
        raise _MalformedError("no '% bbGt version=3' header")
    boxes = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts or parts[0].startswith("%"):
            continue
        if len(parts) < 5:
            raise _MalformedError(f"line {n}: expected 'label x y w h ...', got {line.strip()!r}")
        try:
            x, y, w, h = (float(v) for v in parts[1:5])
            boxes.append(_box(normalise_class(parts[0], CLASS_MAPS["kaist"]), x, y, w, h))
        except (ValueError, _MalformedError) as exc:
            raise _MalformedError(f"line {n}: {exc}") from None
    return FrameObjects(tuple(boxes))


def _voc_number(node: ET.Element | None, tag: str) -> float:
    text = node.findtext(tag) if node is not None else None
    try:
        return float(text) if text is not None else math.nan
    except ValueError:
        raise _MalformedError(f"<{tag}> is not a number: {text!r}") from None


def _read_voc(path: Path) -> FrameObjects:
    """An LLVIP Pascal VOC file: ``<object><name>`` and ``<bndbox>`` corners per object."""
    try:
        # expat >= 2.4.1 refuses entity-expansion bombs and ElementTree fetches no external entities
        tree = ET.parse(path)  # noqa: S314
    except (OSError, ET.ParseError) as exc:
        raise _MalformedError(f"not readable XML: {exc}") from exc
    size_node = tree.find("size")
    w, h = _voc_number(size_node, "width"), _voc_number(size_node, "height")
    size = (int(w), int(h)) if w > 0 and h > 0 else None
    boxes = []
    for i, obj in enumerate(tree.iter("object")):
        bb = obj.find("bndbox")
        if bb is None:
            raise _MalformedError(f"object {i + 1} has no <bndbox>")
        x0, y0, x1, y1 = (_voc_number(bb, t) for t in ("xmin", "ymin", "xmax", "ymax"))
        try:
            boxes.append(
                _box(normalise_class(obj.findtext("name") or "", CLASS_MAPS["llvip"]), x0, y0, x1 - x0, y1 - y0)
            )
        except _MalformedError as exc:
            raise _MalformedError(f"object {i + 1}: {exc}") from None
    return FrameObjects(tuple(boxes), size)


def _kaist_file(root: Path, rec: FrameRecord) -> Path | None:
    match = re.fullmatch(r"(set\d\d)_(V\d\d\d)_(.+)", rec.frame_id)
    if match is None:
        return None
    for base in (root / "annotations", root.parent / "annotations"):
        if base.is_dir():
            return base / match[1] / match[2] / f"{match[3]}.txt"
    return None


def _llvip_file(root: Path, rec: FrameRecord) -> Path | None:
    base = root / "Annotations"
    return base / f"{rec.frame_id}.xml" if base.is_dir() else None


_PER_FRAME: Mapping[str, tuple[Callable[[Path, FrameRecord], Path | None], Callable[[Path], FrameObjects]]] = {
    "kaist": (_kaist_file, _read_bbgt),
    "llvip": (_llvip_file, _read_voc),
}


def _read_per_frame(root: Path, fmt: str, records: Sequence[FrameRecord]) -> Annotations:
    locate, read = _PER_FRAME[fmt]
    frames: dict[Key, FrameObjects] = {}
    issues: list[AnnotationIssue] = []
    missing: list[Path] = []
    folders: set[str] = set()
    for rec in records:
        path = locate(root, rec) if rec.has_thermal else None
        if path is None:
            continue
        folders.add(str(path.parent))
        if not path.is_file():
            missing.append(path)
            continue
        try:
            frames[(rec.split, rec.frame_id)] = read(path)
        except _MalformedError as exc:
            issues.append(AnnotationIssue(str(path), f"malformed: {exc}"))
    if missing:
        issues.append(AnnotationIssue(str(missing[0]), f"missing: {len(missing)} frames have no annotation file"))
    return Annotations(frames, tuple(sorted(folders)), tuple(issues))


def read_annotations(root: str | Path, fmt: str, records: Sequence[FrameRecord]) -> Annotations:
    """The object annotations of the dataset at ``root`` (layout ``fmt``) for the scanned ``records``.

    Never raises on a missing or malformed annotation file: those are ``issues``. Files that
    are all well-formed but hold no object at all (image lists only, as some releases ship)
    count as no annotations.
    """
    root = Path(root)
    if fmt in _PER_FRAME:
        found = _read_per_frame(root, fmt, records)
    elif fmt in _COCO_FILES:
        found = _read_coco_layout(root, fmt, records)
    else:
        return Annotations()
    if any(f.boxes for f in found.frames.values()) or any(i.problem.startswith("malformed") for i in found.issues):
        return found
    return Annotations()


# -- writing the prepared dataset's COCO files ------------------------------------------------------


@dataclass(frozen=True)
class PreparedFrame:
    """A thermal frame ``prepare`` wrote: its split, output id, path, and the source frame's id."""

    split: str
    frame_id: str
    thermal: Path
    source_id: str


class _CocoImage(TypedDict):
    id: int
    file_name: str
    width: int
    height: int


class _CocoAnnotation(TypedDict):
    id: int
    image_id: int
    category_id: int
    bbox: list[float]
    area: float
    iscrowd: int


class _CocoCategory(TypedDict):
    id: int
    name: str


class CocoJson(TypedDict):
    """A prepared split's ``annotations.json`` (COCO detection format)."""

    images: list[_CocoImage]
    annotations: list[_CocoAnnotation]
    categories: list[_CocoCategory]


_CATEGORY_ID: Mapping[ObjectClass, int] = {c: i + 1 for i, c in enumerate(OBJECT_CLASSES)}


def _prepared_boxes(objects: FrameObjects, source_size: Size, size: Size) -> list[Box]:
    """The boxes in the prepared thermal frame's pixels: scaled by the resize, clipped to the frame."""
    src = objects.image_size or source_size
    sx, sy = size[0] / src[0], size[1] / src[1]
    scaled = (b.scaled(sx, sy).clipped(size[0], size[1]) for b in objects.boxes)
    return [b for b in scaled if b is not None]


def _coco_split(
    frames: Sequence[PreparedFrame], root: Path, objects: Mapping[str, FrameObjects], sizes: Size, size: Size
) -> CocoJson:
    doc: CocoJson = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": c} for c, i in _CATEGORY_ID.items()],
    }
    for frame in frames:
        image_id = len(doc["images"]) + 1
        rel = frame.thermal.relative_to(root).as_posix()
        doc["images"].append({"id": image_id, "file_name": rel, "width": size[0], "height": size[1]})
        for b in _prepared_boxes(objects[frame.source_id], sizes, size):
            bbox = [round(v, 2) for v in (b.x, b.y, b.w, b.h)]
            doc["annotations"].append(
                {
                    "id": len(doc["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": _CATEGORY_ID[b.category],
                    "bbox": bbox,
                    "area": round(bbox[2] * bbox[3], 2),
                    "iscrowd": 0,
                }
            )
    return doc


def write_prepared_annotations(
    out: Path, frames: Sequence[PreparedFrame], annotations: Annotations, source_size: Size, size: Size
) -> ObjectCounts:
    """Write ``OUT/<split>/annotations.json`` for the annotated ``frames``; the manifest's ``objects`` entry.

    Boxes go from the source thermal image's pixels (its annotated size, else ``source_size``)
    to the prepared frame's (``size``). Frames without annotations are left out.
    """
    by_split: dict[str, list[PreparedFrame]] = defaultdict(list)
    for f in frames:
        if (f.split, f.source_id) in annotations.frames:
            by_split[f.split].append(f)
    files: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    for split, split_frames in sorted(by_split.items()):
        objects = {f.source_id: annotations.frames[(split, f.source_id)] for f in split_frames}
        doc = _coco_split(split_frames, out / split, objects, source_size, size)
        atomic_write_json(out / split / ANNOTATIONS_NAME, doc)
        files[split] = f"{split}/{ANNOTATIONS_NAME}"
        n = Counter(OBJECT_CLASSES[a["category_id"] - 1] for a in doc["annotations"])
        counts[split] = {c: n[c] for c in OBJECT_CLASSES if n[c]}
    frames_per_split = {split: len(f) for split, f in sorted(by_split.items())}
    return ObjectCounts(files, frames_per_split, counts, annotations.issues)
