"""Write synthetic street scenes in dataset folder layouts: FLIR ADAS v1, FLIR ADAS v2, generic pairs.

Each frame is rendered independently from ``(seed, frame index)``, so generation
is deterministic, parallel (``workers``) and restartable. Alongside the images
every layout gets:

* ``ground_truth_alignment.yaml``: the exact RGB -> thermal transform used;
* ``synth_info.json``: options, the thermal view's field of view
  (``thermal_camera``, which ``prepare`` records), and one entry per frame (split,
  id, which images exist, RGB size, whether that size is covered by the
  alignment, day/night), so tests know exactly which frames ``prepare`` must pair;
* warm-object masks in the thermal frame (``masks/`` beside the thermal images,
  ``mask/`` in the pairs layout);
* COCO object annotations of the thermal frames, from the same polygons as the masks
  (:func:`~thermal_synth_core.data.synth.render.object_boxes`: each person's and car's
  visible extent, leaving out objects out of frame, under 4 px on a side or less than
  half visible): FLIR v1 ``<split>/thermal_annotations.json``, FLIR v2 ``coco.json`` of
  the thermal folders (FLIR's category ids: person 1, car 3; the RGB folders' ``coco.json``
  list images only), pairs ``<split>/annotations.json`` (the shape ``prepare`` writes).
  The world has no bicycles, so there are no cyclists to annotate.

FLIR-style imperfections are deliberate: some thermal frames have no RGB, some
RGB frames come at half size (same aspect ratio: covered by the alignment) or
at another aspect ratio (not covered), and the 8-bit thermal comes from the
camera's own AGC, different every frame.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import Alignment, AlignmentJson, scale_matrix
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME, CocoJson
from thermal_synth_core.data.imageio import write_image
from thermal_synth_core.data.manifest import ThermalCameraJson
from thermal_synth_core.data.synth.render import (
    camera_agc,
    object_boxes,
    render_mask,
    render_rgb,
    render_temperature,
    temperature_to_counts,
)
from thermal_synth_core.data.synth.world import FOCAL_RANGE, random_layout
from thermal_synth_core.errors import DataError
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.objects import OBJECT_CLASSES, Box
from thermal_synth_core.ui import progress

__all__ = [
    "BAG_ONLY_OPTIONS",
    "FLIR_CATEGORIES",
    "FOLDER_LAYOUTS",
    "GROUND_TRUTH_FILE",
    "INFO_FILE",
    "THERMAL_SIZE",
    "V1_RGB_SIZE",
    "V2_RGB_SIZE",
    "FrameJson",
    "SynthInfoJson",
    "SynthOptions",
    "SynthResult",
    "flir_v1_alignment",
    "flir_v2_alignment",
    "generate_folders",
    "other_rig_alignment",
    "rig_thermal_camera",
]

Size = tuple[int, int]
Matrix = npt.NDArray[np.float64]

FOLDER_LAYOUTS = ("flir-v1", "flir-v2", "pairs")
GROUND_TRUTH_FILE = "ground_truth_alignment.yaml"
INFO_FILE = "synth_info.json"

THERMAL_SIZE: Size = (640, 512)
V1_RGB_SIZE: Size = (1800, 1600)
V2_RGB_SIZE: Size = (1224, 1024)
PAIRS_SIZE: Size = (320, 256)
#: Odd RGB sizes FLIR datasets contain, at another aspect ratio than the main one (not covered).
V1_ODD_SIZE: Size = (1280, 1024)
V2_ODD_SIZE: Size = (1024, 768)


def flir_v1_alignment() -> Alignment:
    """The FLIR ADAS v1 style rig: ~2.48 RGB px per thermal px, offset ~(155, 155) RGB px."""
    s = 1.0 / 2.48
    m = np.array([[s, 0.0, -155.0 * s], [0.0, s, -155.0 * s], [0.0, 0.0, 1.0]])
    return Alignment.from_matrix(m, V1_RGB_SIZE, THERMAL_SIZE, "synthetic ground truth (FLIR v1 style)")


def _rolled_rig(
    rgb_size: Size, rgb_px_per_thermal_px: float, roll_deg: float, offset: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """RGB px -> thermal px: a scale and a roll about the thermal centre, which sees the RGB centre + ``offset``."""
    theta = np.deg2rad(roll_deg)
    s = 1.0 / rgb_px_per_thermal_px
    c, si = np.cos(theta) * s, np.sin(theta) * s
    rgb_c = np.array([(rgb_size[0] - 1) / 2 + offset[0], (rgb_size[1] - 1) / 2 + offset[1]])
    th_c = np.array([(THERMAL_SIZE[0] - 1) / 2, (THERMAL_SIZE[1] - 1) / 2])
    a = np.array([[c, -si], [si, c]])
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = th_c - a @ rgb_c
    return m


def flir_v2_alignment() -> Alignment:
    """A FLIR ADAS v2 style rig: 1.72 RGB px per thermal px, rotated 0.3 degrees, off-centre."""
    m = _rolled_rig(V2_RGB_SIZE, 1.72, 0.3, (9.0, -7.0))
    return Alignment.from_matrix(m, V2_RGB_SIZE, THERMAL_SIZE, "synthetic ground truth (FLIR v2 style)")


def other_rig_alignment() -> Alignment:
    """A rig unlike FLIR's (``synth-data --layout bag --rig other``): 2.05 RGB px per thermal px, rotated 1.5 degrees.

    The thermal view is narrower than the FLIR v1 rig's (HFOV ~37.5 degrees against ~44.6), its centre
    sits 60 px right of and 55 px above the reference RGB frame's centre, and the thermal camera is rolled
    by 1.5 degrees against the RGB one. The whole thermal view lies inside the RGB frame.
    """
    m = _rolled_rig(V1_RGB_SIZE, 2.05, 1.5, (60.0, -55.0))
    return Alignment.from_matrix(m, V1_RGB_SIZE, THERMAL_SIZE, "synthetic ground truth (another rig)")


def rig_thermal_camera(ref_width: int, to_thermal: Matrix, thermal_width: int) -> ThermalCameraJson:
    """The horizontal field of view of the synthetic thermal frames (``synth_info.json``'s ``thermal_camera``).

    The world is rendered through a pinhole of focal ``FOCAL_RANGE`` x the reference frame's width
    (drawn per frame); ``to_thermal`` (reference px -> thermal px) scales it into the thermal frame.
    The recorded value is the field of view at the middle of that range.
    """
    scale = math.sqrt(abs(float(np.linalg.det(np.asarray(to_thermal, dtype=np.float64)[:2, :2]))))

    def hfov(focal_factor: float) -> float:
        return math.degrees(2.0 * math.atan(thermal_width / 2.0 / (ref_width * focal_factor * scale)))

    lo, hi = FOCAL_RANGE
    return {
        "hfov_deg": round(hfov((lo + hi) / 2.0), 2),
        "width": int(thermal_width),
        "source": (
            f"synthetic rig (thermal-synth synth-data): pinhole focal {lo:g}-{hi:g} x the reference width, "
            f"HFOV {hfov(hi):.1f}-{hfov(lo):.1f} deg per frame, middle of the range recorded"
        ),
    }


@dataclass(frozen=True)
class SynthOptions:
    """What to generate. Sizes default per layout (see ``synth-data --help``)."""

    layout: str
    n: int = 100
    seed: int = 0
    rgb_size: Size | None = None
    thermal_size: Size | None = None
    night_fraction: float = 0.3
    missing_fraction: float = 0.08
    odd_fraction: float = 0.06
    workers: int = 1
    # bag layout only
    storage: str = "sqlite3"
    compressed: bool = False
    rgb_rate: float = 10.0
    thermal_rate: float = 9.0
    #: The camera rig: "flir" (FLIR v1 style) or "other" (:func:`other_rig_alignment`); see ``bag.RIGS``.
    rig: str = "flir"
    #: Standstill periods in the drive (the car and the scene stand still; only sensor noise changes).
    stops: int = 0
    #: Also write ``sensor_msgs/msg/CameraInfo`` beside each camera's images (``bag.BAG_INFO_TOPICS``).
    camera_info: bool = False


#: SynthOptions fields only the bag layout uses and the folder layouts' ``synth_info.json`` leaves out.
BAG_ONLY_OPTIONS = ("rig", "stops", "camera_info")


@dataclass(frozen=True)
class SynthResult:
    """What was written."""

    out: Path
    layout: str
    rgb_frames: int
    thermal_frames: int
    pairs: int
    alignment: Alignment
    #: Layout-specific figures for the summary line (bag: storage, segments, nights).
    extra: dict[str, str | int] = field(default_factory=dict)


class FrameJson(TypedDict):
    """One frame of ``synth_info.json``: which images exist and whether ``prepare`` must pair it."""

    split: str
    id: str
    rgb: bool
    thermal: bool
    rgb_size: list[int] | None
    covered: bool  # the RGB size is covered by the alignment
    pair: bool
    night: bool


class SynthInfoJson(TypedDict):
    """``synth_info.json`` of the folder layouts."""

    generator: str
    options: dict[str, object]  # SynthOptions as JSON values
    alignment: AlignmentJson
    thermal_camera: ThermalCameraJson
    frames: list[FrameJson]


class _CocoImageJson(TypedDict):
    id: int
    file_name: str
    width: int
    height: int


class _CocoAnnotationJson(TypedDict):
    id: int
    image_id: int
    category_id: int
    bbox: list[float]  # x, y, w, h in thermal px
    area: float
    iscrowd: int


class _CocoJson(TypedDict):
    """The COCO annotation files the FLIR layouts carry (the RGB folders' list images only)."""

    info: dict[str, str]
    images: list[_CocoImageJson]
    annotations: list[_CocoAnnotationJson]
    categories: list[dict[str, int | str]]


#: FLIR ADAS's category ids (COCO's) of the classes the world has, in both FLIR layouts.
FLIR_CATEGORIES: dict[str, int] = {"person": 1, "car": 3}
#: The ids ``prepare`` gives the normalised classes (its ``annotations.json``): the pairs layout's.
_PREPARED_CATEGORIES: dict[str, int] = {c: i + 1 for i, c in enumerate(OBJECT_CLASSES)}

Boxes = tuple[Box, ...]


@dataclass(frozen=True)
class _Geometry:
    ref_size: Size  # the world's reference RGB frame
    to_thermal: Matrix  # reference RGB px -> thermal px
    thermal_size: Size
    rgb_matrix_pairs: Matrix | None  # pairs layout: reference px -> RGB px of the thermal field of view


@dataclass(frozen=True)
class _Task:
    index: int
    seed: int
    night: bool
    rgb_path: str | None
    rgb_size: Size | None
    thermal8_path: str | None
    thermal16_path: str | None
    mask_path: str | None
    scene_offset: int = 0  # v2 train/val: RGB-only and thermal-only frames show different scenes


def _render_task(task: _Task, geo: _Geometry) -> Boxes:
    """Render and write one task's images; the boxes of its objects when it writes a thermal frame."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng([task.seed, task.index, task.scene_offset])
    layout = random_layout(rng, geo.ref_size, task.night)
    scene = layout.scene_at(0.0)
    if task.rgb_path is not None and task.rgb_size is not None:
        if geo.rgb_matrix_pairs is not None:
            rgb = render_rgb(scene, task.rgb_size, rng, matrix=geo.rgb_matrix_pairs)
        else:
            rgb = render_rgb(scene, task.rgb_size, rng)
        write_image(task.rgb_path, rgb, jpeg_quality=92)
    if task.thermal8_path or task.thermal16_path or task.mask_path:
        temp = render_temperature(scene, geo.to_thermal, geo.thermal_size, rng)
        raw = temperature_to_counts(temp, rng)
        if task.thermal16_path:
            write_image(task.thermal16_path, raw)
        if task.thermal8_path:
            write_image(task.thermal8_path, camera_agc(raw, rng), jpeg_quality=95)
        if task.mask_path:
            write_image(task.mask_path, render_mask(scene, geo.to_thermal, geo.thermal_size))
    if task.thermal8_path is None:
        return ()
    return tuple(o.box for o in object_boxes(scene, geo.to_thermal, geo.thermal_size))  # no random draws


def _run(tasks: Sequence[_Task], geo: _Geometry, workers: int, desc: str) -> dict[str, Boxes]:
    """Render every task; the object boxes of each thermal frame by its 8-bit thermal path."""
    if workers <= 1 or len(tasks) < 4:
        results: Iterator[Boxes] = (_render_task(task, geo) for task in tasks)
        found = list(progress(results, total=len(tasks), desc=desc, unit="frame"))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            results = pool.map(_render_task, tasks, [geo] * len(tasks), chunksize=2)
            found = list(progress(results, total=len(tasks), desc=desc, unit="frame"))
    return {t.thermal8_path: boxes for t, boxes in zip(tasks, found, strict=True) if t.thermal8_path is not None}


def _pick_indices(rng: np.random.Generator, n: int, fraction: float, exclude: set[int], least: int = 1) -> set[int]:
    """``round(n * fraction)`` indices (at least ``least`` when fraction > 0 and n >= 8), not in ``exclude``."""
    want = round(n * fraction)
    if fraction > 0 and n >= 8:
        want = max(want, least)
    free = [i for i in rng.permutation(n).tolist() if i not in exclude]
    return set(free[:want])


def _scaled(size: Size, ref: Size, base: Size) -> Size:
    """``base`` (a size relative to ``ref``) scaled like ``size`` is to ``ref``."""
    k = size[0] / ref[0]
    return (max(round(base[0] * k), 8), max(round(base[1] * k), 8))


def _check_aspect(size: Size, ref: Size, what: str) -> None:
    if abs((size[0] / size[1]) / (ref[0] / ref[1]) - 1.0) > 0.01:
        raise DataError(f"{what} {size[0]}x{size[1]} must keep the aspect ratio of {ref[0]}x{ref[1]}")


def _night_flags(rng: np.random.Generator, n: int, fraction: float) -> list[bool]:
    nights = _pick_indices(rng, n, fraction, set())
    return [i in nights for i in range(n)]


def _v1(out: Path, opt: SynthOptions) -> SynthResult:
    rgb_size = opt.rgb_size or V1_RGB_SIZE
    thermal_size = opt.thermal_size or THERMAL_SIZE
    _check_aspect(rgb_size, V1_RGB_SIZE, "--rgb-size")
    _check_aspect(thermal_size, THERMAL_SIZE, "--size")
    ref = flir_v1_alignment()
    to_thermal = scale_matrix(THERMAL_SIZE, thermal_size) @ ref.as_array()
    truth = Alignment.from_matrix(to_thermal @ scale_matrix(rgb_size, V1_RGB_SIZE), rgb_size, thermal_size, ref.method)
    n = opt.n
    rng = np.random.default_rng([opt.seed, 1001])
    nights = _night_flags(rng, n, opt.night_fraction)
    missing = _pick_indices(rng, n, opt.missing_fraction, set())
    # At least one odd frame of each kind: half size (covered) and another aspect ratio (not covered).
    odd = sorted(_pick_indices(rng, n, opt.odd_fraction, missing, least=2))
    odd_covered = set(odd[0::2])
    odd_other = set(odd[1::2])
    n_train = max(round(n * 0.7), 1)
    n_val = max(round(n * 0.15), 1 if n >= 3 else 0)
    tasks: list[_Task] = []
    frames: list[FrameJson] = []
    per_split: dict[str, list[FrameJson]] = {}
    for i in range(n):
        split = "train" if i < n_train else "val" if i < n_train + n_val else "video"
        fid = f"FLIR_video_{i - n_train - n_val + 1:05d}" if split == "video" else f"FLIR_{i + 1:05d}"
        base = out / split
        if i in missing:
            size: Size | None = None
        elif i in odd_covered:
            size = (rgb_size[0] // 2, rgb_size[1] // 2)
        elif i in odd_other:
            size = _scaled(rgb_size, V1_RGB_SIZE, V1_ODD_SIZE)
        else:
            size = rgb_size
        tasks.append(
            _Task(
                index=i,
                seed=opt.seed,
                night=nights[i],
                rgb_path=str(base / "RGB" / f"{fid}.jpg") if size else None,
                rgb_size=size,
                thermal8_path=str(base / "thermal_8_bit" / f"{fid}.jpeg"),
                thermal16_path=str(base / "thermal_16_bit" / f"{fid}.tiff"),
                mask_path=str(base / "masks" / f"{fid}.png"),
            )
        )
        entry = _frame_entry(split, fid, rgb_size=size, thermal=True, truth=truth, night=nights[i])
        frames.append(entry)
        per_split.setdefault(split, []).append(entry)
    geo = _Geometry(V1_RGB_SIZE, to_thermal, thermal_size, None)
    boxes = _run(tasks, geo, opt.workers, "synth flir-v1")
    for split, entries in per_split.items():
        names = [f"thermal_8_bit/{e['id']}.jpeg" for e in entries]
        objects = [boxes[str(out / split / name)] for name in names]
        atomic_write_json(
            out / split / "thermal_annotations.json", _coco(names, thermal_size, "FLIR ADAS v1 (synthetic)", objects)
        )
    return _finish(out, opt, truth, frames, geo)


def _frame_entry(
    split: str, fid: str, *, rgb_size: Size | None, thermal: bool, truth: Alignment, night: bool
) -> FrameJson:
    covered = rgb_size is not None and truth.covers(rgb_size)
    return {
        "split": split,
        "id": fid,
        "rgb": rgb_size is not None,
        "thermal": thermal,
        "rgb_size": list(rgb_size) if rgb_size else None,
        "covered": covered,
        "pair": bool(thermal and covered),
        "night": night,
    }


def _annotation(ann_id: int, image_id: int, box: Box, categories: dict[str, int]) -> _CocoAnnotationJson:
    bbox = [round(v, 2) for v in (box.x, box.y, box.w, box.h)]
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": categories[box.category],
        "bbox": bbox,
        "area": round(bbox[2] * bbox[3], 2),
        "iscrowd": 0,
    }


def _coco(file_names: Sequence[str], size: Size, description: str, objects: Sequence[Boxes] | None = None) -> _CocoJson:
    """A FLIR-style COCO file: the images (ids from 0), and their ``objects`` when given (ids from 1)."""
    annotations: list[_CocoAnnotationJson] = []
    for image_id, boxes in enumerate(objects or ()):
        annotations.extend(_annotation(len(annotations) + 1, image_id, b, FLIR_CATEGORIES) for b in boxes)
    return {
        "info": {"description": description},
        "images": [
            {"id": i, "file_name": name, "width": size[0], "height": size[1]} for i, name in enumerate(file_names)
        ],
        "annotations": annotations,
        "categories": [{"id": i, "name": c} for c, i in FLIR_CATEGORIES.items()],
    }


def _prepared_coco(file_names: Sequence[str], size: Size, objects: Sequence[Boxes]) -> CocoJson:
    """The pairs layout's ``<split>/annotations.json``: the shape (and category ids) ``prepare`` writes."""
    doc: CocoJson = {
        "images": [
            {"id": i, "file_name": name, "width": size[0], "height": size[1]}
            for i, name in enumerate(file_names, start=1)
        ],
        "annotations": [],
        "categories": [{"id": i, "name": c} for c, i in _PREPARED_CATEGORIES.items()],
    }
    for image_id, boxes in enumerate(objects, start=1):
        for b in boxes:
            ann = _annotation(len(doc["annotations"]) + 1, image_id, b, _PREPARED_CATEGORIES)
            doc["annotations"].append(ann)
    return doc


def _token(rng: np.random.Generator, n: int = 17) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), n))


