"""Atomic writes: the target is either the old file or the complete new one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.fileio import atomic_path, atomic_write_json, atomic_write_text


def test_write_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_temp_keeps_suffix_and_is_hidden(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "x.png") as tmp:
        assert tmp.suffix == ".png"
        assert tmp.name.startswith(".x.png.partial-")
        tmp.write_bytes(b"p")


def test_json(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "m.json", {"a": [1, 2]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": [1, 2]}


def test_mode_follows_umask_not_mkstemp(tmp_path: Path) -> None:
    from thermal_synth_core import fileio

    atomic_write_text(tmp_path / "m.txt", "x")
    assert (tmp_path / "m.txt").stat().st_mode & 0o777 == 0o666 & ~fileio._UMASK
