"""bench views: the camera view's timings are measured on its own camera sizes, and the node really ran it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.cli import main

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_camera_view_bench_writes_ratios_of_the_same_run(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    argv = ["bench", "views", "--quick", "--sizes", "320x180", "480x360", "--frames", "6", "--backend", "torch"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "views.json").read_text())
    assert [r["camera"] for r in data["rows"]] == ["320x180", "480x360"]
    for row in data["rows"]:
        assert row["view"] == row["node_view"] == "camera"
        assert row["node_end_to_end"]["n"] >= 1
        w, h = (int(v) for v in row["working_size"].split("x"))
        cw, ch = (int(v) for v in row["camera"].split("x"))
        assert abs(w * ch / cw - h) <= 0.5  # the camera's aspect ratio at the working size, to half a pixel
        assert row["ours_vs_stretch_p50"] > 0 and row["ours_vs_full_resolution_p50"] > 0
