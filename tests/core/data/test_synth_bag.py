"""synth-data --layout bag for recorded-drive tests: another rig, stops, CameraInfo topics, day/night spans, 30 Hz."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from rosbags.highlevel import AnyReader
from rosbags.image import message_to_cvimage

from thermal_synth_core import names
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.align import Alignment
from thermal_synth_core.align.estimate import orientation_features
from thermal_synth_core.align.transform import scale_matrix
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.cli import main
from thermal_synth_core.data.synth import INFO_FILE, SynthOptions, generate
from thermal_synth_core.data.synth.bag import (
    BAG_INFO_TOPICS,
    BAG_TOPICS,
    FRAME_IDS,
    RIGS,
    STOP_SECONDS,
    BagInfoJson,
)
from thermal_synth_core.data.synth.folders import THERMAL_SIZE, flir_v1_alignment, other_rig_alignment
from thermal_synth_core.errors import DataError

RGB_SIZE, THERMAL = (450, 400), (320, 256)
#: A 12 s drive at 5 Hz RGB / 4.5 Hz thermal (cheap) with two stops, the other rig and CameraInfo.
OPTIONS = SynthOptions(
    layout="bag",
    n=60,
    seed=2,
    rgb_size=RGB_SIZE,
    thermal_size=THERMAL,
    night_fraction=0.5,
    rgb_rate=5.0,
    thermal_rate=4.5,
    rig="other",
    stops=2,
    camera_info=True,
)


@dataclass(frozen=True)
class Drive:
    """A generated drive, decoded: its synth_info and every message by topic as (stamp ns, message)."""

    path: Path
    info: BagInfoJson
    messages: dict[str, list[tuple[int, Any]]]

    def images(self, topic: str) -> dict[int, npt.NDArray[Any]]:
        return {stamp: message_to_cvimage(msg) for stamp, msg in self.messages[topic]}


def _read(path: Path) -> Drive:
    messages: dict[str, list[tuple[int, Any]]] = {}
    with AnyReader([path]) as reader:
        for conn, _, raw in reader.messages():
            msg: Any = reader.deserialize(raw, conn.msgtype)
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            messages.setdefault(conn.topic, []).append((stamp, msg))
    return Drive(path, json.loads((path / INFO_FILE).read_text()), messages)


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Drive:
    out = tmp_path_factory.mktemp("bag") / "drive"
    result = generate(out, OPTIONS)
    assert result.extra["rig"] == "other" and result.extra["stops"] == 2
    return _read(out)


def test_rig_registry_is_what_the_cli_offers() -> None:
    assert tuple(RIGS) == names.SYNTH_RIGS


def test_other_rigs_truth_file_is_another_offset_scale_and_rotation(drive: Drive) -> None:
    truth = Alignment.load(drive.path / "ground_truth_alignment.yaml")
    expected = scale_matrix(THERMAL_SIZE, THERMAL) @ other_rig_alignment().as_array()
    np.testing.assert_allclose(truth.as_array(), expected, atol=1e-12)
    assert truth.thermal_size == THERMAL and truth.covers(RGB_SIZE)
    m, flir = truth.as_array(), scale_matrix(THERMAL_SIZE, THERMAL) @ flir_v1_alignment().as_array()
    assert math.degrees(math.atan2(m[1, 0], m[0, 0])) == pytest.approx(1.5, abs=1e-9)
    assert math.sqrt(np.linalg.det(m[:2, :2])) > 1.15 * math.sqrt(np.linalg.det(flir[:2, :2]))  # narrower view
    assert Alignment.from_dict(drive.info["alignment"]).as_array() == pytest.approx(m)
    assert drive.info["rig"] == "other"
    assert drive.info["thermal_camera"]["hfov_deg"] == pytest.approx(37.46, abs=0.05)  # FLIR v1 style: 44.6


def _orientation_score(gray: npt.NDArray[np.float32], thermal: npt.NDArray[np.float32], m: npt.NDArray[Any]) -> float:
    warped = np.asarray(cv2.warpAffine(gray, m[:2], THERMAL, flags=cv2.INTER_AREA), dtype=np.float32)
    a, b = orientation_features(warped), orientation_features(thermal)
    return float(np.sum(a * b) / math.sqrt(float(np.sum(a * a) * np.sum(b * b))))


def test_truth_file_describes_the_rendered_frames(drive: Drive) -> None:
    """In a stop both cameras see one scene: the truth lines them up better than 1 px shifts or the roll undone."""
    truth = Alignment.load(drive.path / "ground_truth_alignment.yaml")
    rgb, thermal = drive.images(BAG_TOPICS["rgb"]), drive.images(BAG_TOPICS["thermal"])
    c = np.array([[1.0, 0.0, (THERMAL[0] - 1) / 2], [0.0, 1.0, (THERMAL[1] - 1) / 2], [0.0, 0.0, 1.0]])
    roll = np.eye(3)
    roll[:2, :2] = cv2.getRotationMatrix2D((0.0, 0.0), 1.5, 1.0)[:, :2]  # undoes the rig's 1.5 degree roll
    shifts = {f"{axis}{d:+d}": (d, 0) if axis == "x" else (0, d) for axis in "xy" for d in (-1, 1)}
    variants = {
        "truth": np.eye(3),
        **{k: np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]]) for k, (dx, dy) in shifts.items()},
        "no roll": c @ roll @ np.linalg.inv(c),
    }
    scores = dict.fromkeys(variants, 0.0)
    for stop in drive.info["stops"]:
        for rgb_stamp in stop["rgb_stamps_ns"][:3]:
            thermal_stamp = min(stop["thermal_stamps_ns"], key=lambda s: abs(s - rgb_stamp))
            gray = cv2.cvtColor(rgb[rgb_stamp], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
            t = agc_normalize(thermal[thermal_stamp])
            for name, v in variants.items():
                scores[name] += _orientation_score(gray, t, v @ truth.matrix_for(RGB_SIZE))
    assert max(scores, key=lambda k: scores[k]) == "truth", scores


def test_stops_are_recorded_and_the_frames_in_them_repeat(drive: Drive) -> None:
    info, start = drive.info, drive.info["start_ns"]
    stops = info["stops"]
    assert len(stops) == 2
    thermal = drive.messages[BAG_TOPICS["thermal"]]
    order = [stamp for stamp, _ in thermal]
    period = 1.0 / OPTIONS.thermal_rate
    for a, b in itertools.pairwise(stops):
        assert a["end_s"] < b["start_s"]
    for stop in stops:
        length = stop["end_s"] - stop["start_s"]
        assert STOP_SECONDS[0] - period / 2 <= length <= STOP_SECONDS[1] + period / 2
        night = {
            seg["night"]
            for seg in info["segments"]
            if seg["start_s"] < stop["end_s"] and stop["start_s"] < seg["end_s"]
        }
        assert len(night) == 1, "a stop lies inside one segment"
        first = order.index(stop["thermal_stamps_ns"][0])
        assert order[first : first + len(stop["thermal_stamps_ns"])] == stop["thermal_stamps_ns"]  # consecutive frames
        assert len(stop["thermal_stamps_ns"]) == round(length / period) + 1
        assert all(abs((s - start) / 1e9 - stop["start_s"]) <= 0.004 for s in stop["thermal_stamps_ns"][:1])
        assert all(stop["start_s"] <= (s - start) / 1e9 <= stop["end_s"] for s in stop["rgb_stamps_ns"])
    repeats = {s for stop in stops for s in stop["thermal_stamps_ns"][1:]}
    frames = drive.images(BAG_TOPICS["thermal"])
    diffs = {
        b: float(np.mean(np.abs(frames[a].astype(np.float32) - frames[b].astype(np.float32))))
        for a, b in itertools.pairwise(order)
    }
    still = [d for s, d in diffs.items() if s in repeats]
    moving = [d for s, d in diffs.items() if s not in repeats]
    assert len(still) == sum(len(s["thermal_stamps_ns"]) - 1 for s in stops)
    assert max(still) < 6.0, still  # sensor noise only (the noise of one frame is ~2.5 counts)
    assert min(moving) > 20.0, moving  # driving: the scene moves


def test_camera_info_beside_each_image_with_its_stamp(drive: Drive) -> None:
    assert drive.info["topics"]["rgb_info"] == BAG_INFO_TOPICS["rgb"] == "/camera/rgb/camera_info"
    assert drive.info["topics"]["thermal_info"] == BAG_INFO_TOPICS["thermal"] == "/thermal/camera_info"
    hfov = {"rgb": math.degrees(2 * math.atan(0.5 / 1.075)), "thermal": drive.info["thermal_camera"]["hfov_deg"]}
    for name, image_topic in (("rgb", BAG_TOPICS["rgb"]), ("thermal", BAG_TOPICS["thermal"])):
        infos, images = drive.messages[BAG_INFO_TOPICS[name]], drive.messages[image_topic]
        assert [s for s, _ in infos] == [s for s, _ in images]
        size = RGB_SIZE if name == "rgb" else THERMAL
        for _, msg in infos:
            cam = CameraModel.from_msg(msg, BAG_INFO_TOPICS[name])
            assert msg.header.frame_id == FRAME_IDS[name] and cam.size == size
            assert msg.distortion_model == "plumb_bob" and not np.any(msg.d) and len(msg.d) == 5
            assert cam.hfov_deg == pytest.approx(hfov[name], abs=0.01)
            assert cam.k[2] == (size[0] - 1) / 2 and cam.k[5] == (size[1] - 1) / 2 and cam.k[0] == cam.k[4]
        recorded = CameraModel.from_yaml_dict(drive.info["camera_info"][name])
        assert recorded.k == pytest.approx(CameraModel.from_msg(infos[0][1]).k)


def test_segments_say_which_spans_are_night_and_night_rgb_is_dark(drive: Drive) -> None:
    info, start = drive.info, drive.info["start_ns"]
    segments = info["segments"]
    assert segments[0]["start_s"] == 0.0 and segments[-1]["end_s"] == pytest.approx(info["duration_s"])
    assert all(a["end_s"] == b["start_s"] for a, b in itertools.pairwise(segments))
    assert {s["night"] for s in segments} == {False, True}
    brightness: dict[bool, list[float]] = {False: [], True: []}
    for stamp, img in drive.images(BAG_TOPICS["rgb"]).items():
        t = (stamp - start) / 1e9
        seg = next((s for s in segments if t < s["end_s"]), segments[-1])
        brightness[seg["night"]].append(float(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).mean()))
    assert max(brightness[True]) < 0.5 * min(brightness[False]), brightness


def test_a_30hz_drive(tmp_path: Path) -> None:
    out = tmp_path / "fast"
    argv = ["synth-data", "--out", str(out), "--layout", "bag", "--n", "24", "--rgb-size", "90x80", "--size", "64x51"]
    assert main([*argv, "--rgb-rate", "30", "--thermal-rate", "30"]) == 0
    d = _read(out)
    for topic in (BAG_TOPICS["rgb"], BAG_TOPICS["thermal"]):
        gaps = np.diff([s for s, _ in d.messages[topic]]) / 1e9
        assert np.all(np.abs(gaps - 1 / 30) < 0.007), topic
    assert d.info["rgb_rate_hz"] == d.info["thermal_rate_hz"] == 30.0 and d.info["counts"]["rgb"] == 24


def test_without_the_new_options_nothing_new_is_written(tmp_path: Path) -> None:
    generate(tmp_path / "bag", SynthOptions(layout="bag", n=4, rgb_size=(90, 80), thermal_size=(64, 51)))
    d = _read(tmp_path / "bag")
    assert not {"rig", "stops", "camera_info"} & set(d.info)
    assert set(d.info["topics"]) == {"rgb", "thermal", "mask"} == {k for k, v in BAG_TOPICS.items() if v in d.messages}
    generate(tmp_path / "pairs", SynthOptions(layout="pairs", n=2, thermal_size=(32, 32)))
    options = json.loads((tmp_path / "pairs" / INFO_FILE).read_text())["options"]
    assert not {"rig", "stops", "camera_info"} & set(options) and "thermal_rate" in options


def test_bag_only_options_and_their_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="apply to --layout bag only"):
        generate(tmp_path / "p", SynthOptions(layout="pairs", n=2, stops=1))
    with pytest.raises(DataError, match="unknown rig 'kaist'; valid: flir, other"):
        generate(tmp_path / "b", SynthOptions(layout="bag", n=2, rig="kaist"))
    with pytest.raises(DataError, match=r"--stops 3 needs a longer drive.*--n \d+ or more"):
        generate(tmp_path / "b", SynthOptions(layout="bag", n=40, stops=3))
    assert not (tmp_path / "b").exists()
