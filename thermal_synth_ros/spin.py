"""Nodes on participants of their own, each spun by its own executor thread (benchmarks and tools).

Several participants in one process stand in for several processes: each node
gets its own rclpy ``Context`` and a ``SingleThreadedExecutor`` on a daemon
thread. Teardown is guarded by :func:`~thermal_synth_ros.dds.teardown_watchdog`,
so a Fast DDS teardown hang ends the run with stacks, not silence.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from thermal_synth_ros.dds import teardown_watchdog

__all__ = ["spinning"]


@contextmanager
def spinning(participants: Sequence[tuple[Context, Node]]) -> Iterator[None]:
    """Spin each node on its context's own executor thread; afterwards stop them and shut the contexts down.

    The first node (typically the probe that drives and watches the others) is
    destroyed last.
    """
    executors = [SingleThreadedExecutor(context=context) for context, _ in participants]
    for executor, (_, node) in zip(executors, participants, strict=True):
        executor.add_node(node)
    threads = [threading.Thread(target=e.spin, daemon=True) for e in executors]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        with teardown_watchdog():
            for executor in executors:
                executor.shutdown(timeout_sec=5.0)
            for _, node in [*participants[1:], participants[0]]:
                node.destroy_node()
            for context, _ in participants:
                rclpy.try_shutdown(context=context)
