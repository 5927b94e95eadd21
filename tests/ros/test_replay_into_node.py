"""The live replay evaluation path: ``replay`` a synthetic drive into ``thermal_synth_node`` running a real model.

The node is the installed executable with a model file (``-p model_path:=...``),
remapped onto the drive's topics; the drive comes from ``synth-data --layout
bag``. Every replayed RGB frame must come back on ``thermal/image`` with its
original header stamp.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.core.models.factory import make_model
from tests.ros.fakes import Collector, wait_for
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.synth import BAG_TOPICS, GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.eval.bag import BagSource

pytestmark = pytest.mark.ros

FRAMES = 10


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def test_replayed_drive_comes_back_as_synthetic_thermal_with_the_original_stamps(
    tmp_path: Path, probe: Any, ros_context: Any, ros_env: dict[str, str], venv_bin: Path
) -> None:
    from sensor_msgs.msg import Image

    from thermal_synth_ros.replay import replay

    bag = tmp_path / "drive"
    generate(bag, SynthOptions(layout="bag", n=FRAMES, seed=3, rgb_size=(450, 400), thermal_size=(320, 256)))
    with BagSource(bag) as source:
        rgb_stamps = [source.header_stamp_ns(r) for r in source.records([BAG_TOPICS["rgb"]])]
    model = make_model(
        tmp_path / "model.safetensors",
        input_size=(160, 128),
        output_size=(320, 256),
        alignment=Alignment.load(bag / GROUND_TRUTH_FILE),
    )[0]
    cmd = [
        str(venv_bin / "thermal_synth_node"),
        *("--ros-args", "-p", f"model_path:={model}", "-p", "backend:=torch"),
        *("-r", f"rgb/image:={BAG_TOPICS['rgb']}", "-r", f"real_thermal/image:={BAG_TOPICS['thermal']}"),
    ]
    synthetic = Collector(probe, Image, "thermal/image", depth=100)
    node = subprocess.Popen(
        cmd, env=ros_env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:

        def on_graph() -> bool:
            if node.poll() is not None:
                raise AssertionError(f"node exited early ({node.returncode}): {node.communicate()[0]}")
            return ("thermal_synth", "/") in probe.get_node_names_and_namespaces()

        wait_for(on_graph, 60, "thermal_synth on the ROS graph", interval=0.1)
        out: dict[str, Any] = {}

        def run() -> None:
            try:
                topics = [BAG_TOPICS["rgb"], BAG_TOPICS["thermal"]]
                # Half speed: the node synthesizes the newest frame only, so it must keep up to see them all.
                out["result"] = replay(bag, context=ros_context, rate=0.5, topics=topics, delay=15.0)
            except BaseException as exc:
                out["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=90)
        assert "error" not in out, out.get("error")
        assert out["result"].published > FRAMES
        wait_for(lambda: len(synthetic.snapshot()) >= FRAMES - 1, 15, "synthetic frames for the replayed drive")
    finally:
        node.send_signal(signal.SIGINT)
        try:
            log, _ = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            log, _ = node.communicate()
    got = [_stamp_ns(m) for m in synthetic.snapshot()]
    assert set(got) <= set(rgb_stamps), "every synthetic frame carries the stamp of a replayed RGB frame"
    assert len(set(got)) >= FRAMES - 1  # best-effort input: the very first frame may race discovery
    first = synthetic.snapshot()[0]
    assert (first.encoding, first.width, first.height) == ("mono8", 320, 256)
    assert "Traceback" not in log, log
