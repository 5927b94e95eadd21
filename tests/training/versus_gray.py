"""A trained model against the grayscale baseline on a prepared split, frame by frame (shared by slow tests).

The baseline is what a thermal camera is not: the RGB frame's luminance through the
same robust-percentile AGC (:func:`~thermal_synth_core.agc.agc_normalize`). Both are
scored against the real thermal frame with L1 and the warm-region IoU of
:mod:`thermal_synth_core.metrics` (the figures training validation reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.data.datasets import PairedDataset
from thermal_synth_core.metrics import l1, warm_region_iou
from thermal_synth_core.models import load_generator


@dataclass(frozen=True)
class FrameScore:
    """One frame's figures: the model's and grayscale's L1 and warm-region IoU, and its condition (drives)."""

    frame_id: str
    condition: str | None
    model_l1: float
    gray_l1: float
    model_warm: float
    gray_warm: float


def score_split(model: Path, prepared: Path, split: str = "val") -> list[FrameScore]:
    """Every pair of ``split`` at the prepared size: the model (``model.safetensors``) and grayscale, scored."""
    net, _ = load_generator(model)
    ds = PairedDataset(prepared, split, flip=False, random_crop=False)
    out = []
    for i in range(len(ds)):
        item = ds[i]
        real = (item["thermal"][0].numpy() + 1.0) / 2.0
        rgb = ((item["rgb"].numpy().transpose(1, 2, 0) + 1.0) * 127.5).round().astype(np.uint8)
        gray = agc_normalize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        with torch.no_grad():
            pred = agc_normalize((net(item["rgb"][None]).clamp(-1, 1)[0, 0].numpy() + 1.0) / 2.0)
        out.append(
            FrameScore(
                item["id"],
                ds.condition(i),
                l1(pred, real),
                l1(gray, real),
                warm_region_iou(pred, real),
                warm_region_iou(gray, real),
            )
        )
    return out


def mean_of(scores: list[FrameScore], figure: str, condition: str | None = None) -> float:
    """The mean of one figure (``model_warm``, ``gray_l1``, ...) over all frames, or those of one condition."""
    chosen = [float(getattr(s, figure)) for s in scores if condition is None or s.condition == condition]
    return float(np.mean(chosen)) if chosen else float("nan")
