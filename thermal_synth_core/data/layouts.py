"""Dataset layouts: one registry that turns a dataset folder into frame records.

Each layout knows where a dataset keeps its RGB, 8-bit thermal, 16-bit thermal
and (synthetic data only) warm-object masks, and how frames pair up. Scanning
only lists files; nothing is decoded, so it is fast on 30k-frame datasets.

Layouts (``--format``):

* ``flir-v1``: FLIR ADAS v1 (``FLIR_ADAS_1_3``): ``train|val|video/`` each with
  ``RGB/*.jpg``, ``thermal_8_bit/*.jpeg``, ``thermal_16_bit/*.tiff``; pairs share the id.
* ``flir-v2``: FLIR ADAS v2: ``images_{rgb,thermal}_{train,val}/data/`` and
  ``video_{rgb,thermal}_test/data/``; the test videos pair through
  ``rgb_to_thermal_vid_map.json``. Train/val images of the two cameras are
  independent samples (no pairing map), so they come out as single-camera
  frames: usable unpaired (CycleGAN), never as pairs.
* ``kaist``: ``setXX/V00Y/{visible,lwir}/I%05d.jpg``, co-registered; set00-05 train, set06-11 test.
* ``llvip``: ``{visible,infrared}/{train,test}/*.jpg``, same file names, aligned.
* ``pairs``: a generic rig and ``prepare``'s own output: ``<split>/{rgb,thermal}/<id>.*``,
  optional ``<split>/thermal16/`` (raw) and ``<split>/mask/``, optional ``alignment.yaml``.

An unknown format is an error listing the valid ones; a missing folder is an
error naming the folder the layout expected.

Each public dataset's layout also knows its thermal camera's horizontal field of
view (:class:`ThermalCameraPreset`), which ``prepare`` records in the manifest so
that a model keeps the angular scale (degrees per pixel) it was trained at. The
``pairs`` layout has none: ``prepare --thermal-hfov`` sets it (45 deg assumed).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import DataError

__all__ = [
    "DEFAULT_THERMAL_HFOV_DEG",
    "FLIR_ADAS_CAMERA",
    "FORMATS",
    "KAIST_CAMERA",
    "LAYOUTS",
    "LLVIP_CAMERA",
    "DatasetLayout",
    "FrameRecord",
    "ThermalCameraPreset",
    "get_layout",
    "scan_dataset",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class FrameRecord:
    """One frame of a dataset: where its RGB, thermal and mask files are (None when absent)."""

    split: str
    frame_id: str
    rgb: Path | None
    thermal8: Path | None  # the thermal image as distributed (usually 8-bit AGC'd)
    thermal16: Path | None = None  # raw radiometric thermal (14-bit in 16), when the dataset has it
    mask: Path | None = None  # warm-object mask in the thermal frame (synthetic data)

    @property
    def has_thermal(self) -> bool:
        """Whether any thermal image exists for this frame."""
        return self.thermal8 is not None or self.thermal16 is not None

    @property
    def paired(self) -> bool:
        """Whether both an RGB and a thermal image exist."""
        return self.rgb is not None and self.has_thermal

    @property
    def key(self) -> str:
        """``split/frame_id``: unique within a dataset."""
        return f"{self.split}/{self.frame_id}"


@dataclass(frozen=True)
class ThermalCameraPreset:
    """The thermal camera a dataset was recorded with: horizontal field of view of its full frames."""

    hfov_deg: float
    #: Which camera, and where the number comes from (recorded in the manifest and the model file).
    camera: str
    #: True when no source states the field of view and ``hfov_deg`` is an estimate (prepare warns).
    estimated: bool = False


#: FLIR ADAS v1 and v2: FLIR Tau2 640x512 with a 13 mm lens; the datasets' documentation states a
#: 45 deg horizontal (37 deg vertical) field of view.
FLIR_ADAS_CAMERA = ThermalCameraPreset(45.0, "FLIR ADAS thermal camera: FLIR Tau2 640x512, 13 mm lens, 45 deg HFOV")

#: KAIST multispectral pedestrian (Hwang et al., CVPR 2015, sec. 2.1): a FLIR A35 (320x256) behind a beam
#: splitter; the paper states a 39 deg *vertical* field of view for the thermal camera and for the released
#: 640x512 co-registered frames (same focal length and principal point for both cameras). No horizontal
#: value is stated; with a pinhole model and square pixels it is 2 * atan(640/512 * tan(39/2 deg)) = 47.75 deg.
KAIST_CAMERA = ThermalCameraPreset(
    round(math.degrees(2.0 * math.atan(640.0 / 512.0 * math.tan(math.radians(39.0 / 2.0)))), 2),
    "KAIST thermal camera: FLIR A35; 39 deg vertical FOV of the 640x512 frames (Hwang et al. 2015), "
    "HFOV derived for square pixels",
)

#: LLVIP (Jia et al., 2021). Known: the camera model, a HIKVISION DS-2TD8166BJZFY-75H2F/V2 binocular
#: platform, and (maintainers, bupt-ai-cz/LLVIP issue 15) that its infrared view is the narrower one, so
#: the registered frames show the whole thermal view. Stated nowhere found: the field of view. Assumed:
#: Hikvision names these cameras by thermal focal length (DS-2TD8166-100C2F: 100 mm, -150ZE2F: 150 mm),
#: so "-75": a 75 mm lens, on the DS-2TD8166 series' 640x512 sensor with 17 um pixels:
#: 2 * atan(640 * 17 um / 2 / 75 mm) = 8.3 deg (telephoto: the scenes are watched from far away).
#: An estimate: prepare warns, and --thermal-hfov overrides it.
LLVIP_CAMERA = ThermalCameraPreset(
    8.3,
    "LLVIP thermal camera: HIKVISION DS-2TD8166BJZFY-75H2F/V2; HFOV estimated from its 75 mm lens "
    "and 640x512 17 um sensor (not stated by the dataset)",
    estimated=True,
)

#: What ``prepare`` records for data whose thermal camera it does not know (``pairs`` without
#: ``--thermal-hfov``): the FLIR ADAS camera's field of view, which every earlier model assumed.
DEFAULT_THERMAL_HFOV_DEG = 45.0


@dataclass(frozen=True)
class DatasetLayout:
    """How one dataset format is laid out on disk."""

    name: str
    description: str
    scan: Callable[[Path], list[FrameRecord]]
    #: Whether the cameras are co-registered (identity or pure rescale) so no estimation is needed.
    coregistered: bool
    #: An alignment the dataset ships with, if any (e.g. ``alignment.yaml`` of the pairs layout).
    shipped_alignment: Callable[[Path], Alignment | None] = lambda root: None
    #: The dataset's thermal camera (None: unknown, as for the generic ``pairs`` layout).
    thermal_camera: ThermalCameraPreset | None = None


def _check_root(root: Path) -> Path:
    root = Path(root)
    if not root.exists():
        raise DataError(f"dataset root not found: {root}")
    if not root.is_dir():
        raise DataError(f"dataset root is not a folder: {root}")
    return root


def _files(folder: Path, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> dict[str, Path]:
    """Image files of ``folder`` by stem (hidden and partial files ignored)."""
    wanted = {s.lower() for s in suffixes}
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in wanted or not p.is_file():
            continue
        out.setdefault(p.stem, p)
    return out


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise DataError(f"missing folder {path}: {what}")


# -- FLIR ADAS v1 ----------------------------------------------------------------------------

_V1_SPLITS = ("train", "val", "video")


def _scan_flir_v1(root: Path) -> list[FrameRecord]:
    root = _check_root(root)
    splits = [s for s in _V1_SPLITS if (root / s).is_dir()]
    if not splits:
        raise DataError(
            f"{root} does not look like FLIR ADAS v1: expected split folders train/, val/ or video/ "
            "(each with RGB/ and thermal_8_bit/); point --root at the FLIR_ADAS_1_3 folder"
        )
    records: list[FrameRecord] = []
    for split in splits:
        base = root / split
        t8_dir, t16_dir = base / "thermal_8_bit", base / "thermal_16_bit"
        if not t8_dir.is_dir() and not t16_dir.is_dir():
            raise DataError(f"missing folder {t8_dir}: FLIR ADAS v1 keeps the thermal frames of each split there")
        _require_dir(base / "RGB", "FLIR ADAS v1 keeps the RGB frames of each split there")
        rgb = _files(base / "RGB")
        t8 = _files(t8_dir)
        t16 = _files(t16_dir, (".tif", ".tiff", ".png"))
        masks = _files(base / "masks", (".png",))
        for fid in sorted(set(rgb) | set(t8) | set(t16)):
            records.append(FrameRecord(split, fid, rgb.get(fid), t8.get(fid), t16.get(fid), masks.get(fid)))
    return records


# -- FLIR ADAS v2 ----------------------------------------------------------------------------

_V2_FOLDERS = {
    "train": ("images_rgb_train", "images_thermal_train"),
    "val": ("images_rgb_val", "images_thermal_val"),
    "test": ("video_rgb_test", "video_thermal_test"),
}
V2_MAP = "rgb_to_thermal_vid_map.json"


def _read_v2_map(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not a valid JSON pairing map: {exc}") from exc
    if not isinstance(data, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise DataError(f"{path}: expected a JSON object mapping RGB file names to thermal file names")
    # Entries may carry a "data/" prefix or not; pair on the bare stem.
    return {Path(k).stem: Path(v).stem for k, v in data.items()}


def _scan_flir_v2(root: Path) -> list[FrameRecord]:
    root = _check_root(root)
    present = {s: f for s, f in _V2_FOLDERS.items() if (root / f[0]).is_dir() or (root / f[1]).is_dir()}
    if not present:
        expected = ", ".join(f"{a}/, {b}/" for a, b in _V2_FOLDERS.values())
        raise DataError(f"{root} does not look like FLIR ADAS v2: expected some of {expected} (each with data/)")
    pairing = _read_v2_map(root / V2_MAP) if (root / V2_MAP).is_file() else None
    records: list[FrameRecord] = []
    for split, (rgb_name, th_name) in present.items():
        rgb_dir, th_dir = root / rgb_name, root / th_name
        for d in (rgb_dir, th_dir):
            if d.is_dir():
                _require_dir(d / "data", "FLIR ADAS v2 keeps the images of each folder in data/")
        rgb = _files(rgb_dir / "data")
        t8 = _files(th_dir / "data")
        t16 = _files(th_dir / "analyticsData", (".tif", ".tiff", ".png"))
        masks = _files(th_dir / "masks", (".png",))
        used_rgb: set[str] = set()
        used_th: set[str] = set()
        if split == "test" and pairing is not None:
            for r_stem, t_stem in sorted(pairing.items(), key=lambda kv: kv[1]):
                if r_stem not in rgb and t_stem not in t8 and t_stem not in t16:
                    continue
                records.append(
                    FrameRecord(split, t_stem, rgb.get(r_stem), t8.get(t_stem), t16.get(t_stem), masks.get(t_stem))
                )
                used_rgb.add(r_stem)
                used_th.add(t_stem)
        else:
            # No pairing map for train/val (the two cameras were sampled independently);
            # identical names, if a re-packaging has them, are taken as pairs.
            for stem in sorted(set(rgb) & (set(t8) | set(t16))):
                records.append(FrameRecord(split, stem, rgb[stem], t8.get(stem), t16.get(stem), masks.get(stem)))
                used_rgb.add(stem)
                used_th.add(stem)
        for stem in sorted(set(rgb) - used_rgb):
            records.append(FrameRecord(split, stem, rgb[stem], None, None, None))
        for stem in sorted((set(t8) | set(t16)) - used_th):
            records.append(FrameRecord(split, stem, None, t8.get(stem), t16.get(stem), masks.get(stem)))
    return records


# -- KAIST, LLVIP ----------------------------------------------------------------------------


def _scan_kaist(root: Path) -> list[FrameRecord]:
    root = _check_root(root)
    sets = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"set\d\d", p.name))
    if not sets:
        raise DataError(
            f"{root} does not look like KAIST: expected folders set00 ... set11, each with V000/visible and V000/lwir"
        )
    records: list[FrameRecord] = []
    for s in sets:
        split = "train" if int(s.name[3:]) <= 5 else "test"
        for v in sorted(p for p in s.iterdir() if p.is_dir() and re.fullmatch(r"V\d\d\d", p.name)):
            _require_dir(v / "visible", "KAIST keeps the RGB frames of each video there")
            _require_dir(v / "lwir", "KAIST keeps the thermal frames of each video there")
            rgb, th = _files(v / "visible"), _files(v / "lwir")
            for stem in sorted(set(rgb) | set(th)):
                records.append(FrameRecord(split, f"{s.name}_{v.name}_{stem}", rgb.get(stem), th.get(stem)))
    return records


def _scan_llvip(root: Path) -> list[FrameRecord]:
    root = _check_root(root)
    _require_dir(root / "visible", "LLVIP keeps the RGB frames in visible/{train,test}/")
    _require_dir(root / "infrared", "LLVIP keeps the thermal frames in infrared/{train,test}/")
    splits = sorted(
        {p.name for p in (root / "visible").iterdir() if p.is_dir()}
        | {p.name for p in (root / "infrared").iterdir() if p.is_dir()}
    )
    if not splits:
        raise DataError(f"missing folder {root / 'visible' / 'train'}: LLVIP keeps each split in visible/<split>/")
    records: list[FrameRecord] = []
    for split in splits:
        rgb, th = _files(root / "visible" / split), _files(root / "infrared" / split)
        for stem in sorted(set(rgb) | set(th)):
            records.append(FrameRecord(split, stem, rgb.get(stem), th.get(stem)))
    return records


# -- generic pairs (and prepare's output) ----------------------------------------------------


def _scan_pairs(root: Path) -> list[FrameRecord]:
    root = _check_root(root)
    splits = sorted(p.name for p in root.iterdir() if p.is_dir() and ((p / "rgb").is_dir() or (p / "thermal").is_dir()))
    if not splits:
        raise DataError(
            f"{root} does not look like a pairs dataset: expected <split>/rgb/ and <split>/thermal/ "
            "(e.g. train/rgb/0001.png and train/thermal/0001.png)"
        )
    records: list[FrameRecord] = []
    for split in splits:
        base = root / split
        _require_dir(base / "rgb", "the pairs layout keeps RGB frames in <split>/rgb/")
        if not (base / "thermal").is_dir() and not (base / "thermal16").is_dir():
            raise DataError(
                f"missing folder {base / 'thermal'}: the pairs layout keeps thermal frames in <split>/thermal/"
            )
        rgb, t8 = _files(base / "rgb"), _files(base / "thermal")
        t16, masks = _files(base / "thermal16"), _files(base / "mask", (".png",))
        for stem in sorted(set(rgb) | set(t8) | set(t16)):
            records.append(FrameRecord(split, stem, rgb.get(stem), t8.get(stem), t16.get(stem), masks.get(stem)))
    return records


def _pairs_alignment(root: Path) -> Alignment | None:
    path = Path(root) / "alignment.yaml"
    return Alignment.load(path) if path.is_file() else None


LAYOUTS: dict[str, DatasetLayout] = {
    layout.name: layout
    for layout in (
        DatasetLayout(
            "flir-v1",
            "FLIR ADAS v1 (FLIR_ADAS_1_3)",
            _scan_flir_v1,
            coregistered=False,
            thermal_camera=FLIR_ADAS_CAMERA,
        ),
        DatasetLayout("flir-v2", "FLIR ADAS v2", _scan_flir_v2, coregistered=False, thermal_camera=FLIR_ADAS_CAMERA),
        DatasetLayout(
            "kaist",
            "KAIST multispectral pedestrian (co-registered)",
            _scan_kaist,
            coregistered=True,
            thermal_camera=KAIST_CAMERA,
        ),
        DatasetLayout(
            "llvip",
            "LLVIP (aligned visible/infrared)",
            _scan_llvip,
            coregistered=True,
            thermal_camera=LLVIP_CAMERA,
        ),
        DatasetLayout(
            "pairs",
            "generic <split>/{rgb,thermal}/ pairs (and prepare's output)",
            _scan_pairs,
            coregistered=True,
            shipped_alignment=_pairs_alignment,
        ),
    )
}

#: Valid ``--format`` names.
FORMATS: tuple[str, ...] = tuple(LAYOUTS)


def get_layout(name: str) -> DatasetLayout:
    """The layout called ``name``; an unknown name is a DataError listing the valid ones."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise DataError(f"unknown dataset format {name!r}; valid formats: {', '.join(FORMATS)}") from None


def scan_dataset(root: str | Path, fmt: str) -> list[FrameRecord]:
    """All frame records of the dataset at ``root`` in layout ``fmt``, sorted by split and id."""
    records = get_layout(fmt).scan(Path(root))
    if not records:
        raise DataError(f"no images found under {root} (format {fmt})")
    return records
