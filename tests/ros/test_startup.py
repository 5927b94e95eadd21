"""bench startup: a fresh node + camera pair reaches its first frame, and the benchmark writes its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.cli import main

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_startup_benchmark_writes_per_transport_figures(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    code = main(["bench", "startup", "--runs", "1", "--transports", "profile", "--out", str(tmp_path)])
    assert code == 0
    result = json.loads((tmp_path / "startup.json").read_text())
    profile = result["per_transports"]["profile"]
    assert profile["starts"] == 1
    assert profile["failures"] == 0, result["starts"]
    assert 0 < profile["first_frame"]["p50_s"] <= result["timeout_s"]
    start = result["starts"][0]
    assert start["node_ready_logged"]
    assert start["node_exit"] == 0  # SIGINT ends the node cleanly
    assert not start["node_killed"]
    assert start["matched_s"] <= start["first_frame_s"]


def test_unknown_transports_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "startup", "--runs", "1", "--transports", "SHM_ONLY", "--out", str(tmp_path)])
    assert code != 0
    assert "unknown transports ['SHM_ONLY']; choose from profile, LARGE_DATA" in capsys.readouterr().err
