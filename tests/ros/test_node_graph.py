"""The node as a process: it joins the ROS 2 graph, publishes, stops cleanly on SIGINT/SIGTERM, fails clearly.

``thermal_synth_node`` itself is started for the fatal start-up path (and, once
the Synthesizer is installed, with the embedded default model); the full
start/publish/stop cycle runs the same ``main()`` through
``tests/ros/fake_node_main.py`` with the stand-in model.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT, ChildProcesses
from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, wait_for
from tests.ros.images import rclpy_image, reference_rgb

pytestmark = pytest.mark.ros


def _run_until_graph(
    cmd: list[str], env: dict[str, str], probe: Any, children: ChildProcesses, namespace: str = "/"
) -> subprocess.Popen[str]:
    """Start the node (reaped by ``children`` whatever happens) and wait until it is on the graph."""
    proc = children.start(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def on_graph() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"node exited early ({proc.returncode}): {proc.communicate()[0]}")
        return ("thermal_synth", namespace) in probe.get_node_names_and_namespaces()

    wait_for(on_graph, 30, "thermal_synth on the ROS graph", interval=0.1)
    return proc


def _frame_round_trip(probe: Any, namespace: str = "") -> None:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    out = Collector(probe, Image, f"{namespace}/thermal/image".lstrip("/"))
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    pub = probe.create_publisher(Image, f"{namespace}/rgb/image".lstrip("/"), qos)
    # 9:8, the aspect ratio of the embedded model's rig (FLIR ADAS v1).
    msg = rclpy_image(reference_rgb(64, 72), "bgr8", stamp=(77, 5))
    got = publish_until(pub, msg, lambda: out.with_stamp(77, 5), timeout=30)
    assert got.encoding in ("mono8", "mono16")


def _params_file(tmp_path: Path) -> Path:
    """config/synth.yaml with a few values changed, to see the file really is read."""
    config = yaml.safe_load((REPO_ROOT / "config" / "synth.yaml").read_text())
    params = config["/**/thermal_synth"]["ros__parameters"]
    params["colormap"] = "inferno"
    params["output_qos"]["depth"] = 7
    path = tmp_path / "synth.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _remote_parameters(probe: Any, names: list[str], node: str = "thermal_synth") -> dict[str, Any]:
    from rclpy.parameter import parameter_value_to_python
    from rclpy.parameter_client import AsyncParameterClient

    client = AsyncParameterClient(probe, node)
    assert client.wait_for_services(timeout_sec=20.0)
    future = client.get_parameters(names)
    result = wait_for(lambda: future.done() and future.result(), 20, "parameters of thermal_synth")
    return {n: parameter_value_to_python(v) for n, v in zip(names, result.values, strict=True)}


@pytest.mark.parametrize(
    ("sig", "namespace"), [(signal.SIGINT, ""), (signal.SIGTERM, "/front")], ids=["SIGINT", "SIGTERM-namespaced"]
)
def test_node_process_reads_its_params_file_publishes_and_stops_cleanly_on_signals(  # noqa: PLR0917 - fixtures
    probe: Any, ros_env: dict[str, str], sig: signal.Signals, namespace: str, tmp_path: Path, children: ChildProcesses
) -> None:
    """The params file reaches the node in any namespace (its key is /**/thermal_synth: a bare
    thermal_synth would only match the root namespace, silently ignored with namespace:=front)."""
    cmd = [sys.executable, "-m", "tests.ros.fake_node_main", "--ros-args", "--params-file", str(_params_file(tmp_path))]
    if namespace:
        cmd += ["-r", f"__ns:={namespace}"]
    proc = _run_until_graph(cmd, ros_env, probe, children, namespace or "/")
    try:
        values = _remote_parameters(
            probe, ["colormap", "output_qos.depth", "input_qos.reliability", "sync_slop"], f"{namespace}/thermal_synth"
        )
        assert values == {
            "colormap": "inferno",
            "output_qos.depth": 7,
            "input_qos.reliability": "best_effort",
            "sync_slop": 0.05,
        }
        _frame_round_trip(probe, namespace)
    finally:
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    assert f"ready: {namespace}/rgb/image -> {namespace}/thermal/image" in out


def test_missing_model_is_a_fatal_start_up_error(ros_env: dict[str, str], venv_bin: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.safetensors"
    proc = subprocess.run(
        [str(venv_bin / "thermal_synth_node"), "--ros-args", "-p", f"model_path:={missing}"],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"model file {missing} (parameter model_path) does not exist" in out
    assert "Traceback" not in out


def test_executable_with_the_embedded_model(
    probe: Any, ros_env: dict[str, str], venv_bin: Path, children: ChildProcesses
) -> None:
    pytest.importorskip("thermal_synth_core.infer", reason="the Synthesizer lands with issue #3")
    proc = _run_until_graph([str(venv_bin / "thermal_synth_node")], ros_env, probe, children)
    try:
        _frame_round_trip(probe)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out


def test_corrupt_model_is_a_fatal_start_up_error(ros_env: dict[str, str], venv_bin: Path, tmp_path: Path) -> None:
    pytest.importorskip("thermal_synth_core.infer", reason="the Synthesizer lands with issue #3")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00\x01 not a safetensors file")
    proc = subprocess.run(
        [str(venv_bin / "thermal_synth_node"), "--ros-args", "-p", f"model_path:={corrupt}"],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "cannot start" in out
    assert str(corrupt) in out
    assert "Traceback" not in out
