"""Object boxes through the dataset (resize, crop, flip) and object visibility in training validation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.datasets import PairedDataset
from thermal_synth_core.data.manifest import Manifest, PairEntry, write_manifest
from thermal_synth_core.errors import DataError
from thermal_synth_core.train.config import METRIC_HIGHER_IS_BETTER, TrainConfig
from thermal_synth_core.train.validate import validate

CPU = torch.device("cpu")
SIZE = (32, 24)
PERSON = (4, 6, 6, 10)  # x, y, w, h: a warm person
CAR = (18, 12, 10, 6)  # a warm car
#: Dark frames (night by the RGB brightness rule) and bright ones (day).
DARK = (True, False, True, False, False)


class _Red(nn.Module):
    """A 'generator' returning the red channel: the dataset's RGB is the thermal frame, so it is perfect."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb[:, :1]


class _InvertedByDay(nn.Module):
    """Perfect on dark frames, inverted on bright ones: shows people at night only."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        red = rgb[:, :1]
        return red if float(red.mean()) < -0.3 else -red


def _frame(dark: bool, rng: np.random.Generator) -> np.ndarray:
    base = (10, 40) if dark else (100, 130)
    img = rng.integers(*base, (SIZE[1], SIZE[0]), dtype=np.uint8)
    for x, y, w, h in (PERSON, CAR):
        img[y : y + h, x : x + w] = 200 if dark else 250
    return img


def _dataset_root(root: Path, *, annotated: bool = True, conditions: tuple[str | None, ...] | None = None) -> Path:
    """A prepared ``val`` split whose RGB frames are the thermal frames (gray), with a COCO file of both objects."""
    rng = np.random.default_rng(0)
    pairs, images, anns = [], [], []
    for i, dark in enumerate(DARK):
        rgb_path, thermal_path = root / "val" / "rgb" / f"{i}.png", root / "val" / "thermal" / f"{i}.png"
        rgb_path.parent.mkdir(parents=True, exist_ok=True)
        thermal_path.parent.mkdir(parents=True, exist_ok=True)
        img = _frame(dark, rng)
        cv2.imwrite(str(rgb_path), cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        cv2.imwrite(str(thermal_path), img)
        condition = conditions[i] if conditions else None
        pairs.append(PairEntry("val", str(i), rgb_path, thermal_path, condition=condition))
        images.append({"id": i + 1, "file_name": f"thermal/{i}.png", "width": SIZE[0], "height": SIZE[1]})
        for k, (cat, box) in enumerate(((1, PERSON), (3, CAR))):
            bbox = [float(v) for v in box]
            anns.append({"id": 2 * i + k + 1, "image_id": i + 1, "category_id": cat, "bbox": bbox, "area": 1.0})
    manifest = Manifest(root, "pairs", "", Alignment.identity(SIZE), 8, SIZE, False, tuple(pairs))
    write_manifest(manifest)
    if annotated:
        coco = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        }
        (root / "val" / "annotations.json").write_text(json.dumps(coco))
    return root


def _raster(boxes: tuple[tuple[float, float, float, float], ...], shape: tuple[int, int]) -> torch.Tensor:
    out = torch.zeros(shape)
    for x, y, w, h in boxes:
        out[int(np.floor(y)) : int(np.ceil(y + h)), int(np.floor(x)) : int(np.ceil(x + w))] = 1.0
    return out


# -- the dataset --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_boxes_and_object_mask_follow_the_crop_and_flip(tmp_path: Path, seed: int) -> None:
    root = _dataset_root(tmp_path)
    ds = PairedDataset(root, "val", crop_size=(20, 16), seed=seed, object_classes=("person",))
    for index in range(len(ds)):
        item = ds[index]
        boxes = ds.boxes(index)
        assert boxes is not None and {b.category for b in boxes} <= {"person", "car"}
        person = tuple((b.x, b.y, b.w, b.h) for b in boxes if b.category == "person")
        torch.testing.assert_close(item["objects"][0], _raster(person, (16, 20)))
        inside = item["objects"][0] > 0.5
        if inside.any():  # the person is the hot square wherever the crop and flip put it
            assert float(item["thermal"][0][inside].min()) > 0.5


def test_boxes_scale_with_the_load_size(tmp_path: Path) -> None:
    ds = PairedDataset(_dataset_root(tmp_path), "val", load_size=(64, 48), flip=False, random_crop=False)
    boxes = ds.boxes(0)
    assert boxes is not None
    person = next(b for b in boxes if b.category == "person")
    assert (person.x, person.y, person.w, person.h) == (8.0, 12.0, 12.0, 20.0)
    assert "objects" not in ds[0]  # only asked-for classes make a mask


def test_without_annotations_there_are_no_boxes_and_asking_for_masks_is_an_error(tmp_path: Path) -> None:
    root = _dataset_root(tmp_path, annotated=False)
    ds = PairedDataset(root, "val")
    assert not ds.has_boxes and ds.boxes(0) is None
    with pytest.raises(DataError, match=r"annotations\.json not found"):
        PairedDataset(root, "val", object_classes=("person",))


# -- validation ---------------------------------------------------------------------------------------


def test_a_perfect_generator_shows_every_person_and_car(tmp_path: Path) -> None:
    ds = PairedDataset(_dataset_root(tmp_path), "val", flip=False, random_crop=False)
    values = validate(_Red(), ds, CPU, max_frames=10).values
    visible = [k for k in values if k.startswith("val_visible")]
    assert visible == [
        "val_visible_person",
        "val_visible_person_day",
        "val_visible_person_night",
        "val_visible_car",
        "val_visible_car_day",
        "val_visible_car_night",
    ]
    assert all(values[k] == 1.0 for k in visible)
    assert list(values)[: len(values) - len(visible)] == ["val_l1", "val_psnr", "val_ssim", "val_warm_iou"]


def test_night_comes_from_the_rgb_brightness_when_pairs_have_no_tag(tmp_path: Path) -> None:
    ds = PairedDataset(_dataset_root(tmp_path), "val", flip=False, random_crop=False)
    values = validate(_InvertedByDay(), ds, CPU, max_frames=10).values
    assert values["val_visible_person_night"] == 1.0
    assert values["val_visible_person_day"] == 0.0
    assert values["val_visible_person"] == pytest.approx(DARK.count(True) / len(DARK))


def test_a_pairs_condition_tag_wins_over_the_brightness(tmp_path: Path) -> None:
    tags = tuple("day" if dark else "night" for dark in DARK)  # the opposite of what the brightness says
    ds = PairedDataset(_dataset_root(tmp_path, conditions=tags), "val", flip=False, random_crop=False)
    values = validate(_InvertedByDay(), ds, CPU, max_frames=10).values
    assert values["val_visible_person_day"] == 1.0
    assert values["val_visible_person_night"] == 0.0


def test_visibility_metrics_are_selectable_as_best_and_higher_is_better() -> None:
    for key in ("val_visible_person", "val_visible_person_night", "val_visible_car_day"):
        assert TrainConfig(best_metric=key).higher_is_better
        assert METRIC_HIGHER_IS_BETTER[key]
