"""``thermal-synth prepare``: raw dataset -> aligned RGB/thermal pairs + ``manifest.json``.

For every frame with both images, the RGB image is warped into the thermal
camera's field of view at the output size (thermal resolution by default) and
written beside the thermal image and, when the source has one, the warm-object
mask:

    OUT/<split>/rgb/<id>.png       RGB, warped into the thermal view
    OUT/<split>/thermal/<id>.png   8-bit (robust percentile AGC) or raw 16-bit
    OUT/<split>/mask/<id>.png      warm-object mask (synthetic data)
    OUT/<split>/annotations.json   object boxes (COCO), when the dataset ships annotations
    OUT/manifest.json              what was written, what was skipped and why
    OUT/alignment.yaml             the alignment used

The manifest also records the thermal camera's horizontal field of view over the
full frame and the width of the thermal frames written (``thermal_camera``), so a
model trained on them knows its angular scale: ``--thermal-hfov``, else what the
data says of itself (synthetic data, a re-prepared ``prepare`` output), else the
dataset's preset (:mod:`~thermal_synth_core.data.layouts`), else 45 deg with a warning.

Thermal normalisation: with ``thermal_bits=8`` the output is
:func:`thermal_synth_core.agc.agc_to_uint8` of the dataset's thermal image (its
8-bit frame when it has one: it carries the camera's local contrast
enhancement; the raw 16-bit frame otherwise). The same function normalises
real thermal everywhere else, so training targets and evaluation share one
scale. With ``thermal_bits=16`` the raw frame is kept as is.

Object annotations (:mod:`~thermal_synth_core.data.annotations`: FLIR v1/v2 COCO, KAIST
bbGt text, LLVIP VOC XML) are written for the thermal frames written, with boxes in the
prepared frame's pixels (scaled by the thermal resize to ``--size``) and classes
normalised; the manifest's ``objects`` entry counts them per split and class. Missing or
malformed annotation files are logged and recorded there, and never stop ``prepare``.

Every file is written atomically and a pair counts as done when all its files
exist, so an interrupted run (even ``kill -9``) resumes where it stopped and a
re-run of a finished one reads no image. Skipped frames are remembered in the
manifest with a signature of their source files, so they are not re-read either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import AGC_HIGH_PERCENTILE, AGC_LOW_PERCENTILE, agc_to_uint8
from thermal_synth_core.align.transform import Alignment, warp_rgb_antialiased
from thermal_synth_core.data.annotations import (
    ANNOTATIONS_NAME,
    Annotations,
    PreparedFrame,
    read_annotations,
    write_prepared_annotations,
)
from thermal_synth_core.data.imageio import read_mask, read_rgb, read_thermal, write_image
from thermal_synth_core.data.layouts import DEFAULT_THERMAL_HFOV_DEG, FrameRecord, get_layout, scan_dataset
from thermal_synth_core.data.manifest import (
    MANIFEST_NAME,
    SCHEMA,
    Manifest,
    ObjectCounts,
    PairEntry,
    SingleEntry,
    SkippedFrame,
    ThermalCamera,
    check_hfov,
    write_manifest,
)
from thermal_synth_core.data.rig import estimate_from_dataset
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.ui import progress

__all__ = [
    "ALIGNMENT_NAME",
    "REASONS",
    "PrepareOptions",
    "PrepareResult",
    "PreviousRun",
    "prepare_dataset",
    "resolve_alignment",
    "resolve_thermal_camera",
]

log = logging.getLogger(__name__)

Size = tuple[int, int]
#: What a frame is written as: an aligned pair, or a single-camera frame (``--include-unpaired``).
Kind = Literal["pair", "rgb", "thermal"]

ALIGNMENT_NAME = "alignment.yaml"
SETTINGS_NAME = ".prepare-settings.json"
#: What ``thermal-synth synth-data`` writes beside synthetic data (``data.synth.INFO_FILE``).
SYNTH_INFO_NAME = "synth_info.json"

#: Why a frame was not written, by reason code (the manifest uses the codes).
REASONS: dict[str, str] = {
    "missing_rgb": "no RGB image for this thermal frame",
    "missing_thermal": "no thermal image for this RGB frame",
    "unreadable_rgb": "RGB image unreadable or corrupt",
    "unreadable_thermal": "thermal image unreadable or corrupt",
    "unreadable_mask": "mask image unreadable or corrupt",
    "rgb_size_not_covered": "RGB size has another aspect ratio than the alignment covers",
    "thermal_size_mismatch": "thermal size differs from the alignment's thermal size",
    "no_16bit_thermal": "16-bit thermal requested but this frame has only 8-bit thermal",
}

_EIGHT_BIT_SUFFIXES = {".jpg", ".jpeg", ".bmp"}


@dataclass(frozen=True)
class PrepareOptions:
    """What ``prepare`` does; see ``thermal-synth prepare --help``."""

    root: Path
    fmt: str
    out: Path
    alignment: str = "auto"  # a YAML path, or "auto"
    size: Size | None = None
    thermal_bits: int = 8
    workers: int = 2
    include_unpaired: bool = False
    overwrite: bool = False
    estimate_frames: int = 60
    seed: int = 0
    #: The thermal camera's horizontal field of view (degrees, full frame); None: the dataset's preset.
    thermal_hfov: float | None = None
    #: Where ``thermal_hfov`` comes from, as the manifest records it (e.g. the CameraInfo of a bag).
    thermal_hfov_source: str = "--thermal-hfov"
    #: ``--alignment auto`` estimates from the frames even for a co-registered layout (frames of a rig's drive).
    estimate_alignment: bool = False


@dataclass(frozen=True)
class PrepareResult:
    """What a run produced (the manifest holds the full detail)."""

    out: Path
    manifest: Path
    alignment: Alignment
    pairs: int
    unpaired: int
    skipped: int
    written: int
    already_done: int
    by_split: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    thermal_camera: ThermalCamera | None = None

    def summary(self) -> str:
        """One line for the end of the command."""
        splits = ", ".join(f"{k} {v}" for k, v in sorted(self.by_split.items())) or "none"
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.by_reason.items()))
        skipped = f"{self.skipped} skipped ({reasons})" if self.skipped else "0 skipped"
        unpaired = f", {self.unpaired} single-camera frames" if self.unpaired else ""
        return (
            f"prepare: {self.pairs} pairs ({splits}){unpaired}, {skipped}; "
            f"{self.written} written now, {self.already_done} already done -> {self.manifest}"
        )


@dataclass(frozen=True)
class _Job:
    kind: Kind
    split: str
    frame_id: str
    rgb: str | None
    thermal8: str | None
    thermal16: str | None
    mask: str | None
    out_rgb: str | None
    out_thermal: str | None
    out_mask: str | None
    signature: str


@dataclass(frozen=True)
class _Context:
    alignment: Alignment
    size: Size
    thermal_bits: int


@dataclass(frozen=True)
class _Outcome:
    """What became of one frame: written now, done by an earlier run, or skipped (with the reason)."""

    kind: Kind
    split: str
    frame_id: str
    status: Literal["written", "done", "skipped"]
    reason: str = ""
    detail: str = ""
    signature: str | None = None

    def skipped(self) -> SkippedFrame:
        """The manifest's entry of a skipped frame."""
        return SkippedFrame(self.split, self.frame_id, self.kind, self.reason, self.detail, self.signature)


