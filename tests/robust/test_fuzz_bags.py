"""Fuzz: truncated and damaged bags (rosbag2 sqlite3/mcap, ROS 1) are read to the end or raise BagError.

The reading side of ``thermal-synth replay`` runs here without a ROS graph:
``open_bag``, topic selection, ROS 1 -> ROS 2 conversion and the player loop,
with stand-in publishers. A bag cut at any byte (the usual result of a
recorder killed mid-drive or a full disk) or with damaged bytes must give
every message or a BagError that says how far it got, never another exception.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.robust.fuzzing import fuzz
from tests.ros.bags import STORAGES, Storage, write_drive
from thermal_synth_core.errors import BagError
from thermal_synth_ros.replay import ReplayResult, _Player, _ros1_converter, open_bag, select_topics

pytestmark = pytest.mark.timeout(240)


class _Publisher:
    def __init__(self) -> None:
        self.count = 0

    def publish(self, raw: bytes) -> None:
        assert isinstance(raw, bytes)
        self.count += 1


def read_all(path: Path) -> int:
    """Everything replay does with a bag except publishing it; returns the number of messages."""
    reader = open_bag(path)
    try:
        connections = select_topics(reader, None)
        converters = {} if reader.is2 else {c.id: _ros1_converter(reader, c.msgtype) for c in connections}
        publishers: dict[str, Any] = {c.topic: _Publisher() for c in connections}
        total = sum(int(c.msgcount) for c in connections)
        result = ReplayResult()
        _Player(reader, connections, publishers, converters, None, total).play_once(
            1e12, threading.Event(), result, False
        )
        return result.published
    finally:
        reader.close()


@cache
def _pristine(storage: Storage) -> tuple[Path, int]:
    """A small drive bag of each storage (kept for the session) and its message count."""
    out = Path(tempfile.mkdtemp(prefix=f"fuzz-bag-{storage}-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)  # hypothesis tests cannot take tmp_path
    drive = write_drive(out, storage, rgb_frames=6, size=(32, 24))
    return drive.path, read_all(drive.path)


def _files(bag: Path) -> list[Path]:
    return sorted(p for p in bag.iterdir()) if bag.is_dir() else [bag]


def _copy(bag: Path, dest: Path) -> Path:
    target = dest / bag.name
    if bag.is_dir():
        shutil.copytree(bag, target)
    else:
        shutil.copy(bag, target)
    return target


def _read(bag: Path, expected: int) -> None:
    try:
        n = read_all(bag)
    except BagError as exc:
        assert str(exc)
        return
    assert n <= expected


@pytest.mark.parametrize("storage", STORAGES)
@fuzz(40)
@given(data=st.data())
def test_truncated_bags_read_to_the_end_or_raise_bag_error(
    storage: Storage, tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    pristine, expected = _pristine(storage)
    bag = _copy(pristine, tmp_path_factory.mktemp("cut"))
    victim = data.draw(st.sampled_from(_files(bag)))
    raw = victim.read_bytes()
    victim.write_bytes(raw[: data.draw(st.integers(0, len(raw)))])
    _read(bag, expected)


@pytest.mark.parametrize("storage", STORAGES)
@fuzz(30)
@given(data=st.data())
def test_damaged_bags_read_to_the_end_or_raise_bag_error(
    storage: Storage, tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    pristine, expected = _pristine(storage)
    bag = _copy(pristine, tmp_path_factory.mktemp("dmg"))
    victim = data.draw(st.sampled_from(_files(bag)))
    raw = bytearray(victim.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        if not raw:
            break
        pos = data.draw(st.integers(0, len(raw) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=16))
        raw[pos : pos + len(chunk)] = chunk
    victim.write_bytes(bytes(raw))
    _read(bag, expected)


def test_pristine_bags_read_completely() -> None:
    for storage in STORAGES:
        _, n = _pristine(storage)
        assert n == 10, (storage, n)  # 6 RGB, 3 thermal, 1 text
