"""Publish a recorded bag onto live ROS 2 topics (``thermal-synth replay``), for machines without ``ros2 bag``.

Reads rosbag2 (sqlite3 and mcap) and ROS 1 bags with ``rosbags``. rosbag2
stores messages as the same CDR bytes DDS sends, so they are published raw
(``Publisher.publish(bytes)``): no deserialisation, and header stamps stay
exactly as recorded. ROS 1 messages are converted to ROS 2 CDR once each.
Messages are paced by their recording time (``--rate`` scales it), and with
``--clock`` the bag's time is published on ``/clock`` for nodes with
``use_sim_time``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thermal_synth_core.errors import BagError
from thermal_synth_core.ui import progress
from thermal_synth_ros.dds import configure_dds, teardown_watchdog
from thermal_synth_ros.link import publisher_link

__all__ = ["BagTopic", "ReplayResult", "list_topics", "message_class", "open_bag", "replay", "select_topics"]

log = logging.getLogger(__name__)

#: How often /clock is published while waiting for the next message (ros2 bag play's default is 40 Hz).
CLOCK_HZ = 40.0
#: Extra wait after every topic has a subscriber, for the subscribers' side of discovery.
MATCH_SETTLE_S = 0.5
#: How long the end of a replay waits for reliable subscribers to acknowledge the last messages.
ACK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class BagTopic:
    """One topic of a bag: name, ROS 2 message type and message count."""

    name: str
    msgtype: str
    count: int

    def __str__(self) -> str:
        return f"{self.name} ({self.msgtype}, {self.count} msgs)"


@dataclass
class ReplayResult:
    """What a replay did, for the summary line and for callers."""

    published: int = 0
    loops: int = 0
    seconds: float = 0.0
    topics: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False


def open_bag(path: str | Path) -> Any:
    """An opened ``rosbags.highlevel.AnyReader`` on ``path``; raises :class:`BagError` in the user's terms."""
    from rosbags.highlevel import AnyReader

    p = Path(path).expanduser()
    if not p.exists():
        raise BagError(f"bag {p} does not exist")
    try:
        reader = AnyReader([p])
        reader.open()
    except Exception as exc:  # rosbags raises several unrelated types for unreadable input
        raise BagError(
            f"{p} is not a readable bag (expected a rosbag2 folder, a .mcap or .db3 file, or a ROS 1 .bag; "
            f"a truncated or corrupt bag also ends here): {exc}"
        ) from None
    return reader


def list_topics(reader: Any) -> list[BagTopic]:
    """Every topic in the bag, sorted by name."""
    return [BagTopic(name, info.msgtype or "?", int(info.msgcount)) for name, info in sorted(reader.topics.items())]


def _describe(topics: Sequence[BagTopic]) -> str:
    return "; ".join(str(t) for t in topics) or "(none)"


def select_topics(reader: Any, wanted: Sequence[str] | None) -> list[Any]:
    """The bag connections of ``wanted`` topics (all when None); an unknown topic lists what is there."""
    available = list_topics(reader)
    if not wanted:
        return list(reader.connections)
    names = {t.name for t in available}
    resolved: set[str] = set()
    for topic in wanted:
        candidates = [topic, f"/{topic}"] if not topic.startswith("/") else [topic]
        found = next((c for c in candidates if c in names), None)
        if found is None:
            raise BagError(f"topic {topic} is not in the bag; it has: {_describe(available)}")
        resolved.add(found)
    return [c for c in reader.connections if c.topic in resolved]


def message_class(msgtype: str) -> Any:
    """The rclpy class of ``pkg/msg/Name``; raises :class:`BagError` when it is not installed."""
    pkg, _, name = msgtype.partition("/msg/")
    if not name:
        raise BagError(f"message type {msgtype!r} is not of the form package/msg/Name")
    try:
        return getattr(importlib.import_module(f"{pkg}.msg"), name)
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype} is not available to rclpy here (install the {pkg} messages)") from None


def _ros1_converter(reader: Any, msgtype: str) -> Callable[[bytes], bytes]:
    """ROS 1 bytes -> ROS 2 CDR bytes of the Kilted definition (drops Header.seq and the like)."""
    from rosbags.convert.converter import generate_message_converter
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    if msgtype not in store.types:
        raise BagError(f"message type {msgtype} from a ROS 1 bag has no ROS 2 equivalent to convert to")
    # rosbags prints a note when a type needs migrating; keep stdout for the summary line.
    with contextlib.redirect_stdout(sys.stderr):
        convert = generate_message_converter(reader.typestore, store, msgtype, msgtype, {}, src_is2=False, dst_is2=True)
    return lambda raw: bytes(convert(raw))


