"""The synthetic world's COCO annotations: boxes from the same polygons as the warm-object masks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.core.data.synth_cache import synth_dataset
from thermal_synth_core.align.transform import scale_matrix
from thermal_synth_core.cli import main
from thermal_synth_core.data.annotations import read_annotations
from thermal_synth_core.data.imageio import read_mask
from thermal_synth_core.data.layouts import scan_dataset
from thermal_synth_core.data.manifest import read_manifest
from thermal_synth_core.data.synth import MASK_HOT_VEHICLE, MASK_PERSON, flir_v1_alignment
from thermal_synth_core.data.synth.folders import THERMAL_SIZE, V1_RGB_SIZE
from thermal_synth_core.data.synth.render import MIN_BOX_PX, MIN_VISIBLE_FRACTION, object_boxes, render_mask
from thermal_synth_core.data.synth.world import Car, Person, StreetLayout, random_layout

SMALL = {"seed": 1, "thermal_size": (320, 256), "rgb_size": (900, 800)}


@pytest.fixture(scope="module")
def small_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_dataset(tmp_path_factory, "flir-v1", 16, **SMALL)


CocoDoc = dict[str, Any]  # a COCO file as read back: free-form JSON


def _coco(path: Path) -> CocoDoc:
    doc: CocoDoc = json.loads(path.read_text())
    return doc


def _boxes_by_file(doc: CocoDoc) -> dict[str, list[tuple[str, list[float]]]]:
    names = {c["id"]: c["name"] for c in doc["categories"]}
    files = {img["id"]: img["file_name"] for img in doc["images"]}
    out: dict[str, list[tuple[str, list[float]]]] = {name: [] for name in files.values()}
    for a in doc["annotations"]:
        out[files[a["image_id"]]].append((names[a["category_id"]], a["bbox"]))
    return out


def _inside(shape: tuple[int, ...], boxes: list[list[float]]) -> np.ndarray:
    inside = np.zeros(shape[:2], dtype=bool)
    for x, y, w, h in boxes:
        inside[int(y) : int(y + h), int(x) : int(x + w)] = True
    return inside


def test_flir_v1_boxes_cover_the_warm_object_masks(small_v1: Path) -> None:
    """>= 90 % of the person (hot-vehicle) mask pixels lie in person (car) boxes; person boxes are mostly person.

    Per frame the cover can fall short only by objects left out as mostly hidden or tiny
    (see the next tests), so it holds on most frames, and on all pixels together.
    """
    marked_px = {"person": 0, "car": 0}
    covered_px = {"person": 0, "car": 0}
    frames_ok: dict[str, list[bool]] = {"person": [], "car": []}
    people = cars = hot_car_boxes = 0
    for split in ("train", "val", "video"):
        doc = _coco(small_v1 / split / "thermal_annotations.json")
        assert {c["name"]: c["id"] for c in doc["categories"]} == {"person": 1, "car": 3}  # FLIR's ids
        for name, objects in _boxes_by_file(doc).items():
            mask = read_mask(small_v1 / split / "masks" / f"{Path(name).stem}.png")
            for value, category in ((MASK_PERSON, "person"), (MASK_HOT_VEHICLE, "car")):
                boxes = [b for c, b in objects if c == category]
                marked = mask == value
                covered = int((marked & _inside(mask.shape, boxes)).sum())
                marked_px[category] += int(marked.sum())
                covered_px[category] += covered
                if marked.sum() > 50:
                    frames_ok[category].append(covered >= 0.9 * marked.sum())
                for x, y, w, h in boxes:
                    assert min(x, y) >= 0 and x + w <= 320 and y + h <= 256 and min(w, h) >= MIN_BOX_PX
                    held = int(marked[int(y) : int(y + h), int(x) : int(x + w)].sum())
                    if category == "person":
                        assert held >= 0.2 * w * h, (name, x, y, w, h)  # a person's box is mostly person
                    hot_car_boxes += category == "car" and held > 0
            assert len(objects) <= 14  # at most 7 people and 7 cars in a street
            people += sum(c == "person" for c, _ in objects)
            cars += sum(c == "car" for c, _ in objects)
            assert all(a["iscrowd"] == 0 for a in doc["annotations"])
    for category in ("person", "car"):
        assert covered_px[category] >= 0.9 * marked_px[category] > 0, category
        assert np.mean(frames_ok[category]) >= 0.75, category
    assert people >= 16 and cars >= 16 and hot_car_boxes >= 4  # ~3 people and ~3 cars a frame
    ann = doc["annotations"][0]
    assert set(ann) == {"id", "image_id", "category_id", "bbox", "area", "iscrowd"}
    assert ann["area"] == pytest.approx(ann["bbox"][2] * ann["bbox"][3], abs=0.01) and ann["iscrowd"] == 0


@pytest.mark.parametrize("night", [False, True])
def test_without_thresholds_the_boxes_hold_every_mask_pixel(night: bool) -> None:
    """Boxes come from the masks' own raster: with nothing left out, every mask pixel is in a box of its class."""
    m = flir_v1_alignment().as_array()
    for i in range(6):
        scene = random_layout(np.random.default_rng([5, i]), V1_RGB_SIZE, night).scene_at(0.0)
        mask = render_mask(scene, m, THERMAL_SIZE)
        found = object_boxes(scene, m, THERMAL_SIZE, min_side=0, min_visible=0.0)
        assert all(0.0 < o.visible <= 1.0 for o in found)
        for value, category in ((MASK_PERSON, "person"), (MASK_HOT_VEHICLE, "car")):
            boxes = [[o.box.x, o.box.y, o.box.w, o.box.h] for o in found if o.box.category == category]
            assert not (mask == value)[~_inside(mask.shape, boxes)].any()


