"""Training validation: the overall figures, and day/night figures when the val pairs carry a condition."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from thermal_synth_core import metrics
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.datasets import PairedDataset
from thermal_synth_core.data.manifest import Manifest, PairEntry, write_manifest
from thermal_synth_core.train.validate import validate

CPU = torch.device("cpu")
SIZE = (32, 24)
#: The val pairs' conditions: three by day, two at night.
CONDITIONS = ("day", "night", "day", "day", "night")


class _Red(nn.Module):
    """A 'generator' that returns the red channel: deterministic, scored like any model."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb[:, :1]


def _dataset(root: Path, conditions: tuple[str | None, ...]) -> PairedDataset:
    """A prepared ``val`` split of random RGB frames and thermal frames with a warm square in varying places."""
    rng = np.random.default_rng(0)
    pairs = []
    for i, condition in enumerate(conditions):
        rgb_path, thermal_path = root / "val" / "rgb" / f"{i}.png", root / "val" / "thermal" / f"{i}.png"
        rgb_path.parent.mkdir(parents=True, exist_ok=True)
        thermal_path.parent.mkdir(parents=True, exist_ok=True)
        thermal = rng.integers(0, 80, (SIZE[1], SIZE[0]), dtype=np.uint8)
        thermal[2 + i : 10 + i, 3 * i : 3 * i + 9] = 240
        cv2.imwrite(str(rgb_path), rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8))
        cv2.imwrite(str(thermal_path), thermal)
        pairs.append(PairEntry("val", str(i), rgb_path, thermal_path, condition=condition))
    manifest = Manifest(root, "pairs", "", Alignment.identity(SIZE), 8, SIZE, False, tuple(pairs))
    write_manifest(manifest)
    return PairedDataset(root, "val", flip=False, random_crop=False)


def _frame_l1_and_iou(ds: PairedDataset, index: int) -> tuple[float, float]:
    item = ds[index]
    pred = ((item["rgb"][0] + 1) / 2).numpy()
    real = ((item["thermal"][0] + 1) / 2).numpy()
    return metrics.l1(pred, real), metrics.warm_region_iou(pred, real)


def test_without_conditions_only_the_overall_figures(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, (None,) * len(CONDITIONS))
    values = validate(_Red(), ds, CPU, max_frames=10).values
    assert list(values) == ["val_l1", "val_psnr", "val_ssim", "val_warm_iou"]


def test_day_and_night_figures_are_the_means_over_their_frames(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, CONDITIONS)
    values = validate(_Red(), ds, CPU, max_frames=10).values
    overall = ["val_l1", "val_psnr", "val_ssim", "val_warm_iou"]
    assert list(values) == [*overall, "val_l1_day", "val_warm_iou_day", "val_l1_night", "val_warm_iou_night"]
    frames = [_frame_l1_and_iou(ds, i) for i in range(len(ds))]
    for when in ("day", "night"):
        chosen = [f for f, c in zip(frames, CONDITIONS, strict=True) if c == when]
        assert values[f"val_l1_{when}"] == pytest.approx(np.mean([f[0] for f in chosen]))
        assert values[f"val_warm_iou_{when}"] == pytest.approx(np.mean([f[1] for f in chosen]))
    assert values["val_l1"] == pytest.approx(np.mean([f[0] for f in frames]))
    assert values["val_l1_day"] != pytest.approx(values["val_l1_night"])  # the split is not a copy of the whole


def test_a_condition_without_frames_reports_nothing(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, ("day", "day", None))
    values = validate(_Red(), ds, CPU, max_frames=10).values
    assert "val_l1_day" in values and not any(k.endswith("_night") for k in values)
    day = [_frame_l1_and_iou(ds, i)[0] for i in (0, 1)]
    assert values["val_l1_day"] == pytest.approx(np.mean(day))


def test_the_dataset_reads_each_pairs_condition(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, CONDITIONS)
    assert [ds.condition(i) for i in range(len(ds))] == list(CONDITIONS)
    ds.entries = [replace(e, condition=None) for e in ds.entries]
    assert ds.condition(0) is None
