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

When the val split has object annotations (``annotations.json``), the fraction of
annotated people and cars the generated frame shows where the real one does
(:mod:`thermal_synth_core.objects`: box contrast against a ring, same sign and at
least half the real contrast) follows, overall and by day and at night:
``val_visible_person``, ``val_visible_person_day``, ``val_visible_person_night``,
``val_visible_car``, ... (:data:`VISIBILITY_CLASSES`). Day or night is the pair's
tag, else the RGB frame's mean brightness against ``prepare --bag``'s threshold.
A figure with no judged object is left out. Data without annotations gets none of these.
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
from thermal_synth_core.data.drive import brightness, lighting
from thermal_synth_core.data.manifest import CONDITIONS
from thermal_synth_core.objects import ObjectClass, ObjectScore, ObjectSummary, score_objects, summarise

__all__ = ["BY_CONDITION", "VISIBILITY_CLASSES", "ValResult", "validate"]

#: Figures also reported per lighting condition, as ``<name>_<condition>``, when the val pairs have one.
BY_CONDITION: Final = ("val_l1", "val_warm_iou")
#: Classes whose visibility is reported as ``val_visible_<class>`` (and ``_day``, ``_night``) on annotated data.
VISIBILITY_CLASSES: Final[tuple[ObjectClass, ...]] = ("person", "car")


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


def _lighting(dataset: PairedDataset, index: int, rgb: torch.Tensor) -> str:
    """The pair's condition tag, else ``night`` when the RGB frame's mean gray level is under the drive threshold."""
    tagged = dataset.condition(index)
    if tagged is not None:
        return tagged
    rgb8 = ((rgb.permute(1, 2, 0) + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    return lighting(brightness(rgb8))


def _visibility(summary: ObjectSummary) -> dict[str, float]:
    """``val_visible_<class>`` and ``..._<condition>`` for :data:`VISIBILITY_CLASSES`, where objects were judged."""
    out: dict[str, float] = {}
    for category in VISIBILITY_CLASSES:
        for condition in (None, *CONDITIONS):
            rate = summary.rate(category, condition)
            if rate is not None:
                out[f"val_visible_{category}" + (f"_{condition}" if condition else "")] = rate
    return out


@torch.no_grad()
def validate(
    generator: nn.Module, dataset: PairedDataset, device: torch.device, max_frames: int, grid_rows: int = 4
) -> ValResult:
    """Run ``generator`` over up to ``max_frames`` frames of ``dataset``; restore its train/eval mode after.

    The values are the overall means, then, for pairs tagged with a lighting condition, the
    :data:`BY_CONDITION` means per condition (``day`` first; a condition without frames has none),
    then, when ``dataset`` has object annotations, the visibility of :data:`VISIBILITY_CLASSES`.
    """
    was_training = generator.training
    generator.eval()
    overall = _Means()
    by_condition = {c: _Means() for c in CONDITIONS}
    rows: list[list[torch.Tensor]] = []
    objects: list[ObjectScore] = []
    n = min(max_frames, len(dataset))
    # Spread the sample over the split (day and night, all scenes) rather than taking the first frames.
    indices = np.linspace(0, len(dataset) - 1, n).round().astype(int).tolist()
    for i, index in enumerate(indices):
        item = dataset[index]
        rgb = item["rgb"].unsqueeze(0).to(device)
        fake = generator(rgb).float().clamp(-1, 1)
        pred, real = _unit(fake), _unit(item["thermal"].unsqueeze(0))
        values = _frame_values(pred, real, item)
        overall.add(values)
        boxes = dataset.boxes(index)
        if boxes is not None:
            objects += score_objects(
                pred, real, boxes, frame_id=item["id"], condition=_lighting(dataset, index, item["rgb"])
            )
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
    if dataset.has_boxes:
        result.update(_visibility(summarise(objects)))
    return ValResult(result, rows)
