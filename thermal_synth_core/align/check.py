"""Visual checks of an alignment: edge overlays, checkerboard blends and a contact sheet.

A person judges an alignment fastest by looking at it. For each sampled frame
pair this renders, in the thermal frame:

* an **edge overlay**: the thermal image in gray, thermal edges in magenta and
  warped-RGB edges in green; where both cameras see the same edge the colours
  meet (white/yellow), a misalignment shows as parallel magenta and green lines;
* a **checkerboard blend**: tiles alternate between the warped RGB and the
  colour-mapped thermal image, so edges must continue across tile borders.

Each frame also gets an edge-agreement score (normalised correlation of the two
images' edge orientations inside the RGB's footprint), printed and saved in
``check.json``; ``contact_sheet.png`` puts every frame on one page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.agc import agc_to_uint8
from thermal_synth_core.align.estimate import edge_features, orientation_features
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.fileio import atomic_write_json

__all__ = ["CheckResult", "check_alignment", "checkerboard", "edge_agreement", "edge_overlay"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class CheckResult:
    """Files written and the per-frame edge-agreement scores."""

    out: Path
    contact_sheet: Path
    scores: dict[str, float]
    skipped: dict[str, str]


def _edges(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    feat = edge_features(gray.astype(np.float32) / 255.0)
    return np.asarray(feat > 0.35)


def edge_overlay(warped_rgb: Image, thermal8: Image) -> Image:
    """Thermal in gray, thermal edges magenta, warped-RGB edges green (RGB order output)."""
    base = (thermal8.astype(np.float32) * 0.55).astype(np.uint8)
    out = np.repeat(base[:, :, None], 3, axis=2)
    th = _edges(thermal8)
    rg = _edges(np.asarray(cv2.cvtColor(warped_rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8))
    out[th] = np.maximum(out[th], np.array([255, 0, 255], dtype=np.uint8))
    out[rg] = np.maximum(out[rg], np.array([0, 255, 0], dtype=np.uint8))
    return out


def checkerboard(warped_rgb: Image, thermal8: Image, tiles: int = 8) -> Image:
    """Alternate tiles of the warped RGB and the colour-mapped thermal image (RGB order)."""
    h, w = thermal8.shape
    colour = cv2.cvtColor(cv2.applyColorMap(thermal8, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    ty = max(h // tiles, 1)
    tx = max(w // tiles, 1)
    yy, xx = np.mgrid[0:h, 0:w]
    use_rgb = ((yy // ty + xx // tx) % 2 == 0)[:, :, None]
    return np.asarray(np.where(use_rgb, warped_rgb, colour), dtype=np.uint8)


def edge_agreement(warped_rgb: Image, thermal8: Image, valid: npt.NDArray[np.bool_]) -> float:
    """Normalised correlation of both images' edge orientations where the RGB has pixels (1 = identical).

    Edge *orientation* (double angle, so blind to which side is brighter) rather
    than edge strength: on real FLIR frames it separates a right alignment from
    one 5 px off more consistently (thermal edges RGB lacks, and the reverse,
    weigh less).
    """
    a = orientation_features(cv2.cvtColor(warped_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0)[valid]
    b = orientation_features(thermal8.astype(np.float32) / 255.0)[valid]
    if len(a) < 16:
        return float("nan")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _thumb(img: Image, size: tuple[int, int]) -> Image:
    return np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _label(img: Image, text: str) -> Image:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


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
    from thermal_synth_core.data.imageio import read_rgb, read_thermal, write_image
    from thermal_synth_core.data.layouts import scan_dataset
    from thermal_synth_core.data.prepare import warp_rgb_antialiased
    from thermal_synth_core.ui import progress

    out = Path(out)
    records = [r for r in scan_dataset(root, fmt) if r.paired]
    if not records:
        raise AlignmentError(f"no frame has both an RGB and a thermal image under {root} (format {fmt})")
    rng = np.random.default_rng(seed)
    order = [records[int(i)] for i in rng.permutation(len(records))]
    rows: list[Image] = []
    scores: dict[str, float] = {}
    skipped: dict[str, str] = {}
    thumb_w = 320
    for rec in progress(order, total=min(n, len(order)), desc="align check", unit="frame"):
        if len(rows) >= n:
            break
        thermal_path = rec.thermal8 or rec.thermal16
        assert rec.rgb is not None and thermal_path is not None
        try:
            rgb = read_rgb(rec.rgb)
            thermal = agc_to_uint8(read_thermal(thermal_path))
        except DataError as exc:
            skipped[rec.key] = str(exc)
            continue
        if not alignment.covers((rgb.shape[1], rgb.shape[0])):
            skipped[rec.key] = f"RGB size {rgb.shape[1]}x{rgb.shape[0]} not covered by the alignment"
            continue
        if (thermal.shape[1], thermal.shape[0]) != tuple(alignment.thermal_size):
            skipped[rec.key] = f"thermal size {thermal.shape[1]}x{thermal.shape[0]} differs from the alignment's"
            continue
        warped = warp_rgb_antialiased(rgb, alignment, alignment.thermal_size)
        valid = alignment.warp_rgb(np.full(rgb.shape[:2], 255, np.uint8), alignment.thermal_size) > 0
        score = edge_agreement(warped, thermal, valid)
        scores[rec.key] = score
        name = rec.key.replace("/", "_")
        edges = edge_overlay(warped, thermal)
        board = checkerboard(warped, thermal)
        write_image(out / f"{name}_edges.png", edges)
        write_image(out / f"{name}_checker.png", board)
        th = round(thermal.shape[0] * thumb_w / thermal.shape[1])
        row = np.concatenate(
            [
                _label(_thumb(edges, (thumb_w, th)), f"{rec.key}  edges  ncc {score:.2f}"),
                _label(_thumb(board, (thumb_w, th)), "checkerboard"),
            ],
            axis=1,
        )
        rows.append(row)
    if not rows:
        raise AlignmentError(f"none of the sampled frames could be rendered: {'; '.join(skipped.values())}")
    sheet_path = out / "contact_sheet.png"
    # Two frames per sheet row keeps the sheet about as wide as it is tall.
    if len(rows) > 1:
        if len(rows) % 2:
            rows.append(np.zeros_like(rows[0]))
        sheet = np.concatenate([np.concatenate(rows[i : i + 2], axis=1) for i in range(0, len(rows), 2)], axis=0)
    else:
        sheet = rows[0]
    write_image(sheet_path, sheet)
    atomic_write_json(
        out / "check.json",
        {"alignment": alignment.to_dict(), "edge_agreement": scores, "skipped": skipped},
    )
    return CheckResult(out, sheet_path, scores, skipped)
