"""The one place that chooses Fast DDS transports for our processes.

With Fast DDS's default transports, multi-megabyte images are mostly lost on
these machines; ``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA`` delivers them. Every
participant on a topic must use the same setting or they never discover each
other, so the node, ``thermal-synth replay``, the launch file, the demo and the
tests all default to LARGE_DATA, and a value the user set wins everywhere.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager

__all__ = ["DEFAULT_TRANSPORTS", "ENV_VAR", "TEARDOWN_TIMEOUT_S", "configure_dds", "teardown_watchdog"]

ENV_VAR = "FASTDDS_BUILTIN_TRANSPORTS"
DEFAULT_TRANSPORTS = "LARGE_DATA"


def configure_dds(environ: MutableMapping[str, str] | None = None) -> str:
    """Default ``FASTDDS_BUILTIN_TRANSPORTS`` to LARGE_DATA unless already set; returns the value in effect.

    Must run before the process's first rclpy Context is initialised (Fast DDS
    reads it when the participant is created).
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if not value:
        env[ENV_VAR] = value = DEFAULT_TRANSPORTS
    return value


#: Seconds a participant's teardown may take before the process gives up on it.
TEARDOWN_TIMEOUT_S = 10.0


def _stderr_fd() -> int:
    """sys.stderr's descriptor, or the process's fd 2 when sys.stderr is a Python-only stream (pytest capture)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


@contextmanager
def teardown_watchdog(timeout: float = TEARDOWN_TIMEOUT_S) -> Iterator[None]:
    """Exit the process (status 1, thread stacks on stderr) if the block takes longer than ``timeout``.

    Destroying a participant can block forever inside Fast DDS 3.2.3's TCP
    transport, used by LARGE_DATA (eProsima/Fast-DDS#6066, fixed in later
    releases), and rclpy holds the GIL meanwhile, so no Python timer or signal
    handler can run; faulthandler's watchdog is a C thread and still can.
    Wrap only the final teardown of a process in it.
    """
    faulthandler.dump_traceback_later(timeout, exit=True, file=_stderr_fd())
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