def _v2(out: Path, opt: SynthOptions) -> SynthResult:
    rgb_size = opt.rgb_size or V2_RGB_SIZE
    thermal_size = opt.thermal_size or THERMAL_SIZE
    _check_aspect(rgb_size, V2_RGB_SIZE, "--rgb-size")
    _check_aspect(thermal_size, THERMAL_SIZE, "--size")
    ref = flir_v2_alignment()
    to_thermal = scale_matrix(THERMAL_SIZE, thermal_size) @ ref.as_array()
    truth = Alignment.from_matrix(to_thermal @ scale_matrix(rgb_size, V2_RGB_SIZE), rgb_size, thermal_size, ref.method)
    n = opt.n
    rng = np.random.default_rng([opt.seed, 2002])
    nights = _night_flags(rng, n, opt.night_fraction)
    n_train = round(n * 0.4)
    n_val = round(n * 0.1)
    n_test = n - n_train - n_val
    test_missing = {n_train + n_val + i for i in _pick_indices(rng, n_test, opt.missing_fraction, set())}
    test_odd = {
        n_train + n_val + i
        for i in _pick_indices(rng, n_test, opt.odd_fraction, {j - n_train - n_val for j in test_missing})
    }
    videos = [_token(rng) for _ in range(max(1, n // 10))]
    tasks: list[_Task] = []
    frames: list[FrameJson] = []
    pairing: dict[str, str] = {}
    listing: dict[str, list[str]] = {}
    for i in range(n):
        split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
        rgb_dir, th_dir = (
            (out / f"images_rgb_{split}", out / f"images_thermal_{split}")
            if split != "test"
            else (out / "video_rgb_test", out / "video_thermal_test")
        )
        vid = videos[i % len(videos)]
        frame_no = 15 * i
        r_name = f"video-{vid}-frame-{frame_no:06d}-{_token(rng)}"
        t_name = f"video-{vid}-frame-{frame_no:06d}-{_token(rng)}"
        t8 = str(th_dir / "data" / f"{t_name}.jpg")
        t16 = str(th_dir / "analyticsData" / f"{t_name}.tiff")
        tmask = str(th_dir / "masks" / f"{t_name}.png")
        if split != "test":
            # Independent single-camera samples, like the real train/val folders.
            tasks.append(
                _Task(i, opt.seed, nights[i], str(rgb_dir / "data" / f"{r_name}.jpg"), rgb_size, None, None, None)
            )
            tasks.append(_Task(i, opt.seed, nights[i], None, None, t8, t16, tmask, scene_offset=1))
            frames.append(_frame_entry(split, r_name, rgb_size=rgb_size, thermal=False, truth=truth, night=nights[i]))
            frames.append(_frame_entry(split, t_name, rgb_size=None, thermal=True, truth=truth, night=nights[i]))
            listing.setdefault(rgb_dir.name, []).append(r_name)
            listing.setdefault(th_dir.name, []).append(t_name)
            continue
        size: Size | None = (
            None if i in test_missing else _scaled(rgb_size, V2_RGB_SIZE, V2_ODD_SIZE) if i in test_odd else rgb_size
        )
        tasks.append(
            _Task(
                i, opt.seed, nights[i], str(rgb_dir / "data" / f"{r_name}.jpg") if size else None, size, t8, t16, tmask
            )
        )
        frames.append(_frame_entry(split, t_name, rgb_size=size, thermal=True, truth=truth, night=nights[i]))
        listing.setdefault(th_dir.name, []).append(t_name)
        if size is not None:
            pairing[f"{r_name}.jpg"] = f"{t_name}.jpg"
            listing.setdefault(rgb_dir.name, []).append(r_name)
    geo = _Geometry(V2_RGB_SIZE, to_thermal, thermal_size, None)
    boxes = _run(tasks, geo, opt.workers, "synth flir-v2")
    atomic_write_json(out / "rgb_to_thermal_vid_map.json", pairing)
    for folder, names in listing.items():
        files = [f"data/{name}.jpg" for name in names]
        if "thermal" in folder:
            objects = [boxes[str(out / folder / f)] for f in files]
            coco = _coco(files, thermal_size, "FLIR ADAS v2 (synthetic)", objects)
        else:
            coco = _coco(files, rgb_size, "FLIR ADAS v2 (synthetic)")
        atomic_write_json(out / folder / "coco.json", coco)
        atomic_write_json(
            out / folder / "index.json",
            {"frames": [{"datasetFrameId": i, "file_name": f} for i, f in enumerate(files)]},
        )
    return _finish(out, opt, truth, frames, geo)


def _pairs(out: Path, opt: SynthOptions) -> SynthResult:
    thermal_size = opt.thermal_size or PAIRS_SIZE
    rgb_size = opt.rgb_size or thermal_size
    _check_aspect(rgb_size, thermal_size, "--rgb-size")
    rig = flir_v1_alignment()
    to_thermal = scale_matrix(THERMAL_SIZE, thermal_size) @ rig.as_array()
    rgb_matrix = scale_matrix(thermal_size, rgb_size) @ to_thermal
    truth = Alignment.identity(thermal_size) if rgb_size == thermal_size else Alignment.resize(rgb_size, thermal_size)
    n = opt.n
    rng = np.random.default_rng([opt.seed, 3003])
    nights = _night_flags(rng, n, opt.night_fraction)
    n_train = n - max(round(n * 0.15), 1 if n >= 2 else 0)
    tasks: list[_Task] = []
    frames: list[FrameJson] = []
    for i in range(n):
        split = "train" if i < n_train else "val"
        fid = f"{i:05d}"
        base = out / split
        tasks.append(
            _Task(
                i,
                opt.seed,
                nights[i],
                str(base / "rgb" / f"{fid}.png"),
                rgb_size,
                str(base / "thermal" / f"{fid}.png"),
                str(base / "thermal16" / f"{fid}.png"),
                str(base / "mask" / f"{fid}.png"),
            )
        )
        frames.append(_frame_entry(split, fid, rgb_size=rgb_size, thermal=True, truth=truth, night=nights[i]))
    geo = _Geometry(V1_RGB_SIZE, to_thermal, thermal_size, rgb_matrix)
    boxes = _run(tasks, geo, opt.workers, "synth pairs")
    for split in sorted({f["split"] for f in frames}):
        names = [f"thermal/{f['id']}.png" for f in frames if f["split"] == split]
        objects = [boxes[str(out / split / name)] for name in names]
        atomic_write_json(out / split / ANNOTATIONS_NAME, _prepared_coco(names, thermal_size, objects))
    truth = Alignment.from_matrix(truth.as_array(), truth.rgb_size, truth.thermal_size, "co-registered (synthetic)")
    truth.save(out / "alignment.yaml")
    return _finish(out, opt, truth, frames, geo)


def _finish(out: Path, opt: SynthOptions, truth: Alignment, frames: list[FrameJson], geo: _Geometry) -> SynthResult:
    truth.save(out / GROUND_TRUTH_FILE)
    info: SynthInfoJson = {
        "generator": "thermal-synth synth-data",
        "options": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opt).items() if k not in BAG_ONLY_OPTIONS
        },
        "alignment": truth.to_dict(),
        "thermal_camera": rig_thermal_camera(geo.ref_size[0], geo.to_thermal, geo.thermal_size[0]),
        "frames": frames,
    }
    atomic_write_json(out / INFO_FILE, info)
    return SynthResult(
        out=out,
        layout=opt.layout,
        rgb_frames=sum(1 for f in frames if f["rgb"]),
        thermal_frames=sum(1 for f in frames if f["thermal"]),
        pairs=sum(1 for f in frames if f["pair"]),
        alignment=truth,
    )


def generate_folders(out: str | Path, options: SynthOptions) -> SynthResult:
    """Write a synthetic dataset in one of :data:`FOLDER_LAYOUTS` under ``out``."""
    out = Path(out)
    writers = {"flir-v1": _v1, "flir-v2": _v2, "pairs": _pairs}
    if options.layout not in writers:
        raise DataError(f"unknown synthetic layout {options.layout!r}; valid: {', '.join(writers)}, bag")
    if not 0.0 <= options.night_fraction <= 1.0:
        raise DataError(f"--night-fraction must be between 0 and 1, got {options.night_fraction}")
    defaults = SynthOptions(layout=options.layout)
    if any(getattr(options, k) != getattr(defaults, k) for k in BAG_ONLY_OPTIONS):
        raise DataError("--rig, --stops and --camera-info apply to --layout bag only")
    out.mkdir(parents=True, exist_ok=True)
    return writers[options.layout](out, options)
