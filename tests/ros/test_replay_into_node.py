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
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, ChildProcesses
from tests.core.models.factory import make_model
from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, wait_for
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.synth import BAG_TOPICS, GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.eval.bag import BagSource
from thermal_synth_ros.diagnostics import DiagKey

pytestmark = pytest.mark.ros

FRAMES = 10
MARKER_STAMP_NS = 1


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def test_replayed_drive_comes_back_as_synthetic_thermal_with_the_original_stamps(
    tmp_path: Path,
    probe: Any,
    ros_env: dict[str, str],
    venv_bin: Path,
    children: ChildProcesses,
) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
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
        # Reliable input, as `thermal-synth demo` does for a replay: with LARGE_DATA the node's side of
        # discovery can finish after the replay's, and best effort would lose the first frames for good.
        *("-p", "input_qos.reliability:=reliable", "-p", "input_qos.depth:=10"),
        *("-r", f"rgb/image:={BAG_TOPICS['rgb']}", "-r", f"real_thermal/image:={BAG_TOPICS['thermal']}"),
    ]
    synthetic = Collector(probe, Image, "thermal/image", depth=100)
    diagnostics = Collector(probe, DiagnosticArray, "/diagnostics")
    topics = [BAG_TOPICS["rgb"], BAG_TOPICS["thermal"]]

    def replayed() -> set[int]:
        return {_stamp_ns(m) for m in synthetic.snapshot()} - {MARKER_STAMP_NS}

    node = children.start(cmd, env=ros_env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:

        def on_graph() -> bool:
            if node.poll() is not None:
                raise AssertionError(f"node exited early ({node.returncode}): {node.communicate()[0]}")
            return ("thermal_synth", "/") in probe.get_node_names_and_namespaces()

        wait_for(on_graph, 60, "thermal_synth on the ROS graph", interval=0.1)
        # With LARGE_DATA the two sides of each DDS match finish at different times: a marker frame is
        # sent until its synthetic frame comes back, so the whole path is up (replay -> node -> probe),
        # then the drive is replayed on the same publishers.
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        publishers = {topic: probe.create_publisher(Image, topic, qos) for topic in topics}
        marker = Image(height=400, width=450, encoding="rgb8", step=450 * 3, data=bytes(450 * 400 * 3))
        marker.header.stamp.nanosec = MARKER_STAMP_NS
        publish_until(publishers[BAG_TOPICS["rgb"]], marker, synthetic.snapshot, timeout=60)
        out: dict[str, Any] = {}

        def counters() -> tuple[int, int]:
            """(received, dropped) RGB frames from the node's latest /diagnostics."""
            last = diagnostics.snapshot()[-1:]
            values = {kv.key: kv.value for kv in last[0].status[0].values} if last else {}
            return int(values.get(DiagKey.RECEIVED, 0)), int(values.get(DiagKey.DROPPED, 0))

        # Priming frames the node dropped are not the drive's: count drops from here on.
        wait_for(diagnostics.snapshot, 10, "the node's /diagnostics")
        time.sleep(1.2)  # one more report, so it covers every priming frame
        received_before, dropped_before = counters()

        def accounted() -> int:
            """Drive frames that came back or that the node says it replaced by a newer one (never queues)."""
            received, dropped = counters()
            return len(replayed()) + max(0, dropped - dropped_before) if received > received_before else 0

        def run() -> None:
            try:
                # Half speed: the node synthesizes the newest frame only, so it must keep up to see them all.
                out["result"] = replay(
                    bag, context=probe.context, rate=0.5, topics=topics, delay=15.0, publishers=publishers
                )
            except BaseException as exc:
                out["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=90)
        assert "error" not in out, out.get("error")
        assert out["result"].published > FRAMES
        try:
            # On a loaded machine the model can take longer than the frame interval even at half speed: a
            # frame replaced by a newer one is then counted as dropped, never lost silently.
            wait_for(lambda: accounted() >= FRAMES, 30, "every replayed frame back or counted as dropped")
        except AssertionError as exc:
            last = diagnostics.snapshot()[-1:]
            values = {kv.key: kv.value for kv in last[0].status[0].values} if last else {}
            raise AssertionError(f"{exc}: {len(replayed())} of {FRAMES} came back; node: {values}") from None
    finally:
        node.send_signal(signal.SIGINT)
        log, _ = node.communicate(timeout=30)  # the children fixture kills and reaps it if this times out
    got = replayed()
    assert got <= set(rgb_stamps), "every synthetic frame carries the stamp of a replayed RGB frame"
    assert len(got) >= 2, "synthetic frames came back for the drive"  # the rest were counted as dropped
    first = synthetic.snapshot()[-1]
    assert (first.encoding, first.width, first.height) == ("mono8", 320, 256)
    assert "Traceback" not in log, log
