"""The synthetic world: deterministic, FLIR-like imperfections, and a thermal mapping that is not grayscale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.align import Alignment
from thermal_synth_core.cli import main
from thermal_synth_core.data.imageio import read_mask, read_rgb, read_thermal
from thermal_synth_core.data.synth import MASK_PERSON, SynthOptions, generate
from thermal_synth_core.data.synth.world import Car, Person, Prop, StreetLayout, random_layout
from thermal_synth_core.errors import DataError
from thermal_synth_core.metrics import warm_contrast


def _layouts(n: int, night: bool) -> list[StreetLayout]:
    return [random_layout(np.random.default_rng([9, i]), (1800, 1600), night) for i in range(n)]


@pytest.mark.parametrize("night", [False, True])
def test_temperatures_do_not_follow_colour(night: bool) -> None:
    for layout in _layouts(20, night):
        ta = layout.conditions.ambient
        assert layout.conditions.sky_temp_top < ta - 5  # cold whatever its colour
        scene_cam, cond = layout.camera, layout.conditions
        for actor in layout.actors:
            if isinstance(actor, Person):
                parts = actor.parts(scene_cam, cond, None)
                temps = [p.temp for p in parts if p.warm == MASK_PERSON]
                assert min(temps) > ta + 3 and np.median(temps) > ta + 8
            elif isinstance(actor, Car):
                hot = [p for p in actor.parts(scene_cam, cond, None) if p.warm]
                peak = max(p.temp for p in actor.parts(scene_cam, cond, None))
                if actor.running:
                    assert hot and peak > ta + 20
                else:
                    assert not hot and peak < ta + 5  # parked: cold, whatever the colour (often red)
            elif isinstance(actor, Prop):
                assert max(p.temp for p in actor.parts(scene_cam, cond)) < ta + 13


def test_generation_is_deterministic(tmp_path: Path) -> None:
    opts = SynthOptions(layout="pairs", n=4, seed=5, thermal_size=(160, 128))
    generate(tmp_path / "a", opts)
    generate(tmp_path / "b", SynthOptions(layout="pairs", n=4, seed=5, thermal_size=(160, 128), workers=2))
    for rel in ("train/rgb/00000.png", "train/thermal16/00001.png", "val/mask/00003.png"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    other = generate(tmp_path / "c", SynthOptions(layout="pairs", n=3, seed=6, thermal_size=(160, 128)))
    assert (other.out / "train/rgb/00000.png").read_bytes() != (tmp_path / "a/train/rgb/00000.png").read_bytes()


def test_flir_v1_imperfections(synth_v1: Path) -> None:
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    frames = info["frames"]
    sizes = {tuple(f["rgb_size"]) for f in frames if f["rgb"]}
    assert {(1800, 1600), (900, 800), (1280, 1024)} <= sizes
    assert any(not f["rgb"] for f in frames)
    assert any(f["night"] for f in frames) and not all(f["night"] for f in frames)
    fid = next(f["id"] for f in frames if f["rgb"] and f["split"] == "train")
    raw = read_thermal(synth_v1 / "train" / "thermal_16_bit" / f"{fid}.tiff")
    assert raw.dtype == np.uint16 and raw.shape == (512, 640) and raw.max() < 2**14
    t8 = read_thermal(synth_v1 / "train" / "thermal_8_bit" / f"{fid}.jpeg")
    assert t8.dtype == np.uint8 and t8.shape == (512, 640)
    truth = Alignment.load(synth_v1 / "ground_truth_alignment.yaml")
    assert truth.rgb_size == (1800, 1600)
    assert 2.45 < 1 / truth.as_array()[0, 0] < 2.51


def test_warm_objects_are_warm_and_not_grayscale(synth_v1: Path) -> None:
    """Inside warm-object masks thermal is much brighter; the RGB grayscale baseline is not."""
    truth = Alignment.load(synth_v1 / "ground_truth_alignment.yaml")
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    thermal_c, gray_c = [], []
    for f in info["frames"]:
        if not f["pair"] or tuple(f["rgb_size"]) != (1800, 1600):
            continue
        base = synth_v1 / f["split"]
        mask = read_mask(base / "masks" / f"{f['id']}.png") > 0
        if mask.mean() < 0.002:
            continue
        thermal = agc_normalize(read_thermal(base / "thermal_16_bit" / f"{f['id']}.tiff"))
        rgb = truth.warp_rgb(read_rgb(base / "RGB" / f"{f['id']}.jpg"))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        thermal_c.append(warm_contrast(thermal, mask))
        gray_c.append(warm_contrast(gray, mask))
    assert len(thermal_c) >= 5
    assert np.median(thermal_c) > 0.15
    assert np.median(thermal_c) > np.median(gray_c) + 0.2


def test_night_rgb_is_dark(synth_v1: Path) -> None:
    info = json.loads((synth_v1 / "synth_info.json").read_text())
    means: dict[bool, list[float]] = {True: [], False: []}
    for f in info["frames"]:
        if f["rgb"]:
            means[f["night"]].append(read_rgb(synth_v1 / f["split"] / "RGB" / f"{f['id']}.jpg").mean())
    assert np.mean(means[True]) < 0.5 * np.mean(means[False])


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_bag_drive(storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rosbags.highlevel import AnyReader
    from rosbags.image import message_to_cvimage

    bag = tmp_path / "drive"
    argv = ["synth-data", "--out", str(bag), "--layout", "bag", "--n", "30", "--storage", storage]
    assert main([*argv, "--rgb-size", "450x400", "--compressed", "--night-fraction", "0.5"]) == 0
    assert "at night" in capsys.readouterr().out
    info = json.loads((bag / "synth_info.json").read_text())
    assert [s["night"] for s in info["segments"]] == [False, True]
    assert info["thermal_camera"]["hfov_deg"] == pytest.approx(44.6, abs=0.05)  # the FLIR v1 style rig
    assert Alignment.load(bag / "ground_truth_alignment.yaml").rgb_size == (1800, 1600)
    stamps: dict[str, list[int]] = {}
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    with AnyReader([bag]) as reader:
        for conn, _, raw in reader.messages():
            msg: Any = reader.deserialize(raw, conn.msgtype)
            stamps.setdefault(conn.topic, []).append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
            img = message_to_cvimage(msg)
            shapes[conn.topic] = (img.shape, str(img.dtype))
    assert shapes["/camera/rgb/image_raw"] == ((400, 450, 3), "uint8")
    assert shapes["/camera/rgb/image_raw/compressed"][0] == (400, 450, 3)
    assert shapes["/thermal/image_raw"] == ((512, 640), "uint16")
    assert shapes["/thermal/warm_mask"] == ((512, 640), "uint8")
    assert len(stamps["/camera/rgb/image_raw"]) == 30
    assert 25 <= len(stamps["/thermal/image_raw"]) <= 28  # 9 Hz against 10 Hz
    for topic, values in stamps.items():
        assert values == sorted(values), topic
    assert set(stamps["/camera/rgb/image_raw"]).isdisjoint(stamps["/thermal/image_raw"])


def test_cli_refuses_to_clobber(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    argv = ["synth-data", "--out", str(out), "--layout", "pairs", "--n", "2", "--size", "64x48"]
    assert main(argv) == 1
    assert "not empty" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 1
    assert "refusing to delete" in capsys.readouterr().err
    assert (out / "precious.txt").exists()
    (out / "precious.txt").unlink()
    assert main(argv) == 0
    assert main([*argv, "--force"]) == 0
    with pytest.raises(DataError, match="aspect ratio"):
        generate(tmp_path / "y", SynthOptions(layout="flir-v1", n=2, rgb_size=(1000, 1000)))


@pytest.mark.parametrize("layout", ["flir-v1", "flir-v2"])
def test_thermal_field_of_view_is_the_rigs(layout: str) -> None:
    """synth_info's thermal_camera HFOV is the one the thermal frames have: a ray at HFOV/2 lands on the edge."""
    from thermal_synth_core.align.transform import scale_matrix
    from thermal_synth_core.data.synth.folders import (
        THERMAL_SIZE,
        V1_RGB_SIZE,
        V2_RGB_SIZE,
        flir_v1_alignment,
        flir_v2_alignment,
        rig_thermal_camera,
    )
    from thermal_synth_core.data.synth.world import FOCAL_RANGE, StreetCamera

    ref, rig = (V1_RGB_SIZE, flir_v1_alignment()) if layout == "flir-v1" else (V2_RGB_SIZE, flir_v2_alignment())
    size = (320, 256)
    to_thermal = scale_matrix(THERMAL_SIZE, size) @ rig.as_array()
    camera = rig_thermal_camera(ref[0], to_thermal, size[0])
    assert camera["width"] == 320 and "synthetic rig" in camera["source"]
    assert camera["hfov_deg"] == pytest.approx(44.6 if layout == "flir-v1" else 45.4, abs=0.05)
    cam = StreetCamera(ref, horizon=ref[1] * 0.4, vp_x=ref[0] * 0.5, focal=ref[0] * sum(FOCAL_RANGE) / 2)
    half = np.tan(np.radians(camera["hfov_deg"] / 2))
    u = cam.project(np.array([-half * 20.0, 0.0, half * 20.0]), np.full(3, 1.0), np.full(3, 20.0))
    pts = np.c_[u, np.ones(3)] @ to_thermal.T
    assert pts[2, 0] - pts[0, 0] == pytest.approx(size[0], abs=0.1)  # the full frame's width, edge to edge
