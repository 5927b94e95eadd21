"""Object annotations: the four datasets' readers on hand-written files in their real layouts, and prepare."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.data.annotations import CLASS_MAPS, normalise_class, read_annotations
from thermal_synth_core.data.layouts import scan_dataset
from thermal_synth_core.data.manifest import read_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.objects import Box


def _touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")  # the scanners list files without decoding them


def _coco(images: list[tuple[int, str]], anns: Sequence[tuple[int, int, Sequence[float]]], cats: dict[int, str]) -> str:
    return json.dumps(
        {
            "images": [{"id": i, "file_name": name, "width": 640, "height": 512} for i, name in images],
            "annotations": [
                {"id": n, "image_id": i, "category_id": c, "bbox": bbox} for n, (i, c, bbox) in enumerate(anns)
            ],
            "categories": [{"id": i, "name": name} for i, name in cats.items()],
        }
    )


# -- readers -------------------------------------------------------------------------------------


def test_flir_v1_coco_per_split(tmp_path: Path) -> None:
    root = tmp_path / "FLIR_ADAS_1_3"
    for fid in ("FLIR_00001", "FLIR_00002"):
        _touch(root / "train" / "RGB" / f"{fid}.jpg", root / "train" / "thermal_8_bit" / f"{fid}.jpeg")
    cats = {1: "person", 2: "bicycle", 3: "car", 18: "dog", 91: "other vehicle"}
    anns = [(1, 1, [10, 20, 30, 60]), (1, 3, [100, 200, 80, 40]), (1, 18, [5, 5, 10, 8]), (1, 91, [0, 0, 4, 4])]
    (root / "train" / "thermal_annotations.json").write_text(
        _coco([(1, "thermal_8_bit/FLIR_00001.jpeg"), (2, "thermal_8_bit/FLIR_00002.jpeg")], anns, cats)
    )
    got = read_annotations(root, "flir-v1", scan_dataset(root, "flir-v1"))
    assert got.issues == ()
    first = got.frames[("train", "FLIR_00001")]
    assert first.image_size == (640, 512)
    assert first.boxes == (
        Box("person", 10, 20, 30, 60),
        Box("car", 100, 200, 80, 40),
        Box("dog", 5, 5, 10, 8),
        Box("other", 0, 0, 4, 4),
    )
    assert got.frames[("train", "FLIR_00002")].boxes == ()  # annotated, empty: not the same as unannotated


def test_flir_v2_coco_of_the_thermal_folders(tmp_path: Path) -> None:
    root = tmp_path / "FLIR_ADAS_v2"
    stem = "video-abc-frame-000001-xyz"
    _touch(root / "images_thermal_val" / "data" / f"{stem}.jpg", root / "images_rgb_val" / "data" / "rgb-1.jpg")
    cats = {1: "person", 2: "bike", 3: "car", 4: "motor", 8: "truck", 10: "light"}
    anns = [(7, 2, [1, 2, 3, 4]), (7, 4, [10, 10, 20, 20]), (7, 10, [50, 5, 4, 9]), (7, 8, [0, 100, 200, 100])]
    (root / "images_thermal_val" / "coco.json").write_text(_coco([(7, f"data/{stem}.jpg")], anns, cats))
    got = read_annotations(root, "flir-v2", scan_dataset(root, "flir-v2"))
    assert [b.category for b in got.frames[("val", stem)].boxes] == ["bicycle", "motorcycle", "other", "truck"]
    assert got.issues == ()


def _kaist(tmp_path: Path) -> Path:
    images = tmp_path / "kaist-cvpr15" / "images"
    for stem in ("I00000", "I00001", "I00002"):
        _touch(
            images / "set06" / "V001" / "visible" / f"{stem}.jpg", images / "set06" / "V001" / "lwir" / f"{stem}.jpg"
        )
    ann = tmp_path / "kaist-cvpr15" / "annotations" / "set06" / "V001"
    ann.mkdir(parents=True)
    (ann / "I00000.txt").write_text(
        "% bbGt version=3\n"
        "person 292 224 27 65 0 0 0 0 0 0 0\n"
        "cyclist 400 230 40 70 0 0 0 0 0 0 0\n"
        "people 10 220 60 50 1 0 0 0 0 0 0\n"
        "person? 500 240 12 30 0 0 0 0 0 0 0\n"
    )
    (ann / "I00001.txt").write_text("% bbGt version=3\n")
    return images


def test_kaist_bbgt_text_files(tmp_path: Path) -> None:
    root = _kaist(tmp_path)
    got = read_annotations(root, "kaist", scan_dataset(root, "kaist"))
    boxes = got.frames[("test", "set06_V001_I00000")].boxes
    assert boxes[0] == Box("person", 292, 224, 27, 65)
    assert [b.category for b in boxes] == ["person", "person", "person", "other"]
    assert got.frames[("test", "set06_V001_I00001")].boxes == ()
    # I00002 has no annotation file: unannotated, and reported (once, with the count)
    assert ("test", "set06_V001_I00002") not in got.frames
    assert len(got.issues) == 1 and "1 frames have no annotation file" in got.issues[0].problem
    assert got.issues[0].path.endswith("I00002.txt")


def _voc(objects: str, width: int = 1280, height: int = 1024) -> str:
    return (
        f"<annotation><filename>x.jpg</filename><size><width>{width}</width><height>{height}</height>"
        f"<depth>3</depth></size>{objects}</annotation>"
    )


def _voc_object(name: str, x0: int, y0: int, x1: int, y1: int) -> str:
    box = f"<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
    return f"<object><name>{name}</name><bndbox>{box}</bndbox></object>"


def test_llvip_voc_xml(tmp_path: Path) -> None:
    root = tmp_path / "LLVIP"
    for split, stem in (("train", "010001"), ("test", "190001")):
        _touch(root / "visible" / split / f"{stem}.jpg", root / "infrared" / split / f"{stem}.jpg")
    (root / "Annotations").mkdir()
    objects = _voc_object("person", 100, 200, 160, 380) + _voc_object("person", 700, 300, 740, 420)
    (root / "Annotations" / "010001.xml").write_text(_voc(objects))
    (root / "Annotations" / "190001.xml").write_text(_voc(""))
    got = read_annotations(root, "llvip", scan_dataset(root, "llvip"))
    train = got.frames[("train", "010001")]
    assert train.image_size == (1280, 1024)
    assert train.boxes == (Box("person", 100, 200, 60, 180), Box("person", 700, 300, 40, 120))
    assert got.frames[("test", "190001")].boxes == ()
    assert got.issues == ()


def test_class_tables_normalise_and_default_to_other() -> None:
    assert normalise_class(" Person ", CLASS_MAPS["llvip"]) == "person"
    assert normalise_class("motor", CLASS_MAPS["flir-v2"]) == "motorcycle"
    assert normalise_class("train", CLASS_MAPS["flir-v2"]) == "other"
    assert normalise_class("person?", CLASS_MAPS["kaist"]) == "other"


def test_no_annotation_files_is_no_annotations(tmp_path: Path) -> None:
    root = tmp_path / "LLVIP"
    _touch(root / "visible" / "train" / "1.jpg", root / "infrared" / "train" / "1.jpg")
    got = read_annotations(root, "llvip", scan_dataset(root, "llvip"))
    assert not got.found and got.frames == {} and got.issues == ()


@pytest.fixture
def unannotated_v1(synth_v1: Path, tmp_path: Path) -> Path:
    """The synthetic FLIR v1 data with its COCO files emptied of objects (image lists only)."""
    root = tmp_path / "flir-unannotated"
    shutil.copytree(synth_v1, root)
    for path in root.glob("*/thermal_annotations.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "annotations": []}))
    return root


def test_files_without_any_object_are_no_annotations(unannotated_v1: Path) -> None:
    # COCO files listing the images, with no objects
    assert json.loads((unannotated_v1 / "train" / "thermal_annotations.json").read_text())["images"]
    assert not read_annotations(unannotated_v1, "flir-v1", scan_dataset(unannotated_v1, "flir-v1")).found


def test_malformed_files_are_named_with_what_is_wrong(tmp_path: Path) -> None:
    # FLIR v1: val is not JSON, video is missing, train has one bad box among good ones.
    root = tmp_path / "FLIR_ADAS_1_3"
    for split in ("train", "val", "video"):
        _touch(root / split / "RGB" / "F_1.jpg", root / split / "thermal_8_bit" / "F_1.jpeg")
    good = _coco([(1, "thermal_8_bit/F_1.jpeg")], [(1, 1, [1, 1, 5, 5]), (1, 1, [1, 1, -5, 5])], {1: "person"})
    (root / "train" / "thermal_annotations.json").write_text(good)
    (root / "val" / "thermal_annotations.json").write_text('{"images": [')
    got = read_annotations(root, "flir-v1", scan_dataset(root, "flir-v1"))
    assert got.frames[("train", "F_1")].boxes == (Box("person", 1, 1, 5, 5),)
    problems = {Path(i.path).parent.name: i.problem for i in got.issues}
    assert "1 annotations dropped" in problems["train"] and "width -5" in problems["train"]
    assert problems["val"].startswith("malformed: not readable JSON")
    assert problems["video"].startswith("missing")

    kaist = _kaist(tmp_path / "k")
    bad = kaist.parent / "annotations" / "set06" / "V001" / "I00001.txt"
    bad.write_text("% bbGt version=3\nperson 1 2 three 4\n")
    issues = read_annotations(kaist, "kaist", scan_dataset(kaist, "kaist")).issues
    assert any(i.path == str(bad) and "line 2" in i.problem for i in issues)

    llvip = tmp_path / "LLVIP"
    _touch(llvip / "visible" / "train" / "1.jpg", llvip / "infrared" / "train" / "1.jpg")
    (llvip / "Annotations").mkdir()
    (llvip / "Annotations" / "1.xml").write_text("<annotation><object>")
    (issue,) = read_annotations(llvip, "llvip", scan_dataset(llvip, "llvip")).issues
    assert issue.path.endswith("1.xml") and issue.problem.startswith("malformed: not readable XML")


# -- through prepare -----------------------------------------------------------------------------


def _truth(root: Path) -> str:
    return str(root / "ground_truth_alignment.yaml")


@pytest.fixture
def annotated_v1(synth_v1: Path, tmp_path: Path) -> tuple[Path, dict[str, list[float]]]:
    """The synthetic FLIR v1 data with a hand-written train/thermal_annotations.json (known boxes)."""
    root = tmp_path / "flir"
    shutil.copytree(synth_v1, root)
    frames = sorted(p.stem for p in (root / "train" / "thermal_8_bit").iterdir())
    info = json.loads((root / "synth_info.json").read_text())
    paired = [f["id"] for f in info["frames"] if f["pair"] and f["split"] == "train"]
    frames = [*paired[:2], *(f for f in frames if f not in paired[:2])]
    boxes = {
        frames[0]: [64.0, 100.0, 40.0, 120.0],
        frames[1]: [600.0, 480.0, 80.0, 64.0],
    }  # the second crosses the edge
    images = [(i + 1, f"thermal_8_bit/{fid}.jpeg") for i, fid in enumerate(frames)]
    anns = [(frames.index(fid) + 1, 1, box) for fid, box in boxes.items()]
    (root / "train" / "thermal_annotations.json").write_text(_coco(images, anns, {1: "person"}))
    for split in ("val", "video"):  # synth-data writes them; here: no files
        (root / split / "thermal_annotations.json").unlink()
    return root, boxes


def test_prepare_scales_boxes_into_the_resized_thermal_frame(
    annotated_v1: tuple[Path, dict[str, list[float]]], tmp_path: Path
) -> None:
    root, boxes = annotated_v1
    out = tmp_path / "out"
    opts = PrepareOptions(root=root, fmt="flir-v1", out=out, alignment=_truth(root), size=(320, 256), workers=1)
    prepare_dataset(opts)
    coco = json.loads((out / "train" / "annotations.json").read_text())
    by_file = {img["file_name"]: img["id"] for img in coco["images"]}
    got = {a["image_id"]: a["bbox"] for a in coco["annotations"]}
    first, second = boxes
    assert got[by_file[f"thermal/{first}.png"]] == [32.0, 50.0, 20.0, 60.0]  # halved
    assert got[by_file[f"thermal/{second}.png"]] == [300.0, 240.0, 20.0, 16.0]  # halved, clipped to 320x256
    assert {img["width"] for img in coco["images"]} == {320} and {img["height"] for img in coco["images"]} == {256}
    assert all((out / "train" / name).is_file() for name in by_file)
    assert [c["name"] for c in coco["categories"]][:3] == ["person", "bicycle", "car"]
    manifest = read_manifest(out)
    assert manifest.objects is not None
    assert manifest.objects.counts == {"train": {"person": 2}}
    assert manifest.objects.files == {"train": "train/annotations.json"}
    assert manifest.objects.frames["train"] == len(coco["images"])
    # val and video had no annotation file: reported in the manifest, prepare went on
    assert {Path(i.path).parent.name for i in manifest.objects.issues} == {"val", "video"}

    # Re-prepared as ``pairs`` (prepare's own output) at half the size again, the boxes come back halved.
    identity = tmp_path / "identity.yaml"
    Alignment.identity((320, 256)).save(identity)
    again = tmp_path / "again"
    prepare_dataset(PrepareOptions(root=out, fmt="pairs", out=again, alignment=str(identity), size=(160, 128)))
    coco2 = json.loads((again / "train" / "annotations.json").read_text())
    assert coco2["images"] == [{**img, "width": 160, "height": 128} for img in coco["images"]]
    assert [a["bbox"] for a in coco2["annotations"]] == [[16.0, 25.0, 10.0, 30.0], [150.0, 120.0, 10.0, 8.0]]


def test_prepare_goes_on_over_a_malformed_annotation_file(
    annotated_v1: tuple[Path, dict[str, list[float]]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, _ = annotated_v1
    bad = root / "val" / "thermal_annotations.json"
    bad.write_text('{"images": "not a list", "annotations": [], "categories": []}')
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        result = prepare_dataset(PrepareOptions(root=root, fmt="flir-v1", out=out, alignment=_truth(root), workers=1))
    assert result.pairs > 0
    assert any(str(bad) in r.getMessage() and "no 'images' list" in r.getMessage() for r in caplog.records)
    manifest = read_manifest(out)
    assert manifest.objects is not None
    issue = next(i for i in manifest.objects.issues if i.path == str(bad))
    assert issue.problem == "malformed: no 'images' list (not a COCO file)"
    assert not (out / "val" / "annotations.json").exists()


def test_prepare_without_annotations_writes_no_objects(unannotated_v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    root = unannotated_v1
    prepare_dataset(PrepareOptions(root=root, fmt="flir-v1", out=out, alignment=_truth(root), workers=1))
    assert "objects" not in json.loads((out / "manifest.json").read_text())
    assert not list(out.glob("*/annotations.json"))
    assert read_manifest(out).objects is None
