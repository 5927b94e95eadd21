"""A dataset's camera rig: its RGB -> thermal alignment estimated from, and checked on, the dataset's frames.

The alignment algorithms (:mod:`thermal_synth_core.align`) work on frames in
memory and know nothing of datasets; this module samples frame pairs of a
dataset (:func:`~thermal_synth_core.data.layouts.scan_dataset`), reads them
(:mod:`~thermal_synth_core.data.imageio`) and hands them over:

* :func:`estimate_from_dataset` (``thermal-synth align estimate``, ``prepare --alignment auto``);
* :func:`check_alignment` (``thermal-synth align check``): edge overlays and
  checkerboard blends per sampled frame, ``check.json`` with the per-frame
  edge-agreement scores, and ``contact_sheet.png`` with every frame on one page.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_normalize, agc_to_uint8
from thermal_synth_core.align.check import checkerboard, edge_agreement, edge_overlay
from thermal_synth_core.align.estimate import EstimateResult, FrameFit, FramePair, estimate_alignment
from thermal_synth_core.align.transform import Alignment, warp_rgb_antialiased
from thermal_synth_core.data.imageio import read_rgb, read_thermal, write_image
from thermal_synth_core.data.layouts import FrameRecord, scan_dataset
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.fileio import atomic_write_json
from thermal_synth_core.ui import progress

__all__ = ["CheckResult", "check_alignment", "estimate_from_dataset", "load_pair"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
#: Width of one image in a contact sheet row.
THUMB_WIDTH = 320


# -- estimation -------------------------------------------------------------------------------


def load_pair(key: str, rgb_path: Path, thermal_path: Path) -> FramePair:
    """Read one pair for estimation: RGB to gray float, thermal through the shared AGC."""
    rgb = read_rgb(rgb_path)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    thermal = agc_normalize(read_thermal(thermal_path))
    return FramePair(key, np.asarray(gray, dtype=np.float32), thermal)


def _paired_records(root: str | Path, fmt: str) -> list[FrameRecord]:
    records = [r for r in scan_dataset(root, fmt) if r.paired]
    if not records:
        raise AlignmentError(f"no frame has both an RGB and a thermal image under {root} (format {fmt})")
    return records


def _modal_count(pairs: Sequence[FramePair]) -> int:
    return Counter((p.rgb_size, p.thermal_size) for p in pairs).most_common(1)[0][1]


def _read_sample(records: list[FrameRecord], max_frames: int, seed: int) -> tuple[list[FramePair], int]:
    """Pairs read in a seeded random order until ``max_frames`` share one size; and how many were unreadable."""
    order = np.random.default_rng(seed).permutation(len(records))
    pairs: list[FramePair] = []
    unreadable = 0
    for idx in progress(order, total=min(len(order), max_frames), desc="align: read", unit="frame"):
        if len(pairs) >= max_frames * 2:  # read a margin: some may be at another RGB size
            break
        rec = records[int(idx)]
        thermal_path = rec.thermal16 or rec.thermal8
        assert rec.rgb is not None and thermal_path is not None
        try:
            pairs.append(load_pair(rec.key, rec.rgb, thermal_path))
        except DataError as exc:
            unreadable += 1
            log.warning("skipping %s: %s", rec.key, exc)
        if len(pairs) >= max_frames and _modal_count(pairs) >= max_frames:
            break
    return pairs, unreadable


def estimate_from_dataset(
    root: str | Path,
    fmt: str,
    *,
    model: str = "homography",
    max_frames: int = 60,
    seed: int = 0,
    on_frame: Callable[[FrameFit], None] | None = None,
) -> EstimateResult:
    """Sample up to ``max_frames`` pairs of a dataset and estimate its rig's alignment.

    Only pairs at the most common RGB size are used (other camera modes need
    their own alignment); unreadable frames are skipped and counted.
    """
    pairs, unreadable = _read_sample(_paired_records(root, fmt), max_frames, seed)
    if not pairs:
        raise AlignmentError(f"none of the sampled frames under {root} could be read")
    sizes = Counter((p.rgb_size, p.thermal_size) for p in pairs)
    (rgb_size, thermal_size), _ = sizes.most_common(1)[0]
    used = [p for p in pairs if p.rgb_size == rgb_size and p.thermal_size == thermal_size][:max_frames]
    result = estimate_alignment(used, model, on_frame)
    q = dict(result.alignment.quality)
    q["frames_unreadable"] = float(unreadable)
    q["frames_other_size"] = float(len(pairs) - sum(1 for p in pairs if p.rgb_size == rgb_size))
    a = result.alignment
    return EstimateResult(
        Alignment.from_matrix(a.as_array(), a.rgb_size, a.thermal_size, a.method, q), result.frames, result.warnings
    )


# -- visual check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """Files written and the per-frame edge-agreement scores."""

    out: Path
    contact_sheet: Path
    scores: dict[str, float]
    skipped: dict[str, str]


def _thumb(img: Image, size: tuple[int, int]) -> Image:
    return np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _label(img: Image, text: str) -> Image:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _read_checkable(rec: FrameRecord, alignment: Alignment) -> tuple[Image, Image]:
    """The frame's RGB and 8-bit thermal image; a DataError saying why when it cannot be checked."""
    thermal_path = rec.thermal8 or rec.thermal16
    assert rec.rgb is not None and thermal_path is not None
    rgb = read_rgb(rec.rgb)
    thermal = agc_to_uint8(read_thermal(thermal_path))
    if not alignment.covers((rgb.shape[1], rgb.shape[0])):
        raise DataError(f"RGB size {rgb.shape[1]}x{rgb.shape[0]} not covered by the alignment")
    if (thermal.shape[1], thermal.shape[0]) != tuple(alignment.thermal_size):
        raise DataError(f"thermal size {thermal.shape[1]}x{thermal.shape[0]} differs from the alignment's")
    return rgb, thermal


