"""Validation during training: L1, PSNR, SSIM (and warm-region scores) on the val split, plus a PNG grid.

The generator runs in eval mode (running BatchNorm statistics, dropout off), as
the exported model does by default, on whole frames at ``data.val_size``. Metrics
are those of :mod:`thermal_synth_core.metrics` on [0, 1] images, so validation,
offline evaluation and the node's diagnostics agree.

When the val pairs carry a lighting condition (datasets prepared from recorded
drives tag each pair ``day`` or ``night``), the figures of :data:`BY_CONDITION`
are also reported per condition (``val_l1_day``, ``val_warm_iou_night``, ...),
after the overall ones: a model can win by day and lose at night. Data without
conditions gets exactly the overall figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from thermal_synth_core import metrics
from thermal_synth_core.data.datasets import PairedDataset, PairItem
from thermal_synth_core.data.manifest import CONDITIONS

__all__ = ["BY_CONDITION", "ValResult", "validate"]

#: Figures also reported per lighting condition, as ``<name>_<condition>``, when the val pairs have one.
BY_CONDITION: Final = ("val_l1", "val_warm_iou")


@dataclass
class ValResult:
    """Mean validation figures and a few (RGB, generated, real) rows for an image grid."""

    values: dict[str, float]
    rows: list[list[torch.Tensor]] = field(default_factory=list)


@dataclass
class _Means:
    """Running means of named figures; a NaN (e.g. warm IoU of a frame without warm pixels) is left out."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, values: Mapping[str, float]) -> None:
        for k, v in values.items():
            if not math.isnan(v):
                self.sums[k] = self.sums.get(k, 0.0) + v
                self.counts[k] = self.counts.get(k, 0) + 1

    def means(self, suffix: str = "") -> dict[str, float]:
        """The mean of each figure seen, in first-seen order, its name followed by ``suffix``."""
        return {f"{k}{suffix}": self.sums[k] / self.counts[k] for k in self.sums}


def _unit(t: torch.Tensor) -> npt.NDArray[np.float32]:
    return ((t.detach().float().cpu()[0, 0] + 1.0) * 0.5).clamp(0, 1).numpy()


def _frame_values(pred: npt.NDArray[np.float32], real: npt.NDArray[np.float32], item: PairItem) -> dict[str, float]:
    """The figures of one val frame (``val_warm_contrast`` only when the data has warm-object masks)."""
    values = {
        "val_l1": metrics.l1(pred, real),
        "val_psnr": metrics.psnr(pred, real),
        "val_ssim": metrics.ssim(pred, real),
        "val_warm_iou": metrics.warm_region_iou(pred, real),
    }
    if "mask" in item:
        mask = item["mask"][0].numpy() > 0.5
        values["val_warm_contrast"] = metrics.warm_contrast(pred, mask)
    return values


@torch.no_grad()
def validate(
    generator: nn.Module, dataset: PairedDataset, device: torch.device, max_frames: int, grid_rows: int = 4
) -> ValResult:
    """Run ``generator`` over up to ``max_frames`` frames of ``dataset``; restore its train/eval mode after.

    The values are the overall means, then, for pairs tagged with a lighting condition, the
    :data:`BY_CONDITION` means per condition (``day`` first; a condition without frames has none).
    """
    was_training = generator.training
    generator.eval()
    overall = _Means()
    by_condition = {c: _Means() for c in CONDITIONS}
    rows: list[list[torch.Tensor]] = []
    n = min(max_frames, len(dataset))
    # Spread the sample over the split (day and night, all scenes) rather than taking the first frames.
    indices = np.linspace(0, len(dataset) - 1, n).round().astype(int).tolist()
    for i, index in enumerate(indices):
        item = dataset[index]
        rgb = item["rgb"].unsqueeze(0).to(device)
        fake = generator(rgb).float().clamp(-1, 1)
        values = _frame_values(_unit(fake), _unit(item["thermal"].unsqueeze(0)), item)
        overall.add(values)
        condition = dataset.condition(index)
        if condition is not None:
            by_condition.setdefault(condition, _Means()).add({k: values[k] for k in BY_CONDITION})
        if i < grid_rows:
            rows.append([item["rgb"], fake[0].cpu(), item["thermal"]])
    if was_training:
        generator.train()
    result = overall.means()
    for condition, means in by_condition.items():
        result.update(means.means(f"_{condition}"))
    return ValResult(result, rows)