def _street(*actors: Person | Car) -> StreetLayout:
    layout = random_layout(np.random.default_rng(3), V1_RGB_SIZE, night=False)
    return replace(layout, actors=actors)


def _person(x: float, z: float) -> Person:
    return Person(x, z, 0.0, 0.0, 1.8, (200, 160, 120), (30, 20, 10), (30, 60, 160), (40, 40, 40), False, 0.0, 306, 300)


def test_an_object_alone_is_fully_visible_and_boxed_to_its_mask() -> None:
    m = flir_v1_alignment().as_array()
    scene = _street(_person(0.5, 12.0)).scene_at(0.0)
    (obj,) = object_boxes(scene, m, THERMAL_SIZE)
    ys, xs = np.nonzero(render_mask(scene, m, THERMAL_SIZE) == MASK_PERSON)
    assert obj.visible == 1.0 and obj.pixels == len(xs)
    expected = [float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1)]
    assert [obj.box.x, obj.box.y, obj.box.w, obj.box.h] == expected


def test_hidden_tiny_and_out_of_frame_objects_are_left_out() -> None:
    m = flir_v1_alignment().as_array()
    car = Car(0.5, 8.0, 0.0, 0.0, "rear", running=True, color=(200, 200, 200))
    scene = _street(_person(0.5, 12.0), car).scene_at(0.0)  # the car stands in front of the person
    assert [o.box.category for o in object_boxes(scene, m, THERMAL_SIZE)] == ["car"]
    everything = object_boxes(scene, m, THERMAL_SIZE, min_visible=0.0)
    hidden = next(o for o in everything if o.box.category == "person")
    assert 0.0 < hidden.visible < MIN_VISIBLE_FRACTION
    far = _street(_person(0.0, 140.0)).scene_at(0.0)  # 11 x 5 px at 640x512, half that at 320x256
    half = scale_matrix(THERMAL_SIZE, (320, 256)) @ m
    assert [o.box.category for o in object_boxes(far, m, THERMAL_SIZE)] == ["person"]
    assert object_boxes(far, half, (320, 256)) == []
    assert [o.box.category for o in object_boxes(far, half, (320, 256), min_side=1)] == ["person"]
    outside = _street(_person(60.0, 10.0)).scene_at(0.0)
    assert object_boxes(outside, m, THERMAL_SIZE, min_side=0, min_visible=0.0) == []


def test_flir_v2_thermal_folders_are_annotated_and_read(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = synth_dataset(tmp_path_factory, "flir-v2", 20, seed=2, thermal_size=(320, 256), rgb_size=(612, 512))
    thermal = _coco(root / "video_thermal_test" / "coco.json")
    assert thermal["annotations"] and _coco(root / "video_rgb_test" / "coco.json")["annotations"] == []
    found = read_annotations(root, "flir-v2", scan_dataset(root, "flir-v2"))
    n = sum(len(_coco(p)["annotations"]) for p in root.glob("images_thermal_*/coco.json"))
    assert found.found and found.issues == ()
    assert sum(len(f.boxes) for f in found.frames.values()) == n + len(thermal["annotations"])
    assert {b.category for f in found.frames.values() for b in f.boxes} == {"person", "car"}


def test_pairs_layout_writes_prepare_shaped_annotations(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = synth_dataset(tmp_path_factory, "pairs", 8, seed=4, thermal_size=(160, 128))
    doc = _coco(root / "train" / "annotations.json")
    assert [c["name"] for c in doc["categories"]][:3] == ["person", "bicycle", "car"]
    assert all((root / "train" / img["file_name"]).is_file() for img in doc["images"])
    found = read_annotations(root, "pairs", scan_dataset(root, "pairs"))
    assert found.found and sum(len(f.boxes) for f in found.frames.values()) == sum(
        len(_coco(root / s / "annotations.json")["annotations"]) for s in ("train", "val")
    )


def test_prepare_carries_the_synthetic_boxes_into_the_resized_frames(small_v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    truth = str(small_v1 / "ground_truth_alignment.yaml")
    argv = ["prepare", "--root", str(small_v1), "--format", "flir-v1", "--out", str(out), "--alignment", truth]
    assert main([*argv, "--size", "160x128", "--workers", "1"]) == 0
    source = _boxes_by_file(_coco(small_v1 / "train" / "thermal_annotations.json"))
    prepared = _boxes_by_file(_coco(out / "train" / "annotations.json"))
    assert prepared and all((out / "train" / name).is_file() for name in prepared)
    for name, objects in prepared.items():
        src = source[f"thermal_8_bit/{Path(name).stem}.jpeg"]
        assert objects == [(c, [round(v / 2, 2) for v in b]) for c, b in src]  # 320x256 -> 160x128
    manifest = read_manifest(out)
    assert manifest.objects is not None
    counts = manifest.objects.counts["train"]
    assert counts["person"] > 0 and counts["car"] > 0
    assert counts["person"] == sum(c == "person" for objs in prepared.values() for c, _ in objs)
