"""Shared fixtures: ROS 2 domain isolation, subprocess environment, markers."""

from __future__ import annotations

import itertools
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each ROS test gets its own ROS_DOMAIN_ID so concurrent runs and leftover
# participants never cross-talk. Domains 1..100 are safe for Fast DDS ports.
_DOMAINS = itertools.cycle([*range(random.Random(os.getpid()).randint(1, 100), 101), *range(1, 101)])


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_cuda():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU (marked gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def ros_domain_id() -> int:
    """A ROS_DOMAIN_ID for this test alone."""
    return int(next(_DOMAINS))


@pytest.fixture
def ros_env(ros_domain_id: int) -> dict[str, str]:
    """Environment for ROS 2 subprocesses: this test's domain and the LARGE_DATA transports."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(ros_domain_id)
    env["FASTDDS_BUILTIN_TRANSPORTS"] = "LARGE_DATA"
    env["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def ros_context(ros_domain_id: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An initialised rclpy Context on this test's domain, shut down afterwards."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    # Must match the participants we talk to (see DESIGN.md on LARGE_DATA).
    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    context = Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


@pytest.fixture
def venv_bin() -> Path:
    """Folder of the running interpreter's console scripts (thermal-synth, thermal_synth_node)."""
    return Path(sys.executable).parent
