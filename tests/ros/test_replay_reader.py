"""``evaluate`` and ``replay`` read bags with one reader: the same bags open, the same messages come out, same errors.

No ROS graph: replay's reading side (open, topic selection, ROS 1 -> ROS 2
conversion, the player loop) runs with stand-in publishers that keep what
they are given, and what it would publish is decoded with the Kilted types and
compared, message by message, with what evaluate's reader deserialises from the
same bag. Four kinds of bag: rosbag2 sqlite3 and mcap, ROS 1, and an old
rosbag2 (schema 3, as Humble records: no message definitions inside), which
only a reader with the Kilted fallback can open.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.typesys import get_typestore

from tests.ros.bags import RGB_TOPIC, TEXT_TOPIC, THERMAL_TOPIC, write_drive
from thermal_synth_core import bagreader
from thermal_synth_core.errors import BagError
from thermal_synth_core.eval import bag as eval_bag
from thermal_synth_ros import replay

KINDS = ("sqlite3", "mcap", "ros1", "old-sqlite3")


class _Keep:
    """A stand-in publisher that keeps every payload."""

    def __init__(self, topic: str, out: list[tuple[str, bytes]]) -> None:
        self.topic = topic
        self.out = out

    def publish(self, raw: bytes) -> None:
        self.out.append((self.topic, raw))


def _drive(tmp_path: Path, kind: str) -> Path:
    """A small drive bag of ``kind``; ``old-sqlite3`` is a sqlite3 one made to look recorded before Jazzy."""
    if kind != "old-sqlite3":
        return write_drive(tmp_path, kind).path  # type: ignore[arg-type]
    path = write_drive(tmp_path, "sqlite3").path
    (db,) = path.glob("*.db3")
    con = sqlite3.connect(db)
    try:
        con.execute("UPDATE schema SET schema_version = 3")
        con.execute("DROP TABLE message_definitions")
        con.commit()
    finally:
        con.close()
    return path


def _fields(msg: Any) -> tuple[Any, ...]:
    """What a message says (Image: header, geometry, encoding, pixels; String: its text), ROS 1 or ROS 2 alike."""
    if hasattr(msg, "height"):
        stamp = (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))
        return (stamp, msg.header.frame_id, msg.height, msg.width, msg.encoding, msg.step, bytes(msg.data))
    return (msg.data,)


def _evaluate_reads(path: Path) -> list[tuple[str, tuple[Any, ...]]]:
    with eval_bag.BagSource(path) as source:
        return [(r.topic, _fields(source.deserialize(r))) for r in source.records()]


def _replay_publishes(path: Path) -> list[tuple[str, tuple[Any, ...]]]:
    source = replay.open_bag(path)
    try:
        connections = replay.select_topics(source, None)
        converters = {} if source.is2 else {c.id: replay._ros1_converter(source, c.msgtype) for c in connections}
        sent: list[tuple[str, bytes]] = []
        publishers: dict[str, Any] = {c.topic: _Keep(c.topic, sent) for c in connections}
        total = sum(int(c.msgcount) for c in connections)
        player = replay._Player(source, connections, publishers, converters, None, total)
        player.play_once(1e12, threading.Event(), replay.ReplayResult(), False)
    finally:
        source.close()
    store = get_typestore(bagreader.FALLBACK_STORE)
    types = {c.topic: c.msgtype for c in connections}
    return [(topic, _fields(store.deserialize_cdr(raw, types[topic]))) for topic, raw in sent]


def test_evaluate_and_replay_use_one_reader(tmp_path: Path) -> None:
    assert eval_bag.BagSource is bagreader.BagSource
    with replay.open_bag(_drive(tmp_path, "mcap")) as source:
        assert type(source) is bagreader.BagSource


def test_old_rosbag2_without_definitions_needs_the_fallback(tmp_path: Path) -> None:
    """The old-bag case is real: rosbags alone refuses it, the shared reader opens it."""
    from rosbags.highlevel import AnyReader, AnyReaderError

    path = _drive(tmp_path, "old-sqlite3")
    with pytest.raises(AnyReaderError, match="no type definitions"), AnyReader([path]):
        pass
    with replay.open_bag(path) as source:
        assert [t.name for t in source.topics()] == [RGB_TOPIC, THERMAL_TOPIC, TEXT_TOPIC]


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_and_replay_read_the_same_messages(kind: str, tmp_path: Path) -> None:
    path = _drive(tmp_path, kind)
    evaluated = _evaluate_reads(path)
    replayed = _replay_publishes(path)
    assert len(evaluated) == 10 + 5 + 1  # 10 RGB, 5 thermal, 1 note: every message, none twice
    assert [t for t, _ in replayed] == [t for t, _ in evaluated]  # same order: recording time
    assert replayed == evaluated
    rgb = [f for t, f in evaluated if t == RGB_TOPIC]
    assert len({f[-1] for f in rgb}) == len(rgb)  # the pixels really differ frame to frame: a real comparison
    assert np.frombuffer(rgb[0][-1], np.uint8).size == 64 * 48 * 3


@pytest.mark.parametrize("kind", ["sqlite3", "ros1"])
def test_evaluate_and_replay_refuse_a_truncated_bag_with_the_same_words(kind: str, tmp_path: Path) -> None:
    path = _drive(tmp_path, kind)
    storage = path if path.is_file() else next(p for p in path.iterdir() if p.suffix in (".db3", ".bag"))
    storage.write_bytes(storage.read_bytes()[: storage.stat().st_size // 3])
    errors = []
    for opener in (eval_bag.BagSource, replay.open_bag):
        with pytest.raises(BagError) as info:
            opener(path).close()
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert "is not a readable bag" in errors[0]


def test_a_bag_broken_part_way_says_how_far_it_got_in_both(tmp_path: Path) -> None:
    path = write_drive(tmp_path, "sqlite3", rgb_frames=40, size=(160, 120)).path
    (db,) = path.glob("*.db3")
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 4096] = b"\xff" * 4096  # a damaged page among the messages
    db.write_bytes(bytes(raw))
    with pytest.raises(bagreader.BagReadError) as evaluated, eval_bag.BagSource(path) as source:
        for _ in source.records():
            pass
    with pytest.raises(bagreader.BagReadError) as replayed:
        _replay_publishes(path)
    assert evaluated.value.done == replayed.value.done and evaluated.value.total == replayed.value.total
    assert str(replayed.value).startswith(str(evaluated.value))
    assert str(replayed.value).endswith(f"({replayed.value.done} published in all)")
