"""Publish a recorded bag onto live ROS 2 topics (``thermal-synth replay``), for machines without ``ros2 bag``.

Reads rosbag2 (sqlite3 and mcap) and ROS 1 bags with the project's one bag
reader, :class:`~thermal_synth_core.bagreader.BagSource` (the one ``evaluate``
uses: same bags accepted, same errors for bad ones). rosbag2
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
from typing import Any, TypeAlias

from rosbags.convert.converter import generate_message_converter
from rosbags.typesys import get_typestore

from thermal_synth_core.bagreader import FALLBACK_STORE, BagReadError, BagSource, describe_topics
from thermal_synth_core.errors import BagError
from thermal_synth_core.ui import progress
from thermal_synth_ros.dds import configure_dds, teardown_watchdog
from thermal_synth_ros.link import publisher_link

__all__ = ["ReplayResult", "message_class", "open_bag", "replay", "select_topics"]

log = logging.getLogger(__name__)

#: How often /clock is published while waiting for the next message (ros2 bag play's default is 40 Hz).
CLOCK_HZ = 40.0
#: Extra wait after every topic has a subscriber, for the subscribers' side of discovery.
MATCH_SETTLE_S = 0.5
#: How long the end of a replay waits for reliable subscribers to acknowledge the last messages.
ACK_TIMEOUT_S = 5.0

#: Topic -> rclpy publisher (rclpy's classes are untyped; not a document).
Publishers: TypeAlias = dict[str, Any]


@dataclass
class ReplayResult:
    """What a replay did, for the summary line and for callers."""

    published: int = 0
    loops: int = 0
    seconds: float = 0.0
    topics: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False


def open_bag(path: str | Path) -> BagSource:
    """The bag at ``path``, opened by the project's one reader; raises :class:`BagError` in the user's terms."""
    return BagSource(path)


def select_topics(source: BagSource, wanted: Sequence[str] | None) -> list[Any]:
    """The bag connections of ``wanted`` topics (all when None); an unknown topic lists what is there."""
    if not wanted:
        return source.connections()
    resolved: set[str] = set()
    for topic in wanted:
        found = source.find(topic)
        if found is None:
            raise BagError(f"topic {topic} is not in the bag; it has: {describe_topics(source.topics())}")
        resolved.add(found.name)
    return source.connections(sorted(resolved))


def message_class(msgtype: str) -> Any:
    """The rclpy class of ``pkg/msg/Name``; raises :class:`BagError` when it is not installed."""
    pkg, _, name = msgtype.partition("/msg/")
    if not name:
        raise BagError(f"message type {msgtype!r} is not of the form package/msg/Name")
    try:
        return getattr(importlib.import_module(f"{pkg}.msg"), name)
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype} is not available to rclpy here (install the {pkg} messages)") from None


def _ros1_converter(source: BagSource, msgtype: str) -> Callable[[bytes], bytes]:
    """ROS 1 bytes -> ROS 2 CDR bytes of the Kilted definition (drops Header.seq and the like)."""
    store = get_typestore(FALLBACK_STORE)
    if msgtype not in store.types:
        raise BagError(f"message type {msgtype} from a ROS 1 bag has no ROS 2 equivalent to convert to")
    # rosbags prints a note when a type needs migrating; keep stdout for the summary line.
    with contextlib.redirect_stdout(sys.stderr):
        convert = generate_message_converter(source.typestore, store, msgtype, msgtype, {}, src_is2=False, dst_is2=True)
    return lambda raw: bytes(convert(raw))


def _qos_for(connection: Any) -> Any:
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: PLC0415  # ROS 2: publishing only

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
    import rclpy  # noqa: PLC0415  # ROS 2: publishing only
    from rclpy.signals import SignalHandlerOptions  # noqa: PLC0415  # ROS 2: publishing only

    own = context is None
    if own:
        from rclpy.context import Context  # noqa: PLC0415  # ROS 2: publishing only

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


def _publishers(
    node: Any, source: BagSource, connections: list[Any], given: Publishers, *, result: ReplayResult, explicit: bool
) -> tuple[Publishers, dict[int, Callable[[bytes], bytes]]]:
    """A publisher per topic (``given`` ones first) and, for ROS 1 bags, a converter per connection.

    A topic whose type rclpy lacks is skipped (and listed in ``result.skipped``),
    or refused when the topics were asked for by name (``explicit``).
    """
    publishers: Publishers = {}
    converters: dict[int, Callable[[bytes], bytes]] = {}
    for conn in connections:
        if conn.topic in publishers:
            continue
        try:
            cls = message_class(conn.msgtype)
            if not source.is2:
                converters[conn.id] = _ros1_converter(source, conn.msgtype)
        except BagError as exc:
            if explicit:
                raise
            log.warning("skipping %s: %s", conn.topic, exc)
            result.skipped.append(conn.topic)
            continue
        publishers[conn.topic] = given.get(conn.topic) or node.create_publisher(cls, conn.topic, _qos_for(conn))
    for conn in connections:  # a topic recorded by several connections converts each
        if not source.is2 and conn.topic in publishers and conn.id not in converters:
            converters[conn.id] = _ros1_converter(source, conn.msgtype)
    if not publishers:
        raise BagError(f"nothing to replay: no supported topics among {describe_topics(source.topics())}")
    return publishers, converters


def _clock_publisher(node: Any) -> Any:
    """A reliable ``/clock`` publisher on ``node``."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: PLC0415  # ROS 2: publishing only
    from rosgraph_msgs.msg import Clock  # noqa: PLC0415  # ROS 2: publishing only

    return node.create_publisher(Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))


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
    source = open_bag(bag)
    result = ReplayResult()
    try:
        connections = select_topics(source, topics)
        with _ros_node(context) as node:
            given = dict(publishers or {})
            publishers, converters = _publishers(node, source, connections, given, result=result, explicit=bool(topics))
            result.topics = sorted(publishers)
            used = [c for c in connections if c.topic in publishers]
            total = sum(int(c.msgcount) for c in used)
            if total == 0:
                raise BagError(f"the selected topics have no messages: {describe_topics(source.topics())}")
            clock_pub = _clock_publisher(node) if clock else None
            player = _Player(source, used, publishers, converters, clock_pub, total)
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
        source.close()
    return result


