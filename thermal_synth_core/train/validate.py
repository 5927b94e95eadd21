"""Validation during training: L1, PSNR, SSIM (and warm-region scores) on the val split, plus a PNG grid.

The generator runs in eval mode (running BatchNorm statistics, dropout off), as
the exported model does by default, on whole frames at ``data.val_size``. Metrics
are those of :mod:`thermal_synth_core.metrics` on [0, 1] images, so validation,
offline evaluation and the node's diagnostics agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from thermal_synth_core import metrics
from thermal_synth_core.data.datasets import PairedDataset

__all__ = ["ValResult", "validate"]


@dataclass
class ValResult:
    """Mean validation figures and a few (RGB, generated, real) rows for an image grid."""

    values: dict[str, float]
    rows: list[list[torch.Tensor]] = field(default_factory=list)


def _unit(t: torch.Tensor) -> np.ndarray:
    return ((t.detach().float().cpu()[0, 0] + 1.0) * 0.5).clamp(0, 1).numpy()


@torch.no_grad()
def validate(
    generator: nn.Module, dataset: PairedDataset, device: torch.device, max_frames: int, grid_rows: int = 4
) -> ValResult:
    """Run ``generator`` over up to ``max_frames`` frames of ``dataset``; restore its train/eval mode after."""
    was_training = generator.training
    generator.eval()
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    rows: list[list[torch.Tensor]] = []
    n = min(max_frames, len(dataset))
    # Spread the sample over the split (day and night, all scenes) rather than taking the first frames.
    indices = np.linspace(0, len(dataset) - 1, n).round().astype(int).tolist()
    for i, index in enumerate(indices):
        item = dataset[index]
        rgb = item["rgb"].unsqueeze(0).to(device)
        fake = generator(rgb).float().clamp(-1, 1)
        pred, real = _unit(fake), _unit(item["thermal"].unsqueeze(0))
        values = {
            "val_l1": metrics.l1(pred, real),
            "val_psnr": metrics.psnr(pred, real),
            "val_ssim": metrics.ssim(pred, real),
            "val_warm_iou": metrics.warm_region_iou(pred, real),
        }
        if "mask" in item:
            mask = item["mask"][0].numpy() > 0.5
            values["val_warm_contrast"] = metrics.warm_contrast(pred, mask)
        for k, v in values.items():
            if not math.isnan(v):
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
        if i < grid_rows:
            rows.append([item["rgb"], fake[0].cpu(), item["thermal"]])
    if was_training:
        generator.train()
    return ValResult({k: sums[k] / counts[k] for k in sums}, rows)
