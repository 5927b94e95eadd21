"""Real cross-modal frames re-shot through known rigs, for alignment tests on real content.

RoadScene's registered FLIR ADAS v1 pairs (``../shared/real/roadscene_flir_v1``:
``crop_LR_visible`` and ``cropinfrared``, same stem, pixel-aligned) are real RGB
and thermal content with a known (identity) registration. A :class:`Rig` turns
each pair into what a real FLIR-like rig records:

* the pair is resized (both images alike, aspect kept) to cover a
  :data:`CANVAS` and centre-cropped to it, so every frame has one size;
* the **thermal** frame is the central ``thermal_size`` window of the canvas
  (an exact crop: no resampling);
* the **RGB** frame is the canvas seen through the inverse of the rig's known
  RGB -> thermal transform (scale, rotation about the RGB centre, offset):
  each RGB pixel ``p`` takes the canvas colour at ``M p`` (bicubic). The RGB
  camera sees :attr:`Rig.footprint` times the thermal field of view, so it is
  wider, at ``1 / scale`` RGB pixels per thermal pixel. The canvas margin holds
  (nearly) all of the footprint for the rigs here; the few pixels beyond it are
  filled by reflection.

The real data is never copied into the project: frames are made on the fly (or
into a test's temporary folder). Tests skip, saying why, when the data is absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from tests.real_data import ROADSCENE
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.align.estimate import FramePair
from thermal_synth_core.align.transform import Alignment

#: Size (width, height) every registered pair is brought to before re-shooting.
CANVAS = (512, 400)
#: Thermal frame size of the re-shot rigs (the FLIR ADAS aspect ratio, 5:4).
THERMAL_SIZE = (320, 256)

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rig:
    """A fixed RGB/thermal rig: RGB -> thermal is ``scale * R(rotation) (p - c_rgb) + c_thermal + offset``."""

    name: str
    scale: float  # thermal px per RGB px
    rotation_deg: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)  # where the RGB centre lands, from the thermal centre (thermal px)
    footprint: float = 1.35  # RGB field of view over the thermal one (linear)
    thermal_size: tuple[int, int] = THERMAL_SIZE

    @property
    def rgb_size(self) -> tuple[int, int]:
        """(width, height) of the RGB frames: the footprint at ``1 / scale`` RGB px per thermal px."""
        tw, th = self.thermal_size
        return (round(self.footprint * tw / self.scale), round(self.footprint * th / self.scale))

    @property
    def matrix(self) -> Matrix:
        """The true RGB -> thermal matrix."""
        a = math.radians(self.rotation_deg)
        rw, rh = self.rgb_size
        tw, th = self.thermal_size
        c_r = np.array([(rw - 1) / 2.0, (rh - 1) / 2.0])
        c_t = np.array([(tw - 1) / 2.0 + self.offset[0], (th - 1) / 2.0 + self.offset[1]])
        lin = self.scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        m = np.eye(3)
        m[:2, :2] = lin
        m[:2, 2] = c_t - lin @ c_r
        return m

    def truth(self) -> Alignment:
        """The true alignment, for :meth:`Alignment.corner_error`."""
        return Alignment.from_matrix(self.matrix, self.rgb_size, self.thermal_size, f"truth ({self.name})")


#: The re-shot rigs the tests and the study use.
RIGS = (
    Rig("s0.50-r0", 0.50, 0.0, (-20.0, -15.0)),
    Rig("s0.62-r1.2", 0.62, 1.2, (12.0, 8.0)),
    Rig("s0.45-r-2", 0.45, -2.0, (10.0, -30.0)),
)


def stems() -> list[str]:
    """Stems of the registered pairs, sorted."""
    return sorted(p.stem for p in (ROADSCENE / "crop_LR_visible").glob("*.jpg"))


def pick(n: int, offset: int = 0) -> list[str]:
    """``n`` stems spread evenly over the whole set (day and night), shifted by ``offset``."""
    all_stems = stems()
    step = len(all_stems) / n
    return [all_stems[(int(i * step) + offset) % len(all_stems)] for i in range(n)]


def _canvas(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    h, w = image.shape[:2]
    f = max(CANVAS[0] / w, CANVAS[1] / h)
    size = (max(round(w * f), CANVAS[0]), max(round(h * f), CANVAS[1]))
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    x0, y0 = (size[0] - CANVAS[0]) // 2, (size[1] - CANVAS[1]) // 2
    return np.ascontiguousarray(big[y0 : y0 + CANVAS[1], x0 : x0 + CANVAS[0]])


def reshoot(
    stem: str, rig: Rig, registration: Matrix | None = None
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """One registered pair through ``rig``: (RGB H x W x 3 in RGB order, thermal H x W uint8).

    ``registration`` (RGB view -> thermal view of the identity rig, see
    :func:`pair_registration`) first undoes the pair's own registration error.
    """
    bgr = cv2.imread(str(ROADSCENE / "crop_LR_visible" / f"{stem}.jpg"), cv2.IMREAD_COLOR)
    ir = cv2.imread(str(ROADSCENE / "cropinfrared" / f"{stem}.jpg"), cv2.IMREAD_GRAYSCALE)
    if bgr is None or ir is None:
        raise FileNotFoundError(f"cannot read the RoadScene pair {stem} under {ROADSCENE}")
    rgb_c = _canvas(np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8))
    ir_c = _canvas(np.asarray(ir, dtype=np.uint8))
    tw, th = rig.thermal_size
    x0, y0 = (CANVAS[0] - tw) // 2, (CANVAS[1] - th) // 2
    thermal = np.ascontiguousarray(ir_c[y0 : y0 + th, x0 : x0 + tw])
    correction = np.eye(3) if registration is None else np.linalg.inv(registration)
    to_canvas = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]]) @ correction @ rig.matrix
    rgb = cv2.warpPerspective(
        rgb_c,
        to_canvas,
        rig.rgb_size,
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    return np.asarray(rgb, dtype=np.uint8), thermal


def frame_pairs(rig: Rig, names: Sequence[str], registrations: Sequence[Matrix] | None = None) -> list[FramePair]:
    """Re-shot frames as the estimator reads them (as :func:`~thermal_synth_core.data.rig.load_pair`)."""
    out = []
    for i, stem in enumerate(names):
        rgb, thermal = reshoot(stem, rig, None if registrations is None else registrations[i])
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        out.append(FramePair(f"real/{stem}", np.asarray(gray, dtype=np.float32), agc_normalize(thermal)))
    return out


def write_pairs_dataset(root: Path, rig: Rig, names: Sequence[str]) -> Path:
    """Write re-shot frames as a ``pairs`` dataset (``real/{rgb,thermal}/<stem>.png``) under a temporary ``root``."""
    for sub in ("rgb", "thermal"):
        (root / "real" / sub).mkdir(parents=True, exist_ok=True)
    for stem in names:
        rgb, thermal = reshoot(stem, rig)
        cv2.imwrite(str(root / "real" / "rgb" / f"{stem}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "real" / "thermal" / f"{stem}.png"), thermal)
    return root


def _gradient(img: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    n = cv2.GaussianBlur(img, (0, 0), 1.5)
    g = cv2.magnitude(cv2.Sobel(n, cv2.CV_32F, 1, 0), cv2.Sobel(n, cv2.CV_32F, 0, 1))
    return np.asarray(g / max(float(np.percentile(g, 99.5)), 1e-6), dtype=np.float32)


IDENTITY = Rig("identity", 1.0, 0.0, (0.0, 0.0), footprint=1.0)


#: ECC's correlation below which a pair's own registration counts as unmeasured (dark, structureless pairs).
ECC_MIN_CORRELATION = 0.2
#: A pair's own registration moving part of the view further than this (px) is ECC diverging, not the pair:
#: RoadScene's pairs are ~2 px off (see :func:`pair_registration`); dark night pairs send ECC 15-40 px away.
ECC_MAX_DISPLACEMENT_PX = 12.0


def _ecc(stem: str, init: Matrix, motion: int) -> tuple[float, Matrix] | None:
    """ECC on gradient magnitude at the identity rig from ``init`` (RGB view -> thermal view): (cc, matrix)."""
    pair = frame_pairs(IDENTITY, [stem])[0]
    warp = np.asarray(np.linalg.inv(init)[:2], dtype=np.float32)  # ECC's warp maps thermal px -> RGB px
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    try:
        cc, warp = cv2.findTransformECC(  # type: ignore[call-overload]
            _gradient(pair.thermal), _gradient(pair.rgb), warp, motion, criteria, None, 5
        )
    except cv2.error:
        return None
    out = np.eye(3)
    out[:2] = cv2.invertAffineTransform(warp)
    return float(cc), out


def pair_registration(stem: str) -> Matrix | None:
    """One pair's own registration error, RGB view -> thermal view (affine), or None if ECC fails.

    Measured by ECC on gradient magnitude at the identity rig, independently of
    the product's estimator. RoadScene's "registered" pairs are not exact:
    thermal is ~0.993x the RGB and ~1.3 px off on average, and pairs jitter
    ~1.5-2 px around that (likely per-pair crop windows of a frame-level error).
    A single pair's affine fit is noisy at the view's corners (several px on
    night pairs); :func:`reregistered` uses the steadier translation-only form.
    """
    found = _ecc(stem, np.eye(3), cv2.MOTION_AFFINE)
    return None if found is None else found[1]


def registration_offset(names: Sequence[str]) -> Matrix:
    """RoadScene's average residual registration over ``names``: RGB view -> thermal view (a similarity).

    Any fixed-rig estimate inherits this average, so a re-shot rig's truth is it
    composed with the rig's transform (:func:`calibrated_truth`). Median over
    pairs of where each pair's :func:`pair_registration` maps a grid of the
    thermal view, then one similarity fit.
    """
    tw, th = THERMAL_SIZE
    gx, gy = np.meshgrid(np.linspace(0, tw - 1, 7), np.linspace(0, th - 1, 6))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    mapped = []
    for stem in names:
        reg = pair_registration(stem)
        if reg is not None:
            mapped.append(grid @ reg[:2, :2].T + reg[:2, 2])
    if not mapped:
        raise RuntimeError("ECC converged on none of the RoadScene pairs")
    median = np.median(np.stack(mapped), axis=0)
    m, _ = cv2.estimateAffinePartial2D(grid.astype(np.float32), median.astype(np.float32), method=cv2.LMEDS)
    out = np.eye(3)
    out[:2] = m
    return out


def reregistered(names: Sequence[str]) -> tuple[list[str], list[Matrix]]:
    """The pairs of ``names`` whose own registration ECC could measure, and those registrations.

    A pair is left out when ECC fails, its correlation is under
    :data:`ECC_MIN_CORRELATION`, or its affine fit moves some of the view more
    than :data:`ECC_MAX_DISPLACEMENT_PX` (ECC diverging on a dark pair: re-shooting
    through that registration would corrupt the pair, not correct it). The
    criteria use ECC's own output only, never the estimator's. Re-shooting with
    the result (``frame_pairs(rig, kept, registrations)``) gives frames whose
    truth is the nominal rig, up to ECC's per-pair error.
    """
    tw, th = THERMAL_SIZE
    corners = np.array([[0.0, 0.0], [tw - 1.0, 0.0], [0.0, th - 1.0], [tw - 1.0, th - 1.0]])
    kept, regs = [], []
    for stem in names:
        found = _ecc(stem, np.eye(3), cv2.MOTION_AFFINE)
        if found is None:
            continue
        cc, reg = found
        moved = float(np.linalg.norm(corners @ reg[:2, :2].T + reg[:2, 2] - corners, axis=1).max())
        if cc >= ECC_MIN_CORRELATION and moved <= ECC_MAX_DISPLACEMENT_PX:
            kept.append(stem)
            regs.append(reg)
    return kept, regs


def calibrated_truth(rig: Rig, offset: Matrix) -> Alignment:
    """The re-shot rig's truth including RoadScene's own residual registration ``offset``."""
    return Alignment.from_matrix(offset @ rig.matrix, rig.rgb_size, rig.thermal_size, f"truth ({rig.name}, calibrated)")
