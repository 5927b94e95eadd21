"""QoS profiles of the node's topics, built from its parameters.

Camera and real-thermal inputs default to sensor-data QoS (best effort, keep
last 1): a late frame is worthless, so none is retransmitted or queued. Outputs
default to reliable with a small depth so RViz and ``ros2 bag record`` (which
subscribe reliably) connect; a reliable publisher also serves best-effort
subscribers.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from thermal_synth_core.errors import ConfigError

__all__ = ["RELIABILITY", "profile"]

RELIABILITY: dict[str, ReliabilityPolicy] = {
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
    "reliable": ReliabilityPolicy.RELIABLE,
}


def profile(reliability: str, depth: int, *, what: str = "topic") -> QoSProfile:
    """A keep-last, volatile profile; ``what`` names the parameter in errors."""
    if reliability not in RELIABILITY:
        raise ConfigError(f"{what}.reliability is {reliability!r}; choose one of {', '.join(RELIABILITY)}")
    if depth < 1:
        raise ConfigError(f"{what}.depth is {depth}; it must be at least 1")
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=RELIABILITY[reliability],
        durability=DurabilityPolicy.VOLATILE,
    )