def _qos_for(connection: Any) -> Any:
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    # Reliable serves reliable and best-effort subscribers alike; latched topics stay latched.
    latched = any(
        getattr(getattr(q, "durability", None), "name", "") == "TRANSIENT_LOCAL"
        for q in getattr(connection.ext, "offered_qos_profiles", []) or []
    ) or bool(getattr(connection.ext, "latching", 0))
    return QoSProfile(
        depth=10,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


@contextlib.contextmanager
def _ros_node(context: Any | None) -> Iterator[Any]:
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    own = context is None
    if own:
        from rclpy.context import Context

        configure_dds()
        context = Context()
        # No rclpy signal handlers: Ctrl-C must reach us as KeyboardInterrupt to print how far we got.
        rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("thermal_synth_replay", context=context)
    try:
        yield node
    finally:
        if own:  # destroying our own context's last node destroys its participant
            with teardown_watchdog():
                node.destroy_node()
                rclpy.try_shutdown(context=context)
        else:
            node.destroy_node()


def replay(
    bag: str | Path,
    *,
    rate: float = 1.0,
    loop: bool = False,
    clock: bool = False,
    topics: Sequence[str] | None = None,
    delay: float = 3.0,
    context: Any | None = None,
    stop: threading.Event | None = None,
    show_progress: bool | None = None,
    publishers: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Publish ``bag`` in real time (times ``rate``); see the module docstring.

    Before the first message, it waits up to ``delay`` seconds for every topic
    to have a subscriber (discovery is not instant), and at the end for reliable
    subscribers to acknowledge what was sent. ``context``: an initialised rclpy
    Context to use (default: a fresh one, the package's Fast DDS transports unless set).
    ``stop`` ends the replay early (as Ctrl-C does). ``publishers`` (topic -> rclpy
    publisher of ``context``) are used instead of new ones for their topics: a
    caller that has already seen its subscribers answer on them loses no message
    to discovery (see ``thermal_synth_ros.demo``). Raises :class:`BagError`
    for a missing, unreadable or truncated bag, or an unknown topic.
    """
    if rate <= 0:
        raise BagError(f"--rate must be > 0, got {rate}")
    reader = open_bag(bag)
    result = ReplayResult()
    try:
        connections = select_topics(reader, topics)
        explicit = bool(topics)
        with _ros_node(context) as node:
            given = dict(publishers or {})
            publishers = {}
            converters: dict[int, Callable[[bytes], bytes]] = {}
            for conn in connections:
                if conn.topic in publishers:
                    continue
                try:
                    cls = message_class(conn.msgtype)
                    if not reader.is2:
                        converters[conn.id] = _ros1_converter(reader, conn.msgtype)
                except BagError as exc:
                    if explicit:
                        raise
                    log.warning("skipping %s: %s", conn.topic, exc)
                    result.skipped.append(conn.topic)
                    continue
                publishers[conn.topic] = given.get(conn.topic) or node.create_publisher(cls, conn.topic, _qos_for(conn))
            for conn in connections:  # a topic recorded by several connections converts each
                if not reader.is2 and conn.topic in publishers and conn.id not in converters:
                    converters[conn.id] = _ros1_converter(reader, conn.msgtype)
            if not publishers:
                raise BagError(f"nothing to replay: no supported topics among {_describe(list_topics(reader))}")
            result.topics = sorted(publishers)
            used = [c for c in connections if c.topic in publishers]
            total = sum(int(c.msgcount) for c in used)
            if total == 0:
                raise BagError(f"the selected topics have no messages: {_describe(list_topics(reader))}")

            clock_pub = None
            if clock:
                from rclpy.qos import QoSProfile, ReliabilityPolicy
                from rosgraph_msgs.msg import Clock

                clock_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
                clock_pub = node.create_publisher(Clock, "/clock", clock_qos)
            player = _Player(reader, used, publishers, converters, clock_pub, total)
            stop = stop or threading.Event()
            # /clock too: a use_sim_time node whose clock subscription matched late would stamp in the wrong time.
            waited = [*publishers.values(), *([clock_pub] if clock_pub is not None else [])]
            _wait_for_subscribers(node, waited, delay, stop)
            start = time.monotonic()
            try:
                while not stop.is_set():
                    player.play_once(rate, stop, result, show_progress)
                    result.loops += 1
                    if not loop:
                        break
            except KeyboardInterrupt:
                result.interrupted = True
            result.interrupted = result.interrupted or stop.is_set()
            result.seconds = time.monotonic() - start
            if not result.interrupted:
                _wait_for_delivery(publishers.values())
    finally:
        reader.close()
    return result


@dataclass
class _Player:
    """The publishing side of a replay: publishers per topic, converters per connection, /clock."""

    reader: Any
    connections: list[Any]
    publishers: dict[str, Any]
    converters: dict[int, Callable[[bytes], bytes]]
    clock_pub: Any | None
    total: int

    def play_once(self, rate: float, stop: threading.Event, result: ReplayResult, show: bool | None) -> None:
        """One pass over the bag, paced by recording time; stops early when ``stop`` is set."""
        t0: int | None = None
        wall0 = time.monotonic()
        done = 0
        messages = self.reader.messages(connections=self.connections)
        hide = None if show is None else not show
        try:
            for conn, t_ns, raw in progress(messages, total=self.total, desc="replay", unit="msg", disable=hide):
                if t0 is None:
                    t0 = t_ns
                due = wall0 + (t_ns - t0) / 1e9 / rate
                while True:  # wait for the message's time, keeping /clock ticking meanwhile
                    now = time.monotonic()
                    if self.clock_pub is not None:
                        _publish_clock(self.clock_pub, t0 + round((min(now, due) - wall0) * rate * 1e9))
                    if now >= due or stop.is_set():
                        break
                    stop.wait(min(due - now, 1.0 / CLOCK_HZ))
                if stop.is_set():
                    return
                convert = self.converters.get(conn.id)
                self.publishers[conn.topic].publish(convert(raw) if convert else bytes(raw))
                result.published += 1
                done += 1
        except (BagError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a truncated or corrupt bag fails part-way through
            raise BagError(
                f"the bag ended early or is corrupt after {done} of {self.total} messages "
                f"({result.published} published in all): {exc}"
            ) from None


def _wait_for_subscribers(node: Any, publishers: Any, delay: float, stop: threading.Event) -> None:
    """Wait until every subscriber the ROS graph knows of has matched each topic, or ``delay`` seconds.

    Discovery of a new participant took 1.5-3 s with Fast DDS's LARGE_DATA
    transports here (tens of ms with the defaults). A subscriber in this very
    process matches at once, so "one subscriber" is not enough: the publisher
    must see as many subscriptions as the graph lists for its topic.
    """
    pubs = list(publishers)
    start = time.monotonic()

    def ready(pub: Any) -> bool:
        matched = pub.get_subscription_count()
        return bool(matched > 0 and matched >= node.count_subscribers(pub.topic_name))

    while time.monotonic() - start < delay and not stop.is_set():
        if all(ready(p) for p in pubs):
            # The publisher sees the match before the subscriber does, and a volatile
            # subscriber drops what was sent before its side matched: give it time.
            stop.wait(MATCH_SETTLE_S)
            break
        stop.wait(0.05)
    matched = {p.topic_name: p.get_subscription_count() for p in pubs}
    log.info("subscribers after %.1f s: %s", time.monotonic() - start, matched)
    for pub in pubs:
        if not pub.get_subscription_count() and node.count_subscribers(pub.topic_name):
            log.warning("%s", publisher_link(node, pub))  # a one-sided match: its messages go nowhere


def _wait_for_delivery(publishers: Any, timeout: float = ACK_TIMEOUT_S) -> None:
    """Let reliable subscribers acknowledge the last messages before the process (and its writers) go away."""
    from rclpy.duration import Duration

    deadline = time.monotonic() + timeout
    for pub in publishers:
        left = max(0.0, deadline - time.monotonic())
        if not pub.wait_for_all_acked(Duration(nanoseconds=round(left * 1e9))):
            log.warning("%s: subscribers did not acknowledge the last messages within %.0f s", pub.topic_name, timeout)


def _publish_clock(pub: Any, t_ns: int) -> None:
    from rosgraph_msgs.msg import Clock

    msg = Clock()
    msg.clock.sec, msg.clock.nanosec = divmod(int(t_ns), 1_000_000_000)
    pub.publish(msg)
