"""Fixtures for the ROS 2 tests: a probe node spinning on the test's own Context."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.ros.fakes import spinning


@pytest.fixture
def probe(ros_context: Any) -> Iterator[Any]:
    """A node on the test's Context (another DDS participant than the node under test), spinning."""
    import rclpy

    node = rclpy.create_node("probe", context=ros_context)
    with spinning(node, ros_context):
        yield node
    node.destroy_node()


def publish_until(pub: Any, msg: Any, done: Callable[[], Any], timeout: float = 20.0, every: float = 0.5) -> Any:
    """Publish ``msg`` every ``every`` s until ``done()`` is truthy (best-effort inputs may miss early copies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.publish(msg)
        step_end = min(deadline, time.monotonic() + every)
        while time.monotonic() < step_end:
            value = done()
            if value:
                return value
            time.sleep(0.01)
    raise AssertionError(f"no result within {timeout:.0f} s after publishing on {pub.topic_name}")
