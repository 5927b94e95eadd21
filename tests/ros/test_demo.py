"""``make demo`` at reduced size: a real node process, live replay, recording, evaluation and the contact sheet.

The same code path as ``thermal-synth demo`` (the CLI handler and its summary),
on a shorter drive at a quarter of the RGB resolution, so it fits the test
budget. What the issue asks the demo to show is asserted: every replayed RGB
frame came back from the live node or was counted as dropped for a newer one, the outputs exist and open, and the
embedded model beats the grayscale baseline on the warm-region score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest
from rosbags.rosbag2 import Reader

from thermal_synth_core.cli import main

pytestmark = pytest.mark.timeout(300)

FRAMES = 24


def test_demo_runs_the_whole_system_at_reduced_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo_out"
    ros_vars = {k: v for k, v in os.environ.items() if k.startswith("ROS_")}
    assert main(["demo", "--out", str(out), "--frames", str(FRAMES), "--rgb-size", "450x400", "--seed", "5"]) == 0
    # The demo's private domain and loopback discovery range must not leak into the caller's process:
    # they once did, and every later test's participants ran with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST.
    assert {k: v for k, v in os.environ.items() if k.startswith("ROS_")} == ros_vars
    said = capsys.readouterr()
    assert "frames synthesised live" in said.out + said.err

    from thermal_synth_ros.demo import DemoSummary
    from thermal_synth_ros.diagnostics import DiagKey

    data = json.loads((out / "demo_summary.json").read_text())
    summary = DemoSummary.from_json(data)
    assert summary.to_json() == data  # the schema is the whole file: nothing missing, nothing extra
    diag = summary.node_diagnostics
    # The node drops a frame when a newer one arrives before it is done (never queues), which a loaded
    # 2-core machine provokes; every replayed frame must be either published or counted as dropped.
    dropped = int(diag[DiagKey.DROPPED])
    assert summary.frames_synthesised + dropped >= FRAMES, json.dumps(diag) + f" priming {summary.priming_frames}"
    assert summary.frames_synthesised >= FRAMES * 3 // 4, summary
    assert diag[DiagKey.REJECTED] == "0"
    metrics = data["metrics"]
    assert metrics["scored"] >= FRAMES // 2
    assert metrics["winner_warm_iou"] == "model", metrics
    assert metrics["model_warm_iou"] > metrics["baseline_warm_iou"] + 0.05, metrics

    with Reader(out / "node_output") as bag:
        counts = {c.topic: c.msgcount for c in bag.connections}
    assert counts["/thermal/image"] == counts["/thermal/image_color"] == summary.frames_synthesised

    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > sheet.shape[1]  # rows of RGB | synthetic | real
    report = (out / "evaluation" / "report.html").read_text()
    assert "data:image/png;base64," in report  # self-contained
    assert not list(out.glob(".*partial*")), "a hidden partial folder was left behind"
