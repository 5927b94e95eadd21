"""Noticing a stalled input link: a camera topic that has gone quiet, and why it may have.

A subscriber that receives nothing cannot tell a camera that is off from frames
lost on the way, but the graph and the DDS match narrow it down, and say what to
check. :class:`LinkMonitor` is pure (the node feeds it counts it reads from
rclpy) so every case is tested without a ROS graph:

* no publisher visible on the topic: the camera is not running, or it is on
  another ``ROS_DOMAIN_ID`` or uses Fast DDS transports that cannot reach this
  process (a participant with other transports is invisible, not just silent);
* publishers visible on the graph but none matched: QoS or message type differ;
* a publisher matched but no frame for a while: the camera stopped, or its
  frames are lost in transport (large images over Fast DDS's default transports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thermal_synth_ros.dds import describe_transports

__all__ = ["LinkMonitor", "LinkStatus", "publisher_link"]


@dataclass(frozen=True)
class LinkStatus:
    """One verdict on an input link: ``state`` is a short word, ``problem`` says what to check ("" when fine)."""

    state: str  # "ok", "waiting", "no publisher", "not matched", "stalled"
    problem: str
    silent_s: float
    matched: int
    visible: int

    @property
    def ok(self) -> bool:
        """True unless the link has been quiet for longer than the monitor's ``stall_after_s``."""
        return not self.problem


class LinkMonitor:
    """Tracks one input topic; :meth:`update` returns its :class:`LinkStatus`.

    ``stall_after_s`` is how long a topic may stay quiet before it is reported;
    ``required`` is False for optional inputs (real thermal), which are reported
    only when a publisher is matched or visible but no frame arrives.
    ``transports`` and ``domain_id`` appear in the advice.
    """

    def __init__(
        self, topic: str, *, stall_after_s: float, transports: str, domain_id: int, required: bool, now: float
    ) -> None:
        if stall_after_s <= 0:
            raise ValueError(f"stall_after_s must be positive, got {stall_after_s}")
        self.topic = topic
        self.stall_after_s = stall_after_s
        self.transports = transports
        self.domain_id = domain_id
        self.required = required
        self._last_count = 0
        self._last_frame = now  # start-up counts as a frame: the link gets stall_after_s to come up
        self._seen_any = False

    def update(self, *, now: float, received: int, visible: int, matched: int) -> LinkStatus:
        """The link's state at ``now`` given the topic's total ``received`` frames and its publisher counts."""
        if received != self._last_count:
            self._last_count = received
            self._last_frame = now
            self._seen_any = True
        silent = max(0.0, now - self._last_frame)
        if silent < self.stall_after_s:
            state = "ok" if self._seen_any else "waiting"
            return LinkStatus(state, "", silent, matched, visible)
        quiet = f"no frame on {self.topic} for {silent:.0f} s" + ("" if self._seen_any else " since start-up")
        if matched > 0:
            stopped = "stopped publishing" if self._seen_any else "has not published yet"
            problem = (
                f"{quiet} although {matched} publisher(s) are matched: the camera {stopped}, or its "
                f"frames are lost on the way (large images need transports that carry them on both sides; "
                f"this node uses {self.transports}); `ros2 topic hz {self.topic}` run with the camera's "
                f"settings tells which"
            )
            return LinkStatus("stalled", problem, silent, matched, visible)
        if visible > 0:
            problem = (
                f"{quiet}: {visible} publisher(s) are on the graph but none matched this node's subscription: "
                f"QoS or message type differ (see 'last problem'; `ros2 topic info -v {self.topic}`)"
            )
            return LinkStatus("not matched", problem, silent, matched, visible)
        if not self.required:
            return LinkStatus("ok", "", silent, matched, visible)
        problem = (
            f"{quiet} and no publisher is visible: is the camera running, on ROS_DOMAIN_ID={self.domain_id}, "
            f"with the same Fast DDS transports as this node ({self.transports})? A participant with other "
            f"transports (e.g. FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA on one side only) is invisible"
        )
        return LinkStatus("no publisher", problem, silent, matched, visible)


def publisher_link(node: Any, pub: Any) -> str:
    """The link of publisher ``pub`` (of ``node``) seen from its own side, for reports when nothing comes back.

    Tells apart: no subscriber visible at all (other domain or transports), a
    subscriber on the graph that this publisher has not matched (a one-sided or
    failed match: QoS or transports differ), and a working match.
    """
    topic = pub.topic_name
    matched = pub.get_subscription_count()
    visible = node.count_subscribers(topic)
    if matched > 0:
        return f"{topic}: {matched} subscriber(s) matched"
    if visible > 0:
        return (
            f"{topic}: {visible} subscriber(s) on the graph but none matched this publisher "
            f"(a one-sided match: QoS or Fast DDS transports differ)"
        )
    return (
        f"{topic}: no subscriber visible (not running, another ROS_DOMAIN_ID, "
        f"or other Fast DDS transports than this process's {describe_transports()})"
    )
