"""Evaluation errors in the user's terms: paths, topics, types, damaged bags, runs that stop half-way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.core.eval.conftest import RGB_TOPIC, THERMAL_TOPIC
from tests.core.models.factory import make_model
from tests.ros.bags import RGB_TOPIC as DRIVE_RGB
from tests.ros.bags import TEXT_TOPIC, write_drive
from tests.ros.bags import THERMAL_TOPIC as DRIVE_THERMAL
from thermal_synth_core.cli import main
from thermal_synth_core.errors import AlignmentError, BackendError, BagError
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_core.infer import Synthesizer


def _options(bag: Path, out: Path, **kw: Any) -> EvalOptions:
    return EvalOptions(bag=bag, rgb_topic=kw.pop("rgb_topic", RGB_TOPIC), out=out, **kw)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model for the 4:3 drives of tests/ros/bags.py (no alignment: a plain rescale)."""
    return make_model(tmp_path_factory.mktemp("m") / "small.safetensors", input_size=(64, 48))[0]


def test_missing_path_and_things_that_are_not_bags(tmp_path: Path, model_file: Path) -> None:
    synth = Synthesizer(model_file, backend="torch")
    with pytest.raises(BagError, match=r"bag .*nowhere does not exist"):
        evaluate(_options(tmp_path / "nowhere", tmp_path / "o"), synth)
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not an mcap file")
    with pytest.raises(BagError, match=r"junk\.mcap is not a readable bag \(expected a rosbag2 folder"):
        evaluate(_options(junk, tmp_path / "o"), synth)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="is not a readable bag"):
        evaluate(_options(tmp_path / "empty", tmp_path / "o"), synth)
    assert not (tmp_path / "o").exists(), "nothing is written for a bag that cannot be opened"


def test_unknown_topic_lists_every_topic_with_type_and_count(drives: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BagError, match=r"real thermal topic /flir is not in the bag .*; it has: ") as info:
        evaluate(_options(drives["mcap"], tmp_path / "o", thermal_topic="/flir"))
    text = str(info.value)
    assert "/camera/rgb/image_raw (sensor_msgs/msg/Image, 12 msgs)" in text
    assert "/camera/rgb/image_raw/compressed (sensor_msgs/msg/CompressedImage, 12 msgs)" in text
    assert "/thermal/warm_mask (sensor_msgs/msg/Image, " in text


def test_unsupported_message_type_and_topic_mix_ups(tmp_path: Path, small_model: Path) -> None:
    drive = write_drive(tmp_path, "sqlite3", rgb_frames=4)
    with pytest.raises(
        BagError, match=r"RGB topic /note carries std_msgs/msg/String, which evaluate cannot read as RGB"
    ):
        evaluate(_options(drive.path, tmp_path / "o", rgb_topic=TEXT_TOPIC, model=small_model))
    with pytest.raises(BagError, match="--thermal-topic and --rgb-topic are both /camera/rgb/image"):
        evaluate(_options(drive.path, tmp_path / "o", rgb_topic=DRIVE_RGB, thermal_topic="camera/rgb/image"))


def test_real_thermal_of_another_aspect_ratio_is_refused(tmp_path: Path, drives: dict[str, Path]) -> None:
    drive = write_drive(tmp_path, "mcap", rgb_frames=3, size=(64, 48))
    model = make_model(tmp_path / "wide.safetensors", input_size=(64, 48), output_size=(96, 48))[0]
    with pytest.raises(AlignmentError, match=r"real thermal frames on /flir/image are 64x48, but the model's thermal"):
        evaluate(
            _options(drive.path, tmp_path / "o", rgb_topic=DRIVE_RGB, thermal_topic=DRIVE_THERMAL),
            Synthesizer(model, backend="torch"),
        )


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_truncated_bag_is_refused_before_anything_is_written(storage: str, tmp_path: Path, small_model: Path) -> None:
    drive = write_drive(tmp_path, storage, rgb_frames=12, size=(160, 120))  # type: ignore[arg-type]
    (data,) = [p for p in drive.path.iterdir() if p.suffix in (".db3", ".mcap")]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    out, bag_out = tmp_path / "o", tmp_path / "with_synth"
    options = _options(
        drive.path,
        out,
        rgb_topic=DRIVE_RGB,
        thermal_topic=DRIVE_THERMAL,
        write_bag=bag_out,
        model=small_model,
        backend="torch",
    )
    with pytest.raises(BagError, match=r"is not a readable bag .* a truncated or corrupt bag also ends here"):
        evaluate(options)
    assert not out.exists() or not any(out.iterdir()), f"written for a refused bag: {list(out.rglob('*'))}"
    assert not bag_out.exists() and not list(tmp_path.glob(".with_synth*")), "no --write-bag output, not even staged"


def test_bag_damaged_part_way_keeps_what_was_computed(tmp_path: Path, small_model: Path) -> None:
    drive = write_drive(tmp_path, "sqlite3", rgb_frames=40, size=(160, 120))
    (db,) = drive.path.glob("*.db3")
    raw = bytearray(db.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 4096] = b"\xff" * 4096  # a damaged page in the middle of the messages
    db.write_bytes(bytes(raw))
    out = tmp_path / "out"
    options = _options(
        drive.path,
        out,
        rgb_topic=DRIVE_RGB,
        thermal_topic=DRIVE_THERMAL,
        write_bag=tmp_path / "partial_bag",
        model=small_model,
        backend="torch",
    )
    with pytest.raises(
        BagError, match=r"ended early or is corrupt after \d+ of \d+ messages.*; the outputs for the \d+ frames read"
    ) as info:
        evaluate(options)
    assert str(out) in str(info.value)
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["complete"] is False
    assert "ended early or is corrupt" in doc["error"]
    frames = doc["counts"]["read"]
    assert 0 < frames < 40
    assert (out / "frames.csv").read_text().count("\n") == frames + 1
    assert (out / "report.html").read_text().count("Incomplete:") == 1
    assert (tmp_path / "partial_bag").is_dir()  # a valid bag of the readable part


