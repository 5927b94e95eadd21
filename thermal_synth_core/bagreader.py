"""The one rosbag reader: rosbag2 (sqlite3, mcap) and ROS 1 bags through ``rosbags``, no ROS install.

``evaluate`` (:mod:`thermal_synth_core.eval`), ``replay`` and ``demo``
(:mod:`thermal_synth_ros`) all open bags with :class:`BagSource`, so they accept
the same bags and refuse the same ones with the same words. It opens a bag
(rosbag2 bags recorded without message definitions, as before Jazzy, fall back
to the Kilted types), lists its topics, finds a topic with or without its leading
``/``, scans header stamps cheaply (the ``std_msgs/Header`` is the first field of
``sensor_msgs/Image`` and ``CompressedImage``, so its stamp sits at a fixed
offset of the serialised bytes and nothing else needs decoding), and iterates
messages in recording order. Every failure is a
:class:`~thermal_synth_core.errors.BagError` in the user's terms; a bag that
breaks part-way raises :class:`BagReadError`, which says how many messages were
read first so callers can keep what they computed.
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypedDict

from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from thermal_synth_core.errors import BagError

__all__ = [
    "FALLBACK_STORE",
    "BagReadError",
    "BagSource",
    "Record",
    "TopicDoc",
    "TopicInfo",
    "describe_topics",
]

#: The message types of bags that carry no definitions of their own (rosbag2 before Jazzy).
FALLBACK_STORE: Final = Stores.ROS2_KILTED

_STAMP = struct.Struct("<iI")  # builtin_interfaces/Time: int32 sec, uint32 nanosec (ROS 1: two uint32)
_STAMP_BE = struct.Struct(">iI")


class BagReadError(BagError):
    """The bag broke part-way: ``done`` messages of ``total`` were read before ``cause``."""

    def __init__(self, message: str, done: int, total: int, cause: str) -> None:
        super().__init__(message)
        self.done = done
        self.total = total
        self.cause = cause

    @classmethod
    def part_way(cls, path: Path, done: int, total: int, cause: object) -> BagReadError:
        """The error for a bag at ``path`` that failed with ``cause`` after ``done`` of ``total`` messages."""
        return cls(
            f"the bag {path} ended early or is corrupt after {done} of {total} messages: {cause}",
            done,
            total,
            str(cause),
        )

    def with_note(self, note: str) -> BagReadError:
        """The same error with ``note`` appended to its message in parentheses."""
        return BagReadError(f"{self} ({note})", self.done, self.total, self.cause)


class TopicDoc(TypedDict):
    """A topic as metrics.json lists it."""

    name: str
    type: str
    count: int


@dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag: name, message type and message count."""

    name: str
    msgtype: str
    count: int

    def __str__(self) -> str:
        return f"{self.name} ({self.msgtype}, {self.count} msgs)"

    def to_dict(self) -> TopicDoc:
        """Plain values for metrics.json."""
        return {"name": self.name, "type": self.msgtype, "count": self.count}


@dataclass(frozen=True)
class Record:
    """One message read from the bag: topic, recording (log) time, connection and raw bytes."""

    topic: str
    log_ns: int
    connection: Any  # a rosbags Connection (untyped upstream)
    raw: bytes


def describe_topics(topics: Sequence[TopicInfo]) -> str:
    """Topics as one line for error messages."""
    return "; ".join(str(t) for t in topics) or "(none)"


