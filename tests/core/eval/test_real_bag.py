"""A real ROS 1 bag, recorded by real ROS tools, through ``evaluate``: a mono8 848x800 camera that is no thermal rig.

``../shared/real/ros1_bag_realsense`` holds an Intel RealSense T265 recording
(two mono8 848x800 fisheye cameras, 3 frames each, same header stamps). Its
camera matches nothing the model was trained on (aspect ratio 1.06, not the
rig's 1.25), which the output views exist for: the ``camera`` view synthesises
in the camera's own view and says why nothing is scored; the ``rig`` view with
this rig's alignment scores fisheye 2 as the "real" second camera, exercising
the mono8 path of real messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.real_data import ROS1_BAG, needs_ros1_bag
from thermal_synth_core.align import Alignment
from thermal_synth_core.cli import main

pytestmark = needs_ros1_bag

LEFT, RIGHT = "/camera/fisheye1/image_raw", "/camera/fisheye2/image_raw"


def _messages(bag: Path, topic: str) -> list[Any]:
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        return [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)]


def _stamps(bag: Path, topic: str) -> list[int]:
    return [m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec for m in _messages(bag, topic)]


def test_real_ros1_bag_in_the_camera_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, written = tmp_path / "eval", tmp_path / "synth_bag"
    argv = ["evaluate", "--bag", str(ROS1_BAG), "--rgb-topic", LEFT, "--thermal-topic", RIGHT, "--out", str(out)]
    view = ["--view", "camera", "--camera-hfov", "90", "--output-width", "input", "--write-bag", str(written)]
    assert main([*argv, *view]) == 0
    assert "3 frames synthesized" in capsys.readouterr().out
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["bag"]["storage"] == "ros1" and summary["has_metrics"] is False
    assert "camera view" in summary["note"] and "--view rig" in summary["note"]
    assert (out / "report.html").is_file() and len(list((out / "samples").glob("*.png"))) >= 1
    images, infos = _messages(written, "/thermal_synth/image"), _messages(written, "/thermal_synth/camera_info")
    recorded = _stamps(ROS1_BAG, LEFT)
    assert len(recorded) == 3
    assert _stamps(written, "/thermal_synth/image") == recorded
    # The camera's own view at its own size, with the pinhole that --camera-hfov describes.
    assert {(m.width, m.height) for m in images} == {(848, 800)}
    assert {(i.width, i.height) for i in infos} == {(848, 800)}
    assert infos[0].k[0] == pytest.approx(424.0, rel=0.01)  # fx of a 90-degree pinhole 848 px wide
    assert images[0].header.frame_id == _messages(ROS1_BAG, LEFT)[0].header.frame_id


def test_real_ros1_bag_scored_in_the_rig_view(tmp_path: Path) -> None:
    alignment = tmp_path / "t265.yaml"
    Alignment.identity((848, 800)).save(alignment)
    out = tmp_path / "eval"
    argv = ["evaluate", "--bag", str(ROS1_BAG), "--rgb-topic", LEFT, "--thermal-topic", RIGHT, "--out", str(out)]
    assert main([*argv, "--view", "rig", "--alignment", str(alignment)]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["has_metrics"] is True and summary["counts"]["scored"] == 3
    for key in ("l1", "ssim", "warm_iou"):
        for side in ("model", "baseline"):
            assert summary["metrics"][key][side]["n"] == 3
    # The two fisheyes see nearly the same room: the grayscale baseline is close to the "real" second camera.
    assert summary["metrics"]["ssim"]["baseline"]["mean"] > 0.5