class _FrameSkipError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _AlignmentSettings(TypedDict):
    matrix: list[list[float]]
    rgb_size: list[int]
    thermal_size: list[int]


class _SettingsJson(TypedDict):
    """The settings a prepare output was written with; a re-run must use the same ones."""

    format: str
    source: str
    alignment: _AlignmentSettings
    size: list[int]
    thermal_bits: int
    include_unpaired: bool


class _PreviousRunJson(TypedDict):
    settings: _SettingsJson
    alignment_source: str


@dataclass(frozen=True)
class PreviousRun:
    """What ``OUT/.prepare-settings.json`` says of the run that wrote ``OUT`` (written before any image)."""

    #: The settings as read back; compared key by key with this run's (:class:`_SettingsJson` when intact).
    settings: Mapping[str, object]
    alignment_source: str

    @classmethod
    def read(cls, path: Path) -> PreviousRun | None:
        """The record at ``path``; None when there is none or it is unreadable (treated as a fresh output)."""
        data = _load_json(path)
        if data is None:
            return None
        settings = data.get("settings")
        source = data.get("alignment_source", "")
        return cls(settings if isinstance(settings, dict) else {}, source if isinstance(source, str) else "")


def _settings(opts: PrepareOptions, alignment: Alignment, size: Size) -> _SettingsJson:
    return {
        "format": opts.fmt,
        "source": str(opts.root.resolve()),
        "alignment": {
            "matrix": [[round(v, 9) for v in row] for row in alignment.matrix],
            "rgb_size": list(alignment.rgb_size),
            "thermal_size": list(alignment.thermal_size),
        },
        "size": list(size),
        "thermal_bits": opts.thermal_bits,
        "include_unpaired": opts.include_unpaired,
    }


