"""A recorded drive as a dataset: pairing, stride/standstill counts, splits, day/night, CameraInfo, resume, damage."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.core.data.drive_bags import RGB_SIZE, RGB_TOPIC, T0, THERMAL_SIZE, THERMAL_TOPIC, write_tiny_drive
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data import drive as drive_module
from thermal_synth_core.data.drive import (
    EXTRACT_DIR,
    EXTRACTION_NAME,
    DriveOptions,
    extract_drive,
    info_topic_of,
    prepare_drive,
    val_items,
)
from thermal_synth_core.data.imageio import write_image
from thermal_synth_core.data.manifest import read_manifest
from thermal_synth_core.data.prepare import PrepareOptions
from thermal_synth_core.errors import BagError, DataError
from thermal_synth_core.sync import pair_nearest, seconds_to_ns


def _opts(*bags: Path, **kw: object) -> DriveOptions:
    return DriveOptions(tuple(bags), RGB_TOPIC, THERMAL_TOPIC, **kw)  # type: ignore[arg-type]


def _prep(tmp_path: Path, out: Path) -> PrepareOptions:
    alignment = tmp_path / "rig.yaml"
    if not alignment.is_file():
        Alignment.resize(RGB_SIZE, THERMAL_SIZE).save(alignment)
    return PrepareOptions(root=Path(), fmt="pairs", out=out, alignment=str(alignment), workers=1)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_pairs_by_stamp_within_slop_each_thermal_once(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 40, rgb_hz=20.0, thermal_hfov_deg=None, thermal_hz=9.0)
    e = extract_drive(_opts(drive.path, slop=0.03, standstill=0.0, val_fraction=0.0), tmp_path / "x")
    expected = pair_nearest(drive.rgb_stamps, drive.thermal_stamps, 0.03, unique=True)
    assert len(e.pairs) == len(expected) > 0
    thermal_used = [p.thermal_stamp_ns for p in e.pairs]
    assert len(set(thermal_used)) == len(thermal_used), "a thermal frame was used twice"
    assert all(abs(p.thermal_stamp_ns - p.rgb_stamp_ns) <= seconds_to_ns(0.03) for p in e.pairs)
    assert e.skipped_by_reason["unpaired_rgb"] == len(drive.rgb_stamps) - len(expected)
    assert e.skipped_by_reason["unpaired_thermal"] == len(drive.thermal_stamps) - len(expected)
    assert len(list((tmp_path / "x" / "train" / "thermal16").glob("*.png"))) == len(expected)


def test_stride_and_standstill_are_counted_exactly(tmp_path: Path) -> None:
    # 60 frames at 10 Hz; thermal frames 20..34 repeat frame 19 (the car stops for 1.5 s).
    drive = write_tiny_drive(tmp_path / "bag", 60, stop=range(20, 35))
    e = extract_drive(_opts(drive.path, stride_s=0.2, val_fraction=0.0), tmp_path / "x")
    # stride 0.2 s keeps every 2nd pair (30 of 60); of the kept ones 22, 24, ..., 34 repeat 20's frame (7).
    assert e.skipped_by_reason["stride"] == 30
    assert e.skipped_by_reason["standstill"] == 7
    assert len(e.pairs) == 23
    doc = json.loads((tmp_path / "x" / EXTRACTION_NAME).read_text())
    assert doc["skipped_by_reason"] == {"standstill": 7, "stride": 30, "unpaired_rgb": 0, "unpaired_thermal": 0}


def test_one_drive_splits_by_time_block_and_shares_no_block(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 60)  # 6 s
    e = extract_drive(_opts(drive.path, block_s=1.0, val_fraction=0.34), tmp_path / "x")
    train = {p.block for p in e.pairs if p.split == "train"}
    val = {p.block for p in e.pairs if p.split == "val"}
    assert val == val_items(6, 0.34) == {2, 5}
    assert train == {0, 1, 3, 4}
    assert not train & val
    for p in e.pairs:  # the block is the pair's time since the drive's start
        assert p.block == (p.rgb_stamp_ns - T0) // 1_000_000_000
        assert (tmp_path / "x" / p.split / "rgb" / f"{p.frame_id}.png").is_file()
    assert e.split_by == "time-block"


def test_several_drives_split_by_drive(tmp_path: Path) -> None:
    a = write_tiny_drive(tmp_path / "monday", 20)
    b = write_tiny_drive(tmp_path / "tuesday", 20, t0=T0 + 86_400 * 10**9)
    e = extract_drive(_opts(a.path, b.path, val_fraction=0.5), tmp_path / "x")
    assert e.split_by == "drive"
    assert {p.bag: p.split for p in e.pairs} == {"monday": "train", "tuesday": "val"}
    assert [(bag.name, bag.split, bag.pairs) for bag in e.bags] == [("monday", "train", 20), ("tuesday", "val", 20)]


def test_val_items_are_evenly_spaced_and_never_all() -> None:
    assert val_items(10, 0.2) == {4, 9}
    assert val_items(3, 0.2) == {2}  # at least one of two or more
    assert val_items(1, 0.5) == set()
    assert val_items(5, 0.0) == set()
    assert all(len(val_items(n, 0.99)) < n for n in range(2, 30))


def test_day_and_night_from_rgb_brightness(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 20, dark_from=12)
    e = extract_drive(_opts(drive.path, val_fraction=0.0), tmp_path / "x")
    by_stamp = {p.rgb_stamp_ns: p.condition for p in e.pairs}
    assert [by_stamp[t] for t in drive.rgb_stamps] == ["day"] * 12 + ["night"] * 8


def test_camera_info_beside_the_topic_gives_the_thermal_hfov(tmp_path: Path) -> None:
    assert info_topic_of("/camera/rgb/image_raw") == "/camera/rgb/camera_info"
    assert info_topic_of("/camera/rgb/image_raw/compressed") == "/camera/rgb/camera_info"
    drive = write_tiny_drive(tmp_path / "bag", 20, thermal_hfov_deg=32.5)
    prep = prepare_drive(_opts(drive.path, block_s=0.5), _prep(tmp_path, tmp_path / "out"), show_progress=False)
    manifest = read_manifest(tmp_path / "out")
    assert manifest.thermal_camera is not None
    assert math.isclose(manifest.thermal_camera.hfov_deg, 32.5, abs_tol=1e-4)
    assert manifest.thermal_camera.source == "CameraInfo on /cam/thermal/camera_info"
    assert manifest.drive is not None
    assert set(manifest.drive.camera_info) == {"rgb", "thermal"}
    assert math.isclose(manifest.drive.camera_info["rgb"].hfov_deg, 60.0, abs_tol=1e-4)
    assert prep.prepare.pairs == len(manifest.pairs) == 20
    # --thermal-hfov wins over the CameraInfo
    opts = PrepareOptions(**{**_prep(tmp_path, tmp_path / "o2").__dict__, "thermal_hfov": 40.0})
    prepare_drive(_opts(drive.path, block_s=0.5), opts, show_progress=False)
    camera = read_manifest(tmp_path / "o2").thermal_camera
    assert camera is not None
    assert (camera.hfov_deg, camera.source) == (40.0, "--thermal-hfov")


def test_explicit_info_topic_must_exist(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 5)
    with pytest.raises(DataError, match=r"--thermal-info-topic /nope: no CameraInfo message"):
        extract_drive(_opts(drive.path, thermal_info_topic="/nope"), tmp_path / "x")


def test_manifest_records_conditions_and_skips(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 40, stop=range(10, 16), dark_from=20)
    prepare_drive(
        _opts(drive.path, block_s=1.0, val_fraction=0.25), _prep(tmp_path, tmp_path / "o"), show_progress=False
    )
    doc = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert {p["condition"] for p in doc["pairs"]} == {"day", "night"}
    drive_doc = doc["drive"]
    assert drive_doc["skipped_by_reason"]["standstill"] == 6  # frames 10-15 repeat frame 9, which was kept
    assert drive_doc["extraction"] == f"{EXTRACT_DIR}/{EXTRACTION_NAME}"
    assert sum(sum(c.values()) for c in drive_doc["conditions"].values()) == len(doc["pairs"]) == 34
    assert set(drive_doc["conditions"]) == {"train", "val"}


def test_a_rerun_and_a_killed_run_finish_identically(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 30, stop=range(5, 9))
    opts = _opts(drive.path, stride_s=0.1, block_s=1.0)
    out = tmp_path / "o"
    first = prepare_drive(opts, _prep(tmp_path, out), show_progress=False)
    tree = _tree(out)
    again = prepare_drive(opts, _prep(tmp_path, out), show_progress=False)
    assert _tree(out) == tree
    assert (first.extraction.written, again.extraction.written, again.prepare.written) == (26, 0, 0)
    # A kill mid-run: no manifest or extraction record yet, some frames missing, a half-written file left.
    (out / "manifest.json").unlink()
    (out / EXTRACT_DIR / EXTRACTION_NAME).unlink()
    victims = sorted((out / EXTRACT_DIR / "train" / "rgb").glob("*.png"))[-3:]
    for v in victims:
        v.unlink()
    sorted((out / "train" / "rgb").glob("*.png"))[-1].unlink()
    (victims[0].parent / f".{victims[0].name}.partial-x1y2.png").write_bytes(b"\x89PNG half")
    resumed = prepare_drive(opts, _prep(tmp_path, out), show_progress=False)
    assert resumed.extraction.written == 3
    assert _tree(out) == tree


def test_other_settings_in_the_same_out_are_refused(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 10)
    extract_drive(_opts(drive.path), tmp_path / "x")
    with pytest.raises(DataError, match=r"other settings \(differs in: stride_s\).*--overwrite"):
        extract_drive(_opts(drive.path, stride_s=0.5), tmp_path / "x")
    assert len(extract_drive(_opts(drive.path, stride_s=0.5), tmp_path / "x", overwrite=True).pairs) == 2


def test_a_bag_damaged_part_way_names_it_and_keeps_the_frames_before(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 80)
    (db,) = drive.path.glob("*.db3")
    raw = bytearray(db.read_bytes())
    middle = len(raw) // 2 // 4096 * 4096
    raw[middle : middle + 4096] = b"\xff" * 4096  # a damaged sqlite page in the middle of the messages
    db.write_bytes(bytes(raw))
    out = tmp_path / "o"
    with pytest.raises(
        BagError, match=r"ended early or is corrupt after \d+ of \d+ messages.*pair\(s\) read before"
    ) as info:
        prepare_drive(_opts(drive.path, val_fraction=0.0), _prep(tmp_path, out), show_progress=False)
    assert str(drive.path) in str(info.value) and str(out) in str(info.value)
    manifest = read_manifest(out)
    assert manifest.drive is not None
    (bag,) = manifest.drive.bags
    assert "ended early or is corrupt" in bag.damage
    assert 0 < bag.pairs == len(manifest.pairs) < 80
    assert f"The {bag.pairs} pair(s) read before the damage" in str(info.value)
    assert len(list((out / "train" / "rgb").glob("*.png"))) == bag.pairs


def test_no_pair_at_all_says_what_to_check(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 10, thermal_offset_ns=450_000_000, thermal_hz=1.0)
    with pytest.raises(DataError, match=r"no RGB/thermal pair was extracted .* check the topics and --slop"):
        prepare_drive(_opts(drive.path, slop=0.01), _prep(tmp_path, tmp_path / "o"), show_progress=False)


def test_prepare_cli_takes_bags_and_refuses_root_with_bag(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 20, thermal_hfov_deg=30.0)
    Alignment.resize(RGB_SIZE, THERMAL_SIZE).save(tmp_path / "rig.yaml")
    cmd = [sys.executable, "-m", "thermal_synth_core", "prepare", "--bag", str(drive.path)]
    cmd += ["--rgb-topic", RGB_TOPIC, "--thermal-topic", THERMAL_TOPIC, "--stride-s", "0.2", "--block-s", "1"]
    cmd += ["--alignment", str(tmp_path / "rig.yaml"), "--out", str(tmp_path / "o"), "--workers", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "10 pairs extracted" in done.stdout and "stride 10" in done.stdout
    bad = subprocess.run([*cmd[:6], "--root", "x", "--out", "y"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "argument --root: not allowed with argument --bag" in bad.stderr
    no_format = subprocess.run([*cmd[:4], "--root", "x", "--out", "y"], capture_output=True, text=True, check=False)
    assert no_format.returncode == 1 and "prepare --root needs --format" in no_format.stderr


def test_one_and_two_workers_extract_identical_trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 40, stop=range(10, 16), dark_from=25)
    opts = _opts(drive.path, block_s=1.0, val_fraction=0.25)
    threads: set[str] = set()

    def spying_write(path: Path, image: npt.NDArray[np.generic]) -> None:
        threads.add(threading.current_thread().name)
        write_image(path, image)

    monkeypatch.setattr(drive_module, "write_image", spying_write)
    one = extract_drive(opts, tmp_path / "w1", workers=1)
    assert threads == {threading.current_thread().name}
    threads.clear()
    two = extract_drive(opts, tmp_path / "w2", workers=2)
    assert threads and all(name.startswith("extract") for name in threads), threads  # the pool did the writing
    assert _tree(tmp_path / "w1") == _tree(tmp_path / "w2")  # extraction.json included: same pairs, same order
    assert one.pairs == two.pairs and one.written == two.written == 34
    three = extract_drive(opts, tmp_path / "w2", workers=3)  # a re-run with more workers finds everything done
    assert three.written == 0 and _tree(tmp_path / "w2") == _tree(tmp_path / "w1")


def test_a_failed_write_in_the_pool_stops_the_extraction_and_a_rerun_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 30)
    opts = _opts(drive.path, val_fraction=0.0)
    extract_drive(opts, tmp_path / "ref")
    calls = 0

    def failing_write(path: Path, image: npt.NDArray[np.generic]) -> None:
        nonlocal calls
        calls += 1
        if calls == 9:
            raise OSError(28, "No space left on device")
        write_image(path, image)

    monkeypatch.setattr(drive_module, "write_image", failing_write)
    with pytest.raises(OSError, match="No space left"):
        extract_drive(opts, tmp_path / "x", workers=2)
    assert not (tmp_path / "x" / EXTRACTION_NAME).exists()
    monkeypatch.setattr(drive_module, "write_image", write_image)
    resumed = extract_drive(opts, tmp_path / "x", workers=2)
    assert 0 < resumed.written < 30
    assert _tree(tmp_path / "x") == _tree(tmp_path / "ref")
