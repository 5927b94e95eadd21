"""Dataset layouts: every format scans, pairs the right frames, and fails clearly on a wrong folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from thermal_synth_core.cli import main
from thermal_synth_core.data.imageio import write_image
from thermal_synth_core.data.layouts import FORMATS, get_layout, scan_dataset
from thermal_synth_core.errors import DataError


def _img(path: Path, gray: bool = False) -> None:
    write_image(path, np.zeros((8, 10) if gray else (8, 10, 3), np.uint8))


def test_registry_lists_formats() -> None:
    assert set(FORMATS) == {"flir-v1", "flir-v2", "kaist", "llvip", "pairs"}
    with pytest.raises(DataError, match=r"unknown dataset format 'flir-v3'; valid formats: flir-v1, flir-v2, kaist"):
        get_layout("flir-v3")


def test_wrong_format_on_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "--root", str(tmp_path), "--format", "flir", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset format 'flir'" in err and "flir-v1, flir-v2, kaist, llvip, pairs" in err


def test_flir_v1_records(synth_v1: Path) -> None:
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    records = scan_dataset(synth_v1, "flir-v1")
    assert len(records) == len(info["frames"])
    by_key = {r.key: r for r in records}
    for f in info["frames"]:
        rec = by_key[f"{f['split']}/{f['id']}"]
        assert (rec.rgb is not None) == f["rgb"]
        assert rec.thermal8 is not None and rec.thermal16 is not None and rec.mask is not None
    assert {r.split for r in records} == {"train", "val", "video"}
    assert any(not r.paired for r in records)


def test_flir_v2_pairs_only_through_the_map(synth_v2: Path) -> None:
    records = scan_dataset(synth_v2, "flir-v2")
    mapping = json.loads((synth_v2 / "rgb_to_thermal_vid_map.json").read_text())
    paired = [r for r in records if r.paired]
    assert len(paired) == len(mapping) > 0
    assert all(r.split == "test" for r in paired)
    assert {Path(r.thermal8).name for r in paired if r.thermal8} == set(mapping.values())
    train = [r for r in records if r.split == "train"]
    assert train and all(not r.paired for r in train)  # independent samples, like the real release
    assert any(r.rgb is not None for r in train) and any(r.has_thermal for r in train)


def test_missing_folders_name_the_folder(tmp_path: Path, synth_v1: Path) -> None:
    with pytest.raises(DataError, match="dataset root not found"):
        scan_dataset(tmp_path / "absent", "flir-v1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="expected split folders train/, val/ or video/"):
        scan_dataset(tmp_path / "empty", "flir-v1")
    broken = tmp_path / "broken" / "train"
    (broken / "RGB").mkdir(parents=True)
    with pytest.raises(DataError, match=r"missing folder .*broken/train/thermal_8_bit"):
        scan_dataset(tmp_path / "broken", "flir-v1")
    with pytest.raises(DataError, match=r"expected some of images_rgb_train/"):
        scan_dataset(synth_v1, "flir-v2")
    with pytest.raises(DataError, match=r"missing folder .*visible"):
        scan_dataset(tmp_path / "empty", "llvip")
    with pytest.raises(DataError, match="expected folders set00"):
        scan_dataset(tmp_path / "empty", "kaist")
    with pytest.raises(DataError, match=r"expected <split>/rgb/ and <split>/thermal/"):
        scan_dataset(tmp_path / "empty", "pairs")


def test_missing_folder_on_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ds" / "val" / "thermal_8_bit").mkdir(parents=True)
    assert main(["prepare", "--root", str(tmp_path / "ds"), "--format", "flir-v1", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.replace("\n", "")
    assert "missing folder" in err and "val/RGB" in err


def test_kaist_and_llvip(tmp_path: Path) -> None:
    for s, v in (("set00", "V000"), ("set07", "V001")):
        for sub in ("visible", "lwir"):
            _img(tmp_path / "kaist" / s / v / sub / "I00000.jpg", gray=sub == "lwir")
    _img(tmp_path / "kaist" / "set00" / "V000" / "visible" / "I00001.jpg")
    records = scan_dataset(tmp_path / "kaist", "kaist")
    assert {(r.split, r.frame_id, r.paired) for r in records} == {
        ("train", "set00_V000_I00000", True),
        ("train", "set00_V000_I00001", False),
        ("test", "set07_V001_I00000", True),
    }
    for split in ("train", "test"):
        _img(tmp_path / "llvip" / "visible" / split / "010001.jpg")
        _img(tmp_path / "llvip" / "infrared" / split / "010001.jpg", gray=True)
    records = scan_dataset(tmp_path / "llvip", "llvip")
    assert sorted((r.split, r.paired) for r in records) == [("test", True), ("train", True)]
    assert get_layout("llvip").coregistered and get_layout("kaist").coregistered


def test_pairs_layout(synth_pairs: Path) -> None:
    records = scan_dataset(synth_pairs, "pairs")
    assert len(records) == 12 and all(r.paired and r.thermal16 and r.mask for r in records)
    shipped = get_layout("pairs").shipped_alignment(synth_pairs)
    assert shipped is not None and shipped.rgb_size == shipped.thermal_size == (320, 256)