def _render_frame(key: str, rgb: Image, thermal: Image, alignment: Alignment, out: Path) -> tuple[float, Image]:
    """Write the frame's edge overlay and checkerboard; its edge-agreement score and contact-sheet row."""
    warped = warp_rgb_antialiased(rgb, alignment, alignment.thermal_size)
    valid = alignment.warp_rgb(np.full(rgb.shape[:2], 255, np.uint8), alignment.thermal_size) > 0
    score = edge_agreement(warped, thermal, valid)
    name = key.replace("/", "_")
    edges = edge_overlay(warped, thermal)
    board = checkerboard(warped, thermal)
    write_image(out / f"{name}_edges.png", edges)
    write_image(out / f"{name}_checker.png", board)
    th = round(thermal.shape[0] * THUMB_WIDTH / thermal.shape[1])
    row = np.concatenate(
        [
            _label(_thumb(edges, (THUMB_WIDTH, th)), f"{key}  edges  ncc {score:.2f}"),
            _label(_thumb(board, (THUMB_WIDTH, th)), "checkerboard"),
        ],
        axis=1,
    )
    return score, row


def _contact_sheet(rows: list[Image]) -> Image:
    """Two frames per sheet row keeps the sheet about as wide as it is tall."""
    if len(rows) == 1:
        return rows[0]
    if len(rows) % 2:
        rows = [*rows, np.zeros_like(rows[0])]
    return np.concatenate([np.concatenate(rows[i : i + 2], axis=1) for i in range(0, len(rows), 2)], axis=0)


def check_alignment(
    root: str | Path,
    fmt: str,
    alignment: Alignment,
    out: str | Path,
    *,
    n: int = 12,
    seed: int = 0,
) -> CheckResult:
    """Render overlays for ``n`` sampled pairs of a dataset and a contact sheet, under ``out``."""
    out = Path(out)
    records = _paired_records(root, fmt)
    rng = np.random.default_rng(seed)
    order = [records[int(i)] for i in rng.permutation(len(records))]
    rows: list[Image] = []
    scores: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for rec in progress(order, total=min(n, len(order)), desc="align check", unit="frame"):
        if len(rows) >= n:
            break
        try:
            rgb, thermal = _read_checkable(rec, alignment)
        except DataError as exc:
            skipped[rec.key] = str(exc)
            continue
        scores[rec.key], row = _render_frame(rec.key, rgb, thermal, alignment, out)
        rows.append(row)
    if not rows:
        raise AlignmentError(f"none of the sampled frames could be rendered: {'; '.join(skipped.values())}")
    sheet_path = out / "contact_sheet.png"
    write_image(sheet_path, _contact_sheet(rows))
    atomic_write_json(
        out / "check.json",
        {"alignment": alignment.to_dict(), "edge_agreement": scores, "skipped": skipped},
    )
    return CheckResult(out, sheet_path, scores, skipped)
