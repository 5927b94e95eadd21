"""thermal_synth_node starts as a real ROS 2 node (rclpy over Fast DDS) and shuts down cleanly."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros


def test_node_appears_on_graph_and_stops_on_sigint(
    ros_context: object, ros_env: dict[str, str], venv_bin: Path
) -> None:
    import rclpy

    proc = subprocess.Popen(
        [str(venv_bin / "thermal_synth_node")], env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    probe = rclpy.create_node("graph_probe", context=ros_context)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 20.0
        names: list[tuple[str, str]] = []
        while time.monotonic() < deadline:
            names = probe.get_node_names_and_namespaces()
            if ("thermal_synth", "/") in names:
                break
            assert proc.poll() is None, f"node exited early: {proc.communicate()[0]}"
            time.sleep(0.1)
        assert ("thermal_synth", "/") in names
    finally:
        probe.destroy_node()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
