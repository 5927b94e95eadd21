"""``evaluate --dataset``: a model on a prepared dataset's split, with object visibility from COCO boxes.

The dataset is ``synth-data --layout pairs`` through ``prepare``; the val split's
annotations.json is written here from the warm-object masks (one box per warm blob,
so every box holds a known warm object), the train split has none.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.models.factory import make_model
from thermal_synth_core.cli import main
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME
from thermal_synth_core.data.drive import brightness, lighting
from thermal_synth_core.data.imageio import read_mask, read_rgb
from thermal_synth_core.data.manifest import read_manifest, write_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.data.synth import SynthOptions, generate
from thermal_synth_core.errors import DataError
from thermal_synth_core.eval.dataset import evaluate_dataset
from thermal_synth_core.eval.schema import (
    DATASET_CSV_COLUMNS,
    OBJECT_COLUMNS,
    OBJECTS_FILE,
    DatasetEvalOptions,
    EvalResult,
    EvalSummary,
)
from thermal_synth_core.infer import Synthesizer

SIZE = (160, 128)


def _coco_from_masks(root: Path, split: str) -> list[tuple[str, str, list[int]]]:
    """Write ``root/<split>/annotations.json``: a box per warm blob (tall: person, else car); the boxes written."""
    doc: dict[str, list[dict[str, object]]] = {  # a COCO document, written as JSON
        "images": [],
        "annotations": [],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }
    written = []
    for i, pair in enumerate(read_manifest(root).pairs_in(split), start=1):
        assert pair.mask is not None
        mask = np.asarray(read_mask(pair.mask)) > 0
        rel = pair.thermal.relative_to(root / split).as_posix()
        doc["images"].append({"id": i, "file_name": rel, "width": SIZE[0], "height": SIZE[1]})
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
        for x, y, w, h, area in stats[1:].tolist():
            if area < 30:
                continue
            category = "person" if h > w else "car"
            box = [x, y, w, h]
            doc["annotations"].append(
                {"id": len(doc["annotations"]) + 1, "image_id": i, "category_id": 1 if h > w else 3, "bbox": box}
            )
            written.append((pair.frame_id, category, box))
    (root / split / ANNOTATIONS_NAME).write_text(json.dumps(doc), encoding="utf-8")
    return written


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str, list[int]]]]:
    """A prepared dataset (val annotated here from the masks, train without annotations) and the val boxes."""
    tmp = tmp_path_factory.mktemp("dataset")
    generate(tmp / "raw", SynthOptions(layout="pairs", n=14, seed=4, thermal_size=SIZE, night_fraction=0.5))
    prepare_dataset(PrepareOptions(root=tmp / "raw", fmt="pairs", out=tmp / "prep", workers=1), show_progress=False)
    boxes = _coco_from_masks(tmp / "prep", "val")
    (tmp / "prep" / "train" / ANNOTATIONS_NAME).unlink(missing_ok=True)  # train: a split without annotations
    assert boxes, "the synthetic val frames have warm objects"
    return tmp / "prep", boxes


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    """A small random model at the prepared size (object verdicts of the real frame do not depend on it)."""
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    make_model(path, input_size=(80, 64), output_size=SIZE)
    return Synthesizer(path, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def val_run(
    prepared: tuple[Path, list[tuple[str, str, list[int]]]],
    synth: Synthesizer,
    tmp_path_factory: pytest.TempPathFactory,
) -> EvalResult:
    out = tmp_path_factory.mktemp("eval") / "val"
    return evaluate_dataset(DatasetEvalOptions(dataset=prepared[0], out=out, samples=2), synth)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_objects_csv_has_one_row_per_annotated_box(
    val_run: EvalResult, prepared: tuple[Path, list[tuple[str, str, list[int]]]]
) -> None:
    rows = _csv(val_run.out / OBJECTS_FILE)
    assert list(rows[0]) == list(OBJECT_COLUMNS)
    got = sorted((r["id"], r["class"], [int(float(r[k])) for k in "xywh"]) for r in rows)
    assert got == sorted(prepared[1])
    assert {r["condition"] for r in rows} <= {"day", "night"}
    assert {r["size"] for r in rows} <= {"small", "medium", "large"}


def test_the_real_frame_shows_every_judged_object(val_run: EvalResult) -> None:
    rows = _csv(val_run.out / OBJECTS_FILE)
    judged = [r for r in rows if r["real_visible"] != ""]
    assert len(judged) >= len(rows) // 2, "warm blobs stand out in the real frame"
    assert all(r["real_visible"] == "1" for r in judged)
    assert all(float(r["real_contrast"]) > 0 for r in judged), "warm objects on a cooler ring"
    objects = val_run.summary.objects
    assert objects is not None
    assert objects.real.overall.rate == 1.0
    assert objects.objects == len(rows) and objects.frames == val_run.summary.counts.scored


def test_metrics_json_objects_section_reads_back(val_run: EvalResult) -> None:
    doc = json.loads((val_run.out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["bag"] is None and doc["dataset"]["split"] == "val"
    assert set(doc["objects"]["model"]["by_class"]) <= {"person", "car"}
    back = EvalSummary.from_json(doc)
    assert back.objects == val_run.summary.objects
    assert back == val_run.summary


def test_report_has_the_per_class_table_and_the_gallery(val_run: EvalResult) -> None:
    report = (val_run.out / "report.html").read_text(encoding="utf-8")
    assert "<h3>Per class: model vs. grayscale vs. real</h3>" in report
    table = report.split("<h3>Per class", 1)[1].split("</table>", 1)[0]
    assert "<td>person</td>" in table and "real thermal visible" in table
    assert "<h3>By box size</h3>" in report and "<h3>By day and night</h3>" in report
    assert "<h3>Worst-missed people</h3>" in report
    assert report.count('alt="missed person') == len(val_run.missed) <= 6
    assert "dataset <b>prep (val)</b>" in report


def test_frames_csv_names_pairs_and_their_lighting(val_run: EvalResult, prepared: tuple[Path, object]) -> None:
    rows = _csv(val_run.out / "frames.csv")
    assert list(rows[0]) == list(DATASET_CSV_COLUMNS)
    pairs = {p.frame_id: p for p in read_manifest(prepared[0]).pairs_in("val")}
    assert [r["id"] for r in rows] == list(pairs)
    assert all(r["status"] == "scored" and float(r["model_ssim"]) > -1 for r in rows)
    # No manifest tags here: each frame's lighting is its prepared RGB's brightness.
    assert [r["condition"] for r in rows] == [lighting(brightness(read_rgb(pairs[r["id"]].rgb))) for r in rows]


def test_manifest_condition_tags_win(prepared: tuple[Path, object], synth: Synthesizer, tmp_path: Path) -> None:
    root = tmp_path / "tagged"
    shutil.copytree(prepared[0], root)
    manifest = read_manifest(root)
    write_manifest(replace(manifest, pairs=tuple(replace(p, condition="night") for p in manifest.pairs)))
    result = evaluate_dataset(DatasetEvalOptions(dataset=root, out=tmp_path / "out", samples=0), synth)
    assert {r.condition for r in result.rows} == {"night"}
    assert result.summary.objects is not None and set(result.summary.objects.real.by_condition) == {"night"}
    assert result.summary.dataset is not None and result.summary.dataset.conditions == "the manifest's day/night tags"


def test_split_selection_and_a_split_without_annotations(
    prepared: tuple[Path, object], synth: Synthesizer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / OBJECTS_FILE).write_text("stale\n", encoding="utf-8")
    result = evaluate_dataset(DatasetEvalOptions(dataset=prepared[0], out=out, split="train", max_frames=3), synth)
    train = read_manifest(prepared[0]).pairs_in("train")
    assert [r.frame_id for r in result.rows] == [p.frame_id for p in train[:3]]
    assert result.summary.dataset is not None and result.summary.dataset.split == "train"
    assert result.summary.dataset.pairs == len(train) and result.summary.dataset.annotations is None
    assert result.summary.objects is None and result.objects is None
    assert not (out / OBJECTS_FILE).exists(), "no objects.csv (an earlier run's is removed)"
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "objects" not in doc and doc["has_metrics"]
    assert "Objects (annotations)" not in (out / "report.html").read_text(encoding="utf-8")


def test_a_missing_split_is_named(prepared: tuple[Path, object], synth: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no split 'test' in the manifest \(available: train, val\)"):
        evaluate_dataset(DatasetEvalOptions(dataset=prepared[0], out=tmp_path, split="test"), synth)


def test_a_folder_that_is_not_a_prepared_dataset(synth: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no manifest.json in .*thermal-synth prepare"):
        evaluate_dataset(DatasetEvalOptions(dataset=tmp_path, out=tmp_path / "out"), synth)
    with pytest.raises(DataError, match="no such folder"):
        evaluate_dataset(DatasetEvalOptions(dataset=tmp_path / "nope", out=tmp_path / "out"), synth)


def test_cli_flags(prepared: tuple[Path, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = str(prepared[0])
    assert main(["evaluate", "--dataset", dataset, "--rgb-topic", "/x", "--out", str(tmp_path)]) == 1
    assert "--rgb-topic applies to --bag only" in capsys.readouterr().err
    assert main(["evaluate", "--bag", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "needs --rgb-topic" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--bag", "b", "--dataset", dataset, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert main(["evaluate", "--dataset", dataset, "--split", "nope", "--out", str(tmp_path)]) == 1
    assert "no split 'nope'" in capsys.readouterr().err