@dataclass
class _Player:
    """The publishing side of a replay: publishers per topic, converters per connection, /clock."""

    source: BagSource
    connections: list[Any]
    publishers: Publishers
    converters: dict[int, Callable[[bytes], bytes]]
    clock_pub: Any | None
    total: int

    def play_once(self, rate: float, stop: threading.Event, result: ReplayResult, show: bool | None) -> None:
        """One pass over the bag, paced by recording time; stops early when ``stop`` is set."""
        t0: int | None = None
        wall0 = time.monotonic()
        done = 0
        records = self.source.records(connections=self.connections)
        hide = None if show is None else not show
        try:
            for record in progress(records, total=self.total, desc="replay", unit="msg", disable=hide):
                t_ns = record.log_ns
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
                convert = self.converters.get(record.connection.id)
                self.publishers[record.topic].publish(convert(record.raw) if convert else bytes(record.raw))
                result.published += 1
                done += 1
        except BagReadError as exc:  # the storage broke part-way: the reader says how far it got
            raise exc.with_note(f"{result.published} published in all") from None
        except (BagError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a damaged message that its ROS 1 conversion cannot read
            error = BagReadError.part_way(self.source.path, done, self.total, exc)
            raise error.with_note(f"{result.published} published in all") from None


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
    from rclpy.duration import Duration  # noqa: PLC0415  # ROS 2: publishing only

    deadline = time.monotonic() + timeout
    for pub in publishers:
        left = max(0.0, deadline - time.monotonic())
        if not pub.wait_for_all_acked(Duration(nanoseconds=round(left * 1e9))):
            log.warning("%s: subscribers did not acknowledge the last messages within %.0f s", pub.topic_name, timeout)


def _publish_clock(pub: Any, t_ns: int) -> None:
    from rosgraph_msgs.msg import Clock  # noqa: PLC0415  # ROS 2: publishing only

    msg = Clock()
    msg.clock.sec, msg.clock.nanosec = divmod(int(t_ns), 1_000_000_000)
    pub.publish(msg)