def _signature(paths: Iterable[str | None]) -> str:
    parts = []
    for p in paths:
        if p is None:
            parts.append("-")
            continue
        try:
            st = Path(p).stat()
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append("?")
    return "|".join(parts)


def _thermal_out(img: npt.NDArray[Any], bits: int, path: str) -> npt.NDArray[Any]:
    if bits == 8:
        return agc_to_uint8(img)
    if img.dtype != np.uint16:
        raise _FrameSkipError("no_16bit_thermal", f"{path} is 8-bit; --thermal-bits 16 needs raw 16-bit thermal")
    return img


def _read(reader: Callable[[str], npt.NDArray[Any]], path: str, reason: str) -> npt.NDArray[Any]:
    try:
        return reader(path)
    except DataError as exc:
        raise _FrameSkipError(reason, str(exc)) from None


def _thermal_frame(job: _Job, ctx: _Context) -> tuple[npt.NDArray[Any], npt.NDArray[np.uint8] | None]:
    """The thermal image as written (normalised, at the output size) and its mask, if the frame has one."""
    alignment, size = ctx.alignment, ctx.size
    src = (job.thermal16 or job.thermal8) if ctx.thermal_bits == 16 else (job.thermal8 or job.thermal16)
    assert src is not None
    raw = _read(read_thermal, src, "unreadable_thermal")
    if (raw.shape[1], raw.shape[0]) != tuple(alignment.thermal_size):
        raise _FrameSkipError(
            "thermal_size_mismatch",
            f"{src} is {raw.shape[1]}x{raw.shape[0]}, the alignment's thermal size is "
            f"{alignment.thermal_size[0]}x{alignment.thermal_size[1]}",
        )
    thermal = _thermal_out(raw, ctx.thermal_bits, src)
    if tuple(size) != tuple(alignment.thermal_size):
        thermal = cv2.resize(thermal, size, interpolation=cv2.INTER_AREA)
    if job.mask is None:
        return thermal, None
    mask = _read(read_mask, job.mask, "unreadable_mask")
    if mask.shape != raw.shape:
        raise _FrameSkipError("unreadable_mask", f"{job.mask} is {mask.shape[1]}x{mask.shape[0]}, not the thermal size")
    if tuple(size) != tuple(alignment.thermal_size):
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return thermal, mask


def _rgb_frame(job: _Job, ctx: _Context) -> npt.NDArray[np.uint8]:
    """The RGB image warped into the thermal view at the output size."""
    alignment = ctx.alignment
    assert job.rgb is not None
    rgb = _read(read_rgb, job.rgb, "unreadable_rgb")
    rgb_size = (rgb.shape[1], rgb.shape[0])
    if not alignment.covers(rgb_size):
        raise _FrameSkipError(
            "rgb_size_not_covered",
            f"{job.rgb} is {rgb_size[0]}x{rgb_size[1]}; the alignment covers the aspect ratio of "
            f"{alignment.rgb_size[0]}x{alignment.rgb_size[1]} (estimate one for this camera mode)",
        )
    return warp_rgb_antialiased(rgb, alignment, ctx.size)


