"""Visual checks of an alignment: edge overlays, checkerboard blends and an edge-agreement score.

A person judges an alignment fastest by looking at it. For a frame pair this
renders, in the thermal frame:

* an **edge overlay**: the thermal image in gray, thermal edges in magenta and
  warped-RGB edges in green; where both cameras see the same edge the colours
  meet (white/yellow), a misalignment shows as parallel magenta and green lines;
* a **checkerboard blend**: tiles alternate between the warped RGB and the
  colour-mapped thermal image, so edges must continue across tile borders.

Each frame also gets an edge-agreement score (normalised correlation of the two
images' edge orientations inside the RGB's footprint).
:func:`thermal_synth_core.data.rig.check_alignment` renders these for frames
sampled from a dataset, with ``check.json`` and a contact sheet.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.estimate import edge_features, orientation_features

__all__ = ["checkerboard", "edge_agreement", "edge_overlay"]

Image = npt.NDArray[np.uint8]


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
