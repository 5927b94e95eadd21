"""A stalled input link is reported in /diagnostics within the stated time, with what to check.

Stated time: ``stall_timeout`` after the last frame (or the node's start), plus one
``diagnostics_period`` for the next report; the assertions allow one more second
for the report to travel on a loaded machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.conftest import ChildProcesses
from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, FakeModel, diagnostics_values, running_node, wait_for
from tests.ros.images import rclpy_image, reference_rgb
from thermal_synth_ros.dds import ENV_VAR, PROFILE, PROFILE_VAR
from thermal_synth_ros.diagnostics import DiagKey

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

STALL_S = 2.0
PERIOD_S = 0.25
BOUND_S = STALL_S + PERIOD_S + 1.0

#: A camera in another process that publishes 640x480 rgb8 at 10 Hz until killed.
_CAMERA = (
    "import time, rclpy\n"
    "from sensor_msgs.msg import Image\n"
    "rclpy.init()\n"
    "node = rclpy.create_node('camera')\n"
    "pub = node.create_publisher(Image, 'rgb/image', 5)\n"
    "msg = Image(height=480, width=640, encoding='rgb8', step=1920, data=bytes(640 * 480 * 3))\n"
    "print('publishing', flush=True)\n"
    "while True:\n"
    "    pub.publish(msg)\n"
    "    time.sleep(0.1)\n"
)


def _first_status(diag: Collector, state: str, since: float) -> tuple[float, dict[str, str], str]:
    """(seconds after ``since``, values, message) of the first report whose input link is ``state``."""
    for msg, arrived in zip(diag.snapshot(), diag.arrivals, strict=False):
        values = diagnostics_values(msg)
        if values.get(DiagKey.INPUT_LINK) == state:
            return arrived - since, values, str(msg.status[0].message)
    raise AssertionError(f"no report with input link {state!r}")


def test_a_camera_with_other_transports_is_reported_as_invisible(
    ros_domain_id: int, probe: Any, ros_env: dict[str, str], children: ChildProcesses
) -> None:
    env = dict(ros_env)
    env.pop(PROFILE_VAR, None)
    env.pop(ENV_VAR, None)
    if os.environ.get(ENV_VAR) == "LARGE_DATA":  # this run chose LARGE_DATA: the camera takes the profile
        env[PROFILE_VAR] = str(PROFILE)
    else:  # the camera side chose LARGE_DATA, the node did not: the classic one-sided setting
        env[ENV_VAR] = "LARGE_DATA"
    diag = Collector(probe, DiagnosticArray, "/diagnostics")
    camera = children.start([sys.executable, "-c", _CAMERA], env=env, stdout=subprocess.PIPE, text=True)
    assert camera.stdout is not None
    assert camera.stdout.readline().strip() == "publishing"
    params = {"stall_timeout": STALL_S, "diagnostics_period": PERIOD_S}
    with running_node(ros_domain_id, FakeModel(size=(64, 48)), params) as node:
        started = time.monotonic()
        wait_for(lambda: any("no publisher" in m.status[0].message for m in diag.snapshot()), 15, "a stall report")
        after, values, message = _first_status(diag, "no publisher", started)
        assert node.count_publishers("/rgb/image") == 0  # the camera really is invisible to the node
    assert after <= BOUND_S, f"reported after {after:.1f} s, stated bound {BOUND_S:.1f} s"
    assert values[DiagKey.RECEIVED] == "0"
    assert values["input publishers (matched/visible)"] == "0/0"
    assert f"ROS_DOMAIN_ID={ros_domain_id}" in message
    assert "LARGE_DATA" in message  # named as the likely cause, or as the node's own choice
    assert values[DiagKey.INPUT_PROBLEM] == message
    assert camera.poll() is None  # the camera kept publishing all along: a silent failure without this report


def test_a_matched_camera_that_goes_quiet_is_reported_and_recovery_is_seen(ros_domain_id: int, probe: Any) -> None:
    diag = Collector(probe, DiagnosticArray, "/diagnostics")
    out = Collector(probe, Image, "thermal/image")
    pub = probe.create_publisher(Image, "rgb/image", QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    rgb = reference_rgb(48, 64, seed=3)
    params = {"stall_timeout": STALL_S, "diagnostics_period": PERIOD_S}
    with running_node(ros_domain_id, FakeModel(size=(64, 48)), params):
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(1, 0)), lambda: out.with_stamp(1, 0))
        last_frame = time.monotonic()
        wait_for(
            lambda: any("stalled" in diagnostics_values(m).get(DiagKey.INPUT_LINK, "") for m in diag.snapshot()),
            15,
            "a stalled-link report",
        )
        after, values, message = _first_status(diag, "stalled", last_frame)
        assert STALL_S - PERIOD_S <= after <= BOUND_S, f"reported {after:.1f} s after the last frame"
        assert values["input publishers (matched/visible)"] == "1/1"
        assert "1 publisher(s) are matched" in message
        n = len(diag.snapshot())
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(2, 0)), lambda: out.with_stamp(2, 0))
        wait_for(
            lambda: any(diagnostics_values(m).get(DiagKey.INPUT_LINK) == "ok" for m in diag.snapshot()[n:]),
            5,
            "the link reported ok again",
        )