def test_a_run_that_fails_half_way_leaves_no_bag_to_trust(
    drives: dict[str, Path], model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synth = Synthesizer(model_file, backend="torch")
    calls = {"n": 0}
    real_run = synth.backend.run

    def failing(batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise BackendError("simulated crash in the middle of the drive")
        return real_run(batch)

    monkeypatch.setattr(synth.backend, "run", failing)
    target = tmp_path / "bag_out"
    options = _options(drives["sqlite3"], tmp_path / "o", thermal_topic=THERMAL_TOPIC, write_bag=target, batch=2)
    with pytest.raises(BackendError, match="simulated crash"):
        evaluate(options, synth)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [], "no partial bag folder is left behind"


def test_existing_write_bag_target_is_not_overwritten(
    drives: dict[str, Path], model_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(BagError, match=r"--write-bag .*taken exists already; bags are never overwritten"):
        evaluate(
            _options(drives["sqlite3"], tmp_path / "o", write_bag=tmp_path / "taken"),
            Synthesizer(model_file, backend="torch"),
        )


def test_cli_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--bag", str(tmp_path / "missing"), "--rgb-topic", "/x", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "missing does not exist" in err
    assert "Traceback" not in err


def test_ros1_bag_is_evaluated_and_converted_for_write_bag(tmp_path: Path, small_model: Path) -> None:
    from rosbags.highlevel import AnyReader

    drive = write_drive(tmp_path, "ros1", rgb_frames=6)
    result = evaluate(
        _options(
            drive.path,
            tmp_path / "o",
            rgb_topic=DRIVE_RGB,
            thermal_topic=DRIVE_THERMAL,
            write_bag=tmp_path / "ros2",
            model=small_model,
            backend="torch",
        )
    )
    assert result.summary.bag is not None and result.summary.bag.storage == "ros1"
    assert result.frames == 6 and result.scored > 0
    with AnyReader([tmp_path / "ros2"]) as reader:
        assert reader.is2
        assert {n: i.msgcount for n, i in reader.topics.items()} == {
            DRIVE_RGB: 6,
            DRIVE_THERMAL: len(drive.stamps[DRIVE_THERMAL]),
            TEXT_TOPIC: 1,
            "/thermal_synth/image": 6,
            "/thermal_synth/camera_info": 6,
            "/thermal_synth/image_color": 6,
        }
        conns = [c for c in reader.connections if c.topic == "/thermal_synth/image"]
        msgs: list[Any] = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)]
        stamps = [m.header.stamp for m in msgs]
        conns = [c for c in reader.connections if c.topic == "/thermal_synth/camera_info"]
        infos: list[Any] = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)]
    assert [s.sec * 1_000_000_000 + s.nanosec for s in stamps] == drive.stamps[DRIVE_RGB]
    # One CameraInfo per image, same stamp, frame and size (the rig view: the thermal camera's).
    assert [(i.header.stamp, i.header.frame_id, i.width, i.height) for i in infos] == [
        (m.header.stamp, m.header.frame_id, m.width, m.height) for m in msgs
    ]
    assert next((tmp_path / "ros2").glob("*.mcap"))  # ROS 1 input -> mcap unless asked otherwise


def test_bad_messages_are_counted_and_skipped_like_in_the_node(tmp_path: Path, small_model: Path) -> None:
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    drive = write_drive(tmp_path, "mcap", rgb_frames=6, with_text=False)
    store = get_typestore(Stores.ROS2_KILTED)
    broken = tmp_path / "broken"
    with AnyReader([drive.path]) as reader, Writer(broken, version=9) as writer:
        conns = {c.topic: writer.add_connection(c.topic, c.msgtype, typestore=store) for c in reader.connections}
        seen = {DRIVE_RGB: 0, DRIVE_THERMAL: 0}
        for conn, t, raw in reader.messages():
            msg: Any = reader.deserialize(raw, conn.msgtype)
            if seen[conn.topic] == 2:
                msg.encoding = "rgb8" if conn.topic == DRIVE_THERMAL else "nonsense"
            seen[conn.topic] += 1
            writer.write(conns[conn.topic], t, store.serialize_cdr(msg, conn.msgtype))
    result = evaluate(
        _options(
            broken,
            tmp_path / "o",
            rgb_topic=DRIVE_RGB,
            thermal_topic=DRIVE_THERMAL,
            write_bag=tmp_path / "out_bag",
            model=small_model,
            backend="torch",
        )
    )
    counts = result.summary.counts
    assert (counts.read, counts.synthesized, counts.rgb_rejected, counts.thermal_rejected) == (6, 5, 1, 1)
    assert "unsupported image encoding 'nonsense'" in counts.first_rejections["rgb"]
    assert "rgb8 is not a thermal encoding" in counts.first_rejections["thermal"]
    statuses = [r.status for r in result.rows]
    assert statuses[2].startswith("RGB frame rejected: unsupported image encoding 'nonsense'")
    assert any(s.startswith("real thermal frame rejected: rgb8 is not a thermal encoding") for s in statuses)
    with AnyReader([tmp_path / "out_bag"]) as reader:
        assert reader.topics["/thermal_synth/image"].msgcount == 5