class BagSource:
    """An opened bag; use as a context manager (or call :meth:`close`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist")
        self.storage = _storage_of(self.path)
        default = get_typestore(FALLBACK_STORE)
        try:
            # rosbags prints notes on types it migrates; stdout is for the summary line.
            with contextlib.redirect_stdout(io.StringIO()):
                self.reader: Any = AnyReader([self.path], default_typestore=default)
                self.reader.open()
        except Exception as exc:  # rosbags raises several unrelated types for unreadable input
            raise BagError(
                f"{self.path} is not a readable bag (expected a rosbag2 folder, a .mcap or .db3 file, or a ROS 1 "
                f".bag; a truncated or corrupt bag also ends here, as its index or metadata is missing): {exc}"
            ) from None
        self.is2: bool = bool(self.reader.is2)

    # -- context management ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the underlying reader."""
        with contextlib.suppress(Exception):
            self.reader.close()

    def __enter__(self) -> BagSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- what is in it ---------------------------------------------------------------------------------

    @property
    def typestore(self) -> Any:
        """The rosbags typestore of the bag's message types (untyped upstream)."""
        return self.reader.typestore

    def topics(self) -> list[TopicInfo]:
        """Every topic, sorted by name."""
        return [
            TopicInfo(name, info.msgtype or "?", int(info.msgcount))
            for name, info in sorted(self.reader.topics.items())
        ]

    @property
    def start_ns(self) -> int:
        """Log time of the first message (0 for an empty bag)."""
        return int(self.reader.start_time) if self.message_count else 0

    @property
    def end_ns(self) -> int:
        """Log time of the last message (0 for an empty bag)."""
        return int(self.reader.end_time) if self.message_count else 0

    @property
    def message_count(self) -> int:
        """Messages in the bag, all topics."""
        return sum(t.count for t in self.topics())

    def find(self, topic: str) -> TopicInfo | None:
        """The topic named ``topic`` (the leading ``/`` is optional), or None."""
        by_name = {t.name: t for t in self.topics()}
        for candidate in (topic, f"/{topic.lstrip('/')}"):
            if candidate in by_name:
                return by_name[candidate]
        return None

    def require(self, topic: str, role: str, types: Sequence[str]) -> TopicInfo:
        """The topic for ``role`` (e.g. "RGB"), checked to exist, to be of one of ``types`` and non-empty."""
        info = self.find(topic)
        if info is None:
            raise BagError(
                f"{role} topic {topic} is not in the bag {self.path}; it has: {describe_topics(self.topics())}"
            )
        if info.msgtype not in types:
            raise BagError(
                f"{role} topic {info.name} carries {info.msgtype}, which evaluate cannot read as {role}; "
                f"it must be {' or '.join(types)}"
            )
        if info.count == 0:
            raise BagError(f"{role} topic {info.name} has no messages in {self.path}")
        return info

    def connections(self, topics: Sequence[str] | None = None) -> list[Any]:
        """The rosbags connections of ``topics`` (all when None)."""
        if topics is None:
            return list(self.reader.connections)
        wanted = set(topics)
        return [c for c in self.reader.connections if c.topic in wanted]

    # -- reading -------------------------------------------------------------------------------------

    def records(
        self, topics: Sequence[str] | None = None, *, connections: Sequence[Any] | None = None
    ) -> Generator[Record, None, None]:
        """Raw messages of ``topics`` (all when None), or of exactly ``connections``, in recording order.

        Raises :class:`BagReadError` when the storage fails part-way (a damaged
        page, a cut-off chunk), saying how many messages came before.
        """
        conns = list(connections) if connections is not None else self.connections(topics)
        total = sum(int(c.msgcount) for c in conns)
        done = 0
        try:
            for conn, log_ns, raw in self.reader.messages(connections=conns):
                yield Record(conn.topic, int(log_ns), conn, raw)
                done += 1
        except GeneratorExit:
            raise
        except Exception as exc:  # sqlite3, mcap and rosbags errors alike: the bag is damaged here
            raise BagReadError.part_way(self.path, done, total, exc) from None

    def deserialize(self, record: Record) -> Any:
        """The message object of ``record`` (ROS 1 messages come with their own, similar, types)."""
        return self.reader.deserialize(record.raw, record.connection.msgtype)

    def first_frame_id(self, topic: str) -> str:
        """The header ``frame_id`` of the first message on ``topic`` ("" when it cannot be read)."""
        records = self.records([topic])
        try:
            return str(self.deserialize(next(records)).header.frame_id)
        except Exception:  # no message, a damaged bag or an undecodable message: the frames say so later
            return ""
        finally:
            records.close()

    def header_stamp_ns(self, record: Record) -> int:
        """Header stamp of an Image/CompressedImage record, read from its first bytes without decoding it."""
        raw = record.raw
        try:
            if self.is2:
                # CDR: 4-byte encapsulation header (byte 1: 0 big-endian, 1 little-endian), then the Header.
                layout = _STAMP if raw[1] & 1 else _STAMP_BE
                sec, nsec = layout.unpack_from(raw, 4)
            else:
                # ROS 1: Header is uint32 seq, then time (uint32 secs, uint32 nsecs), little-endian.
                sec, nsec = struct.unpack_from("<II", raw, 4)
        except (struct.error, IndexError):
            raise BagError(f"a message on {record.topic} is too short to hold a header ({len(raw)} bytes)") from None
        return int(sec) * 1_000_000_000 + int(nsec)


def _storage_of(path: Path) -> str:
    """``sqlite3``, ``mcap`` or ``ros1`` from the path (a rosbag2 folder says so in its files)."""
    if path.is_file():
        return {".bag": "ros1", ".mcap": "mcap", ".db3": "sqlite3"}.get(path.suffix, path.suffix.lstrip(".") or "?")
    suffixes = {p.suffix for p in path.iterdir()} if path.is_dir() else set()
    if ".mcap" in suffixes:
        return "mcap"
    if ".db3" in suffixes:
        return "sqlite3"
    return "?"
