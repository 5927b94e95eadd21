"""manifest.json is validated on read: schema, types, and paths that must stay inside the dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.data.manifest import (
    SCHEMA,
    Manifest,
    PairEntry,
    SingleEntry,
    SkippedFrame,
    ThermalCamera,
    read_manifest,
    write_manifest,
)
from thermal_synth_core.errors import DataError


def _write(root: Path, **changes: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "train").mkdir(exist_ok=True)
    for name in ("a.png", "b.png"):
        (root / "train" / name).write_bytes(b"x")
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "version": 1,
        "format": "pairs",
        "alignment": Alignment.identity((64, 48)).to_dict(),
        "thermal_bits": 8,
        "size": [64, 48],
        "pairs": [{"split": "train", "id": "a", "rgb": "train/a.png", "thermal": "train/b.png"}],
    }
    data.update(changes)
    (root / "manifest.json").write_text(json.dumps(data))
    return root


def test_valid_manifest(tmp_path: Path) -> None:
    m = read_manifest(_write(tmp_path))
    assert m.splits == ["train"] and m.pairs[0].rgb == tmp_path / "train" / "a.png"
    assert m.model_metadata()["thermal_bits"] == 8
    assert m.thermal_camera is None  # written before the field of view was recorded


def test_thermal_camera_round_trips(tmp_path: Path) -> None:
    camera = ThermalCamera(47.75, 64, "kaist preset: FLIR A35")
    m = read_manifest(_write(tmp_path, thermal_camera=camera.to_dict()))
    assert m.thermal_camera == camera
    assert ThermalCamera.from_dict(json.loads(json.dumps(camera.to_dict())), "x") == camera
    assert read_manifest(_write(tmp_path, thermal_camera=None)).thermal_camera is None


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"pairs": [{"split": "train", "id": "a", "rgb": "../outside.png", "thermal": "train/b.png"}]},
            "leaves the dataset root",
        ),
        ({"pairs": [{"split": "train", "id": "a", "rgb": "/etc/passwd", "thermal": "train/b.png"}]}, "is absolute"),
        (
            {"pairs": [{"split": "train", "id": "a", "rgb": "train/../../x.png", "thermal": "train/b.png"}]},
            "leaves the dataset root",
        ),
        ({"pairs": [{"split": "train", "id": "a", "rgb": "train/gone.png", "thermal": "train/b.png"}]}, "is missing"),
        ({"schema": "something-else"}, "not a thermal-synth prepare manifest"),
        ({"version": 99}, "newer than this thermal-synth"),
        ({"thermal_bits": 12}, "must be 8 or 16"),
        ({"thermal_bits": "8"}, "'thermal_bits' must be int"),
        ({"size": [64]}, r"'size' must be \[width, height\]"),
        ({"alignment": {"matrix": [[1, 0], [0, 1]], "rgb_size": [1, 1], "thermal_size": [1, 1]}}, "3x3"),
        ({"pairs": "nope"}, "'pairs' must be list"),
        ({"unpaired": [{"split": "train", "id": "u", "kind": "depth", "path": "train/a.png"}]}, "'rgb' or 'thermal'"),
        ({"thermal_camera": {"hfov_deg": 0, "width": 64}}, r"'hfov_deg' must be between 0 and 180"),
        ({"thermal_camera": {"hfov_deg": 190.0, "width": 64}}, r"'hfov_deg' must be between 0 and 180"),
        ({"thermal_camera": {"hfov_deg": "45", "width": 64}}, r"'hfov_deg' must be a number of degrees"),
        ({"thermal_camera": {"hfov_deg": 45.0, "width": 0}}, r"'width' must be a positive integer"),
        ({"thermal_camera": 45}, "thermal_camera: expected an object"),
    ],
)
def test_invalid_manifests(tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(DataError, match=match):
        read_manifest(_write(tmp_path / "ds", **changes))


def test_symlink_escape_and_bad_json(tmp_path: Path) -> None:
    root = _write(tmp_path / "ds")
    (tmp_path / "secret.png").write_bytes(b"x")
    (root / "train" / "link.png").symlink_to(tmp_path / "secret.png")
    _write(root, pairs=[{"split": "train", "id": "a", "rgb": "train/link.png", "thermal": "train/b.png"}])
    with pytest.raises(DataError, match="through a link"):
        read_manifest(root)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_manifest(root)


def test_written_manifest_reads_back_equal(tmp_path: Path) -> None:
    written = Manifest(
        root=tmp_path,
        format="pairs",
        source="/data/raw",
        alignment=Alignment.identity((64, 48)),
        thermal_bits=16,
        size=(64, 48),
        has_masks=False,
        pairs=(PairEntry("train", "a", tmp_path / "train/rgb/a.png", tmp_path / "train/thermal/a.png"),),
        unpaired=(SingleEntry("val", "t", "thermal", tmp_path / "val/thermal/t.png", tmp_path / "val/mask/t.png"),),
        skipped=(
            SkippedFrame("train", "b", "pair", "missing_rgb", "no RGB image"),
            SkippedFrame("train", "c", "pair", "unreadable_rgb", "truncated", signature="1:2|3:4|-|-"),
        ),
        counts={"train": {"pairs": 1, "skipped": 2}, "val": {"unpaired_thermal": 1}},
        thermal_camera=ThermalCamera(30.0, 64, "--thermal-hfov"),
        alignment_source="file a.yaml",
        thermal_normalisation="raw 16-bit",
        skipped_by_reason={"missing_rgb": 1, "unreadable_rgb": 1},
        reasons={"missing_rgb": "no RGB image for this thermal frame"},
    )
    path = write_manifest(written)
    assert read_manifest(tmp_path, check_files=False) == written
    data = json.loads(path.read_text())
    assert data["unpaired"][0] == {
        "split": "val",
        "id": "t",
        "kind": "thermal",
        "path": "val/thermal/t.png",
        "mask": "val/mask/t.png",
    }
    assert "signature" not in data["skipped"][0] and data["skipped"][1]["signature"] == "1:2|3:4|-|-"
