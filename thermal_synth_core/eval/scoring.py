"""Per-frame scores of the model and of the grayscale baseline against real thermal, and their aggregate.

Everything is compared on the same scale: the synthetic frame, the baseline and
the real frame each pass through :func:`~thermal_synth_core.agc.agc_normalize`
(the AGC used for training targets), at the real frame's resolution
(:func:`~thermal_synth_core.metrics.normalised_at`, which the node's live
L1/SSIM uses too). The
grayscale baseline is the luminance of exactly what the network sees (the RGB
frame warped into the thermal view by the model's alignment, at the model's
input size), so the two differ only in what the network adds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NotRequired, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core import metrics
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.errors import AlignmentError
from thermal_synth_core.metrics import normalised_at, to_size

__all__ = [
    "HEADLINE",
    "METRICS",
    "SIDES",
    "MetricInfo",
    "aggregate",
    "baseline_from_blob",
    "check_view",
    "normalised",
    "normalised_at",
    "rgb_from_blob",
    "score",
    "to_size",
]

Float01 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class MetricInfo:
    """How to read one metric."""

    key: str
    label: str
    higher_is_better: bool
    unit: str
    explanation: str


#: Every per-frame metric, in report order. ``warm_contrast`` needs a warm-object mask topic.
METRICS: Final[tuple[MetricInfo, ...]] = (
    MetricInfo(
        "warm_iou",
        "warm-region IoU",
        True,
        "",
        "overlap (intersection over union) of the hottest 10% of pixels in the prediction and in the real frame: "
        "are the warm things where the camera saw them? Rank-based, so insensitive to gain and offset.",
    ),
    MetricInfo(
        "ssim",
        "SSIM",
        True,
        "",
        "structural similarity (Gaussian 11x11 window): do local patterns of brightness and contrast match?",
    ),
    MetricInfo(
        "l1", "L1", False, "", "mean absolute difference of the AGC-normalised images (0 = identical, 1 = opposite)."
    ),
    MetricInfo(
        "psnr",
        "PSNR",
        True,
        "dB",
        "peak signal-to-noise ratio of the AGC-normalised images; higher means smaller errors.",
    ),
    MetricInfo(
        "warm_contrast",
        "warm contrast",
        True,
        "",
        "mean brightness inside the recorded warm-object masks (people, running cars) minus outside: "
        "do warm objects stand out? Only when the bag has a mask topic.",
    ),
)
METRIC_INFO: Final[dict[str, MetricInfo]] = {m.key: m for m in METRICS}
#: The two metrics the summary line and the report's verdict lead with.
HEADLINE: Final = ("warm_iou", "ssim")
#: Who is scored: the model and the grayscale baseline (``real`` only has a warm contrast).
SIDES: Final = ("model", "baseline")


def baseline_from_blob(blob: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Grayscale baseline: the 8-bit luminance (OpenCV's RGB2GRAY) of a (1, 3, H, W) RGB network input.

    The network input was made from 8-bit RGB, so the round trip through
    :func:`rgb_from_blob` is exact, and the baseline is the grayscale image a
    camera driver would give, warped exactly as the model's input is.
    """
    return np.asarray(cv2.cvtColor(rgb_from_blob(blob), cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def rgb_from_blob(blob: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """The RGB uint8 H x W x 3 image a (1, 3, H, W) network input shows (the thermal view of the frame)."""
    rgb = np.asarray(blob, dtype=np.float32).reshape(3, blob.shape[-2], blob.shape[-1]).transpose(1, 2, 0)
    return np.asarray(np.clip((rgb + 1.0) * 127.5 + 0.5, 0, 255), dtype=np.uint8)


def check_view(real_size: tuple[int, int], output_size: tuple[int, int], topic: str) -> None:
    """Raise when real thermal frames have another aspect ratio than the model's thermal view."""
    real_aspect = real_size[0] / real_size[1]
    model_aspect = output_size[0] / output_size[1]
    if abs(real_aspect / model_aspect - 1.0) > 0.01:
        raise AlignmentError(
            f"real thermal frames on {topic} are {real_size[0]}x{real_size[1]}, but the model's thermal view is "
            f"{output_size[0]}x{output_size[1]} (another aspect ratio): the model was trained for another thermal "
            "camera mode, so its output cannot be compared with this camera's frames"
        )


def score(pred: Float01, real: Float01 | None, mask: npt.NDArray[np.bool_] | None) -> dict[str, float | None]:
    """Every metric of one AGC-normalised prediction; None where the real frame or the mask is missing."""
    out: dict[str, float | None] = dict.fromkeys(METRIC_INFO)
    if real is not None:
        out["l1"], out["ssim"] = metrics.l1_ssim(pred, real)  # what the node's /diagnostics reports too
        out["psnr"] = metrics.psnr(pred, real)
        out["warm_iou"] = metrics.warm_region_iou(pred, real)
    if mask is not None:
        contrast = metrics.warm_contrast(pred, mask)
        out["warm_contrast"] = contrast if math.isfinite(contrast) else None
    return out


def normalised(image: npt.NDArray[Any]) -> Float01:
    """The shared AGC (robust percentiles to [0, 1])."""
    return agc_normalize(image)


# -- aggregate ----------------------------------------------------------------------------------------


class Stats(TypedDict):
    """Statistics of one metric over the frames (None when no frame has a value)."""

    n: int
    mean: float | None
    median: float | None
    std: float | None
    p05: float | None
    p95: float | None
    min: float | None
    max: float | None


class MetricSummary(TypedDict):
    """One metric over the drive: model and baseline statistics and who wins (see :func:`aggregate`)."""

    label: str
    higher_is_better: bool
    unit: str
    model: Stats
    baseline: Stats
    winner: str | None
    """``model``, ``baseline``, ``tie``, or None."""
    model_better_fraction: float | None
    frames_compared: int
    real: NotRequired[Stats]


def _stats(values: Sequence[float | None]) -> Stats:
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if finite.size == 0:
        return Stats(n=0, mean=None, median=None, std=None, p05=None, p95=None, min=None, max=None)
    return Stats(
        n=int(finite.size),
        mean=float(finite.mean()),
        median=float(np.median(finite)),
        std=float(finite.std()),
        p05=float(np.percentile(finite, 5)),
        p95=float(np.percentile(finite, 95)),
        min=float(finite.min()),
        max=float(finite.max()),
    )


def aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, MetricSummary]:
    """Per-metric statistics for model and baseline, who wins on the mean, and how often the model wins per frame.

    ``rows`` are frame rows with ``model_<metric>`` and ``baseline_<metric>`` keys
    (None or NaN where not computed); ``real_warm_contrast`` is summarised as the
    reference the warm contrasts should approach.
    """
    out: dict[str, MetricSummary] = {}
    for info in METRICS:
        model = [r.get(f"model_{info.key}") for r in rows]
        base = [r.get(f"baseline_{info.key}") for r in rows]
        model_stats, base_stats = _stats(model), _stats(base)
        if model_stats["n"] == 0:
            continue
        wins = ties = n = 0
        for m, b in zip(model, base, strict=True):
            if m is None or b is None or not (math.isfinite(m) and math.isfinite(b)):
                continue
            n += 1
            if m == b:
                ties += 1
            elif (m > b) == info.higher_is_better:
                wins += 1
        m_mean, b_mean = model_stats["mean"], base_stats["mean"]
        winner: str | None = None
        if m_mean is not None and b_mean is not None:
            if m_mean == b_mean:
                winner = "tie"
            else:
                winner = "model" if (m_mean > b_mean) == info.higher_is_better else "baseline"
        entry: MetricSummary = {
            "label": info.label,
            "higher_is_better": info.higher_is_better,
            "unit": info.unit,
            "model": model_stats,
            "baseline": base_stats,
            "winner": winner,
            "model_better_fraction": wins / n if n else None,
            "frames_compared": n,
        }
        if info.key == "warm_contrast":
            entry["real"] = _stats([r.get("real_warm_contrast") for r in rows])
        out[info.key] = entry
    return out
