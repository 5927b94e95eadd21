"""Training on annotated data: visibility in metrics.jsonl, selectable as best; the object-weighted loss runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.training.tiny import TINY
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME
from thermal_synth_core.modelfile import read_spec
from training.train import main


def _val_lines(out: Path) -> list[dict[str, float]]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [line for line in lines if line["kind"] == "val"]


def test_annotated_val_logs_visibility_and_best_metric_selects_on_it(prepared: Path, tmp_path: Path) -> None:
    if not (prepared / "val" / ANNOTATIONS_NAME).is_file():
        pytest.fail("synth-data's pairs layout must write COCO boxes (issue #17): the prepared val split has none")
    out = tmp_path / "run"
    overrides = ["best_metric=val_visible_person", "loss.object_weight=4", "data.val_max_frames=8"]
    assert main(["--config", "smoke", f"data.root={prepared}", f"out_dir={out}", *TINY, *overrides]) == 0
    vals = _val_lines(out)
    assert vals and all(0.0 <= v["val_visible_person"] <= 1.0 for v in vals)
    assert all("val_visible_car" in v for v in vals)
    best = max(vals, key=lambda v: v["val_visible_person"])  # higher is better; the first of equals is kept
    provenance = read_spec(out / "best.safetensors").provenance
    assert provenance["step"] == best["step"]
    assert provenance["val"]["val_visible_person"] == best["val_visible_person"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("loss.object_weight=4", "loss.object_weight > 0 needs object boxes"),
        ("best_metric=val_visible_person_night", "best_metric=val_visible_person_night needs object boxes"),
    ],
)
def test_object_settings_without_annotations_stop_at_start_up(
    prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, message: str
) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(prepared, bare, ignore=shutil.ignore_patterns(ANNOTATIONS_NAME))
    code = main(["--config", "smoke", f"data.root={bare}", f"out_dir={tmp_path / 'run'}", *TINY, override])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