def _process(job: _Job, ctx: _Context) -> _Outcome:
    """Write one pair (or single-camera frame); returns its outcome."""
    thermal = mask = warped = None
    try:
        if job.kind in ("pair", "thermal"):
            thermal, mask = _thermal_frame(job, ctx)
        if job.kind in ("pair", "rgb"):
            warped = _rgb_frame(job, ctx)
    except _FrameSkipError as skip:
        return _Outcome(job.kind, job.split, job.frame_id, "skipped", skip.reason, skip.detail, job.signature)
    # Mask and thermal first, RGB last: a pair is done only when all its files exist.
    if mask is not None and job.out_mask:
        write_image(job.out_mask, mask)
    if thermal is not None and job.out_thermal:
        write_image(job.out_thermal, thermal)
    if warped is not None and job.out_rgb:
        write_image(job.out_rgb, warped)
    return _Outcome(job.kind, job.split, job.frame_id, "written", signature=job.signature)


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _safe_id(frame_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", frame_id).lstrip(".")
    return cleaned or "frame"


def _clean_partials(out: Path) -> int:
    """Remove temporary files a killed run left behind (never complete outputs)."""
    n = 0
    for p in out.glob("*/*/.*.partial-*"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


def _load_json(path: Path) -> dict[str, object] | None:
    """A JSON object read from ``path`` as is (not validated: callers check what they use); None if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _coregistered_alignment(records: list[FrameRecord]) -> Alignment:
    for rec in records:
        if not rec.paired:
            continue
        thermal_path = rec.thermal8 or rec.thermal16
        assert rec.rgb is not None and thermal_path is not None
        try:
            rgb, th = read_rgb(rec.rgb), read_thermal(thermal_path)
        except DataError:
            continue
        rgb_size, th_size = (rgb.shape[1], rgb.shape[0]), (th.shape[1], th.shape[0])
        return Alignment.identity(th_size) if rgb_size == th_size else Alignment.resize(rgb_size, th_size)
    raise AlignmentError("no readable frame pair to derive the co-registered alignment from")


def resolve_alignment(
    opts: PrepareOptions, records: list[FrameRecord], previous: PreviousRun | None
) -> tuple[Alignment, str]:
    """The alignment to use and where it came from (a file, the dataset, co-registration, or estimation)."""
    if opts.alignment != "auto":
        return Alignment.load(opts.alignment), f"file {opts.alignment}"
    saved = opts.out / ALIGNMENT_NAME
    if previous is not None and previous.alignment_source.startswith("auto") and saved.is_file():
        return Alignment.load(saved), previous.alignment_source
    layout = get_layout(opts.fmt)
    shipped = layout.shipped_alignment(opts.root)
    if shipped is not None:
        return shipped, "auto: shipped with the dataset"
    if layout.coregistered and not opts.estimate_alignment:
        return _coregistered_alignment(records), "auto: co-registered cameras"
    if not any(rec.paired for rec in records):
        thermal_only = sum(1 for rec in records if rec.rgb is None)
        raise AlignmentError(
            f"--alignment auto needs RGB/thermal frame pairs to estimate the rig's alignment from, and {opts.root} "
            f"has none ({thermal_only} thermal-only and {len(records) - thermal_only} RGB-only frames): pass "
            "--alignment FILE with the rig's alignment (from 'thermal-synth align estimate' on paired frames of "
            "the same rig)"
        )
    log.info("estimating the RGB -> thermal alignment from %s (pass --alignment FILE to skip)", opts.root)
    result = estimate_from_dataset(opts.root, opts.fmt, max_frames=opts.estimate_frames, seed=opts.seed)
    return result.alignment, "auto: estimated from the data"


def _described_hfov(path: Path, entry: str) -> tuple[float, str] | None:
    """The field of view a JSON file beside the data records under ``entry`` (None if none or malformed)."""
    data = _load_json(path)
    camera = data.get(entry) if data is not None else None
    if not isinstance(camera, dict):
        return None
    try:
        return check_hfov(camera.get("hfov_deg"), f"{path} {entry}"), str(camera.get("source", ""))
    except DataError as exc:
        log.warning("ignoring the thermal field of view in %s: %s", path, exc)
        return None


def resolve_thermal_camera(opts: PrepareOptions, width: int) -> tuple[ThermalCamera, str | None]:
    """The thermal camera to record for frames ``width`` pixels wide, and a warning when it is a guess.

    In order: ``--thermal-hfov``; the data's own record (``synth_info.json`` of synthetic
    data; ``manifest.json`` of a ``prepare`` output re-prepared as ``pairs``); the
    dataset's preset; 45 deg (the FLIR ADAS camera) for data of unknown origin.
    """
    flag = "--thermal-hfov DEG (the thermal camera's horizontal field of view over its full frame)"
    if opts.thermal_hfov is not None:
        hfov = check_hfov(opts.thermal_hfov, opts.thermal_hfov_source)
        return ThermalCamera(hfov, width, opts.thermal_hfov_source), None
    root = Path(opts.root)
    synth = _load_json(root / SYNTH_INFO_NAME)
    if synth is not None and str(synth.get("generator", "")).startswith("thermal-synth synth-data"):
        found = _described_hfov(root / SYNTH_INFO_NAME, "thermal_camera")
        if found is not None:
            return ThermalCamera(found[0], width, found[1] or "synthetic rig (thermal-synth synth-data)"), None
    layout = get_layout(opts.fmt)
    if opts.fmt == "pairs":
        manifest = _load_json(root / MANIFEST_NAME)
        if manifest is not None and manifest.get("schema") == SCHEMA:
            found = _described_hfov(root / MANIFEST_NAME, "thermal_camera")
            if found is not None:
                return ThermalCamera(found[0], width, found[1] or str(root / MANIFEST_NAME)), None
    preset = layout.thermal_camera
    if preset is not None:
        camera = ThermalCamera(preset.hfov_deg, width, f"{layout.name} preset: {preset.camera}")
        if preset.estimated:
            return camera, (
                f"{layout.name}: the thermal camera's field of view is an estimate ({preset.hfov_deg:g} deg HFOV: "
                f"{preset.camera}); if you know it, pass {flag}"
            )
        return camera, None
    return ThermalCamera(
        DEFAULT_THERMAL_HFOV_DEG,
        width,
        f"default: {DEFAULT_THERMAL_HFOV_DEG:g} deg assumed (the FLIR ADAS camera); set with --thermal-hfov",
    ), (
        f"{layout.name}: the thermal camera's field of view is unknown; the model will assume "
        f"{DEFAULT_THERMAL_HFOV_DEG:g} deg horizontal (the FLIR ADAS camera). Pass {flag} to record the real one"
    )


def _remove_outputs(out: Path) -> None:
    """--overwrite: remove what an earlier prepare wrote here (and nothing else)."""
    for sub in ("rgb", "thermal", "mask"):
        for p in out.glob(f"*/{sub}/*.png"):
            p.unlink()
    for p in out.glob(f"*/{ANNOTATIONS_NAME}"):
        p.unlink()
    for name in (MANIFEST_NAME, SETTINGS_NAME, ALIGNMENT_NAME):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


def _kind_or_skip(rec: FrameRecord, fid: str, opts: PrepareOptions) -> Kind | _Outcome:
    """What the frame will be written as, or why it is skipped without reading an image."""
    if rec.paired:
        kind: Kind = "pair"
    elif opts.include_unpaired:
        kind = "rgb" if rec.rgb is not None else "thermal"
    else:
        reason = "missing_thermal" if rec.rgb is not None else "missing_rgb"
        present = rec.rgb or rec.thermal8 or rec.thermal16
        return _Outcome("pair", rec.split, fid, "skipped", reason, f"{REASONS[reason]}: {present}")
    if opts.thermal_bits == 16 and kind != "rgb" and rec.thermal16 is None:
        t8 = rec.thermal8
        if t8 is not None and t8.suffix.lower() in _EIGHT_BIT_SUFFIXES:
            detail = f"{REASONS['no_16bit_thermal']}: {t8}"
            return _Outcome(kind, rec.split, fid, "skipped", "no_16bit_thermal", detail)
    return kind


def _plan(
    records: list[FrameRecord], opts: PrepareOptions, skip_cache: Mapping[tuple[str, str], SkippedFrame]
) -> tuple[list[_Job], list[_Outcome]]:
    """Jobs that need work, and outcomes known without reading any image."""
    out = opts.out
    jobs: list[_Job] = []
    known: list[_Outcome] = []
    for rec in records:
        fid = _safe_id(rec.frame_id)
        base = out / rec.split
        src = [str(p) if p else None for p in (rec.rgb, rec.thermal8, rec.thermal16, rec.mask)]
        sig = _signature(src)
        kind = _kind_or_skip(rec, fid, opts)
        if isinstance(kind, _Outcome):
            known.append(kind)
            continue
        out_rgb = str(base / "rgb" / f"{fid}.png") if kind in ("pair", "rgb") else None
        out_th = str(base / "thermal" / f"{fid}.png") if kind in ("pair", "thermal") else None
        out_mask = str(base / "mask" / f"{fid}.png") if rec.mask is not None and kind != "rgb" else None
        outputs = [p for p in (out_rgb, out_th, out_mask) if p is not None]
        if all(Path(p).is_file() for p in outputs):
            known.append(_Outcome(kind, rec.split, fid, "done", signature=sig))
            continue
        cached = skip_cache.get((rec.split, fid))
        if cached is not None and cached.signature == sig and cached.kind == kind:
            known.append(_Outcome(kind, rec.split, fid, "skipped", cached.reason, cached.detail, cached.signature))
            continue
        jobs.append(_Job(kind, rec.split, fid, src[0], src[1], src[2], src[3], out_rgb, out_th, out_mask, sig))
    return jobs, known


def _run_jobs(jobs: list[_Job], ctx: _Context, workers: int) -> Iterator[_Outcome]:
    if workers <= 1 or len(jobs) < 2:
        previous = cv2.getNumThreads()
        cv2.setNumThreads(1)  # "1 worker" means one core, as in the benchmark
        try:
            for job in jobs:
                yield _process(job, ctx)
        finally:
            cv2.setNumThreads(previous)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        pending: set[Future[_Outcome]] = set()
        queue = iter(jobs)
        try:
            # Keep a bounded number of jobs in flight: memory stays flat on 30k-frame datasets.
            for job in queue:
                pending.add(pool.submit(_process, job, ctx))
                if len(pending) >= workers * 4:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            for fut in list(pending):
                yield fut.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _check_options(opts: PrepareOptions) -> PrepareOptions:
    """Refuse bad options before anything is read or written; ``root`` and ``out`` as paths."""
    get_layout(opts.fmt)  # an unknown format fails before anything else
    if opts.thermal_bits not in (8, 16):
        raise DataError(f"--thermal-bits must be 8 or 16, got {opts.thermal_bits}")
    if opts.thermal_hfov is not None:
        check_hfov(opts.thermal_hfov, "--thermal-hfov")
    root, out = Path(opts.root), Path(opts.out)
    if out.resolve() == root.resolve():
        raise DataError(f"--out must differ from --root ({out}); prepare never writes into the source dataset")
    return replace(opts, root=root, out=out)


def _open_output(opts: PrepareOptions) -> PreviousRun | None:
    """Create ``OUT``, remove what a killed run left half-written; the earlier run (None after --overwrite)."""
    out = opts.out
    out.mkdir(parents=True, exist_ok=True)
    removed = _clean_partials(out)
    if removed:
        log.info("removed %d partial files left by an interrupted run", removed)
    previous = PreviousRun.read(out / SETTINGS_NAME)
    if opts.overwrite and previous is not None:
        _remove_outputs(out)
        return None
    return previous


def _output_size(opts: PrepareOptions, alignment: Alignment) -> Size:
    size = opts.size or alignment.thermal_size
    ts = alignment.thermal_size
    if abs((size[0] / size[1]) / (ts[0] / ts[1]) - 1.0) > 0.01:
        raise DataError(
            f"--size {size[0]}x{size[1]} has another aspect ratio than the thermal camera ({ts[0]}x{ts[1]}); "
            "pick a size of the same shape and crop in training instead of stretching"
        )
    return size


def _record_settings(
    opts: PrepareOptions, alignment: Alignment, alignment_source: str, size: Size, previous: PreviousRun | None
) -> None:
    """Refuse an output written with other settings; record this run's settings and alignment."""
    settings = _settings(opts, alignment, size)
    if previous is not None and previous.settings != settings:
        changed = sorted(k for k, v in settings.items() if previous.settings.get(k) != v)
        raise DataError(
            f"{opts.out} already holds a prepare run with other settings (differs in: {', '.join(changed)}); "
            "use another --out, or --overwrite to replace it"
        )
    record: _PreviousRunJson = {"settings": settings, "alignment_source": alignment_source}
    atomic_write_json(opts.out / SETTINGS_NAME, record)
    alignment.save(opts.out / ALIGNMENT_NAME)


def _skip_cache(out: Path) -> dict[tuple[str, str], SkippedFrame]:
    """Frames an earlier run skipped after reading them, by (split, id): not re-read while unchanged."""
    old = _load_json(out / MANIFEST_NAME) or {}
    entries = old.get("skipped", [])
    frames = (SkippedFrame.from_json(s) for s in (entries if isinstance(entries, list) else []))
    return {
        (s.split, s.frame_id): s
        for s in frames
        if s is not None and s.signature is not None and s.reason not in ("missing_rgb", "missing_thermal")
    }


def prepare_dataset(opts: PrepareOptions, show_progress: bool | None = None) -> PrepareResult:
    """Run ``prepare``: pair, align and write a dataset; resumable and idempotent."""
    opts = _check_options(opts)
    records = scan_dataset(opts.root, opts.fmt)
    annotations = _read_annotations(opts, records)
    previous = _open_output(opts)
    alignment, alignment_source = resolve_alignment(opts, records, previous)
    size = _output_size(opts, alignment)
    _record_settings(opts, alignment, alignment_source, size, previous)
    thermal_camera, warning = resolve_thermal_camera(opts, int(size[0]))
    if warning:
        log.warning("%s", warning)

    jobs, known = _plan(records, opts, _skip_cache(opts.out))
    ctx = _Context(alignment, (int(size[0]), int(size[1])), opts.thermal_bits)
    outcomes = list(known)
    results = _run_jobs(jobs, ctx, opts.workers)
    disable = None if show_progress is None else not show_progress
    outcomes.extend(progress(results, total=len(jobs), desc="prepare", unit="pair", disable=disable))
    return _write_manifest(
        opts,
        alignment=alignment,
        alignment_source=alignment_source,
        size=size,
        records=records,
        outcomes=outcomes,
        thermal_camera=thermal_camera,
        annotations=annotations,
    )


def _read_annotations(opts: PrepareOptions, records: list[FrameRecord]) -> Annotations:
    """The dataset's object annotations; missing and malformed files are logged (and recorded later)."""
    annotations = read_annotations(opts.root, opts.fmt, records)
    if not annotations.found:
        log.info("%s: no object annotations found; the prepared dataset has none", opts.root)
    for issue in annotations.issues:
        log.warning("object annotations: %s: %s", issue.path, issue.problem)
    return annotations


# -- the manifest -------------------------------------------------------------------------------


@dataclass
class _Entries:
    """The manifest's frame lists and per-split counts, built from the outcomes in (split, id, kind) order."""

    pairs: list[PairEntry] = field(default_factory=list)
    unpaired: list[SingleEntry] = field(default_factory=list)
    skipped: list[SkippedFrame] = field(default_factory=list)
    counts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    written: int = 0


def _entries(out: Path, records: list[FrameRecord], outcomes: list[_Outcome]) -> _Entries:
    masks = {(r.split, _safe_id(r.frame_id)) for r in records if r.mask is not None}
    found = _Entries()
    for o in sorted(outcomes, key=lambda o: (o.split, o.frame_id, o.kind)):
        split, fid = o.split, o.frame_id
        if o.status == "skipped":
            found.skipped.append(o.skipped())
            found.counts[split]["skipped"] += 1
            continue
        if o.status == "written":
            found.written += 1
        mask = out / split / "mask" / f"{fid}.png" if (split, fid) in masks else None
        if o.kind == "pair":
            rgb, thermal = out / split / "rgb" / f"{fid}.png", out / split / "thermal" / f"{fid}.png"
            found.pairs.append(PairEntry(split, fid, rgb, thermal, mask))
            found.counts[split]["pairs"] += 1
        else:
            path = out / split / o.kind / f"{fid}.png"
            found.unpaired.append(SingleEntry(split, fid, o.kind, path, mask if o.kind == "thermal" else None))
            found.counts[split][f"unpaired_{o.kind}"] += 1
    return found


def _write_objects(
    out: Path, records: list[FrameRecord], found: _Entries, *, annotations: Annotations | None, source: Size, size: Size
) -> ObjectCounts | None:
    """Write the annotated thermal frames' COCO files; the manifest's ``objects`` (None: no annotations)."""
    if annotations is None or not annotations.found:
        return None
    source_id = {(r.split, _safe_id(r.frame_id)): r.frame_id for r in records}
    written = [(p.split, p.frame_id, p.thermal) for p in found.pairs]
    written += [(u.split, u.frame_id, u.path) for u in found.unpaired if u.kind == "thermal"]
    frames = [PreparedFrame(split, fid, path, source_id[(split, fid)]) for split, fid, path in written]
    return write_prepared_annotations(out, frames, annotations, source, size)


def _thermal_normalisation(thermal_bits: int) -> str:
    if thermal_bits == 8:
        return (
            f"agc_to_uint8 (robust percentiles {AGC_LOW_PERCENTILE:g}-{AGC_HIGH_PERCENTILE:g}) "
            "of the dataset's thermal frame"
        )
    return "raw 16-bit as recorded (normalise with thermal_synth_core.agc.agc_normalize)"


def _write_manifest(
    opts: PrepareOptions,
    *,
    alignment: Alignment,
    alignment_source: str,
    size: Size,
    records: list[FrameRecord],
    outcomes: list[_Outcome],
    thermal_camera: ThermalCamera,
    annotations: Annotations | None = None,
) -> PrepareResult:
    found = _entries(opts.out, records, outcomes)
    objects = _write_objects(
        opts.out, records, found, annotations=annotations, source=alignment.thermal_size, size=size
    )
    by_reason = Counter(s.reason for s in found.skipped)
    manifest = Manifest(
        root=opts.out,
        format=opts.fmt,
        source=str(opts.root.resolve()),
        alignment=alignment,
        alignment_source=alignment_source,
        thermal_bits=opts.thermal_bits,
        thermal_normalisation=_thermal_normalisation(opts.thermal_bits),
        size=size,
        thermal_camera=thermal_camera,
        has_masks=bool(found.pairs) and all(p.mask is not None for p in found.pairs),
        counts={split: dict(c) for split, c in sorted(found.counts.items())},
        skipped_by_reason=dict(sorted(by_reason.items())),
        reasons=REASONS,
        pairs=tuple(found.pairs),
        unpaired=tuple(found.unpaired),
        skipped=tuple(found.skipped),
        objects=objects,
    )
    path = write_manifest(manifest)
    return PrepareResult(
        out=opts.out,
        manifest=path,
        alignment=alignment,
        pairs=len(found.pairs),
        unpaired=len(found.unpaired),
        skipped=len(found.skipped),
        written=found.written,
        already_done=len(found.pairs) + len(found.unpaired) - found.written,
        by_split={split: c["pairs"] for split, c in found.counts.items() if c["pairs"]},
        by_reason=dict(by_reason),
        thermal_camera=thermal_camera,
    )
