"""The one place that chooses Fast DDS transports for our processes.

With Fast DDS's default transports, multi-megabyte images are mostly lost on
these machines; ``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA`` delivers them. Every
participant on a topic must use the same setting or they never discover each
other, so the node, ``thermal-synth replay``, the launch file, the demo and the
tests all default to LARGE_DATA, and a value the user set wins everywhere.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["DEFAULT_TRANSPORTS", "ENV_VAR", "configure_dds"]

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
