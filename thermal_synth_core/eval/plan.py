"""The first pass over a bag: header stamps of the evaluated topics, and which frames pair with which.

Only the stamps are read (from the first bytes of each message, see
:meth:`BagSource.header_stamp_ns`), so this pass costs little more than reading
the bag. Pairing uses :func:`thermal_synth_core.sync.pair_nearest`, the rule the
node uses live: each RGB frame takes the real frame of nearest header stamp
within the slop, and each real frame is scored once (by the RGB frame nearest to
it), so a faster RGB camera does not count some real frames twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from thermal_synth_core.eval.bag import BagReadError, BagSource
from thermal_synth_core.sync import Pair, pair_nearest, seconds_to_ns
from thermal_synth_core.ui import progress

__all__ = ["FramePlan", "TopicScan", "make_plan", "scan"]

#: With --max-frames, how far past the last RGB frame (log time) the scan still looks for its partners.
LOOKAHEAD_S: Final = 2.0


@dataclass
class TopicScan:
    """Recording times and header stamps of one topic's messages, in recording order."""

    topic: str
    msgtype: str
    log_ns: list[int] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.stamps)


@dataclass
class FramePlan:
    """Which RGB frames are evaluated and the real thermal frame and mask each is compared with."""

    rgb: TopicScan
    thermal: TopicScan | None
    mask: TopicScan | None
    frames: list[int]
    """Indices (into ``rgb``) of the RGB frames to synthesize, in recording order."""
    thermal_for: dict[int, Pair]
    """RGB index -> pair (``b`` indexes ``thermal``)."""
    mask_for: dict[int, Pair]
    """RGB index -> pair (``b`` indexes ``mask``)."""
    slop: float
    scan_error: BagReadError | None = None
    """Set when the bag broke during the scan: the plan covers what came before."""

    def thermal_users(self) -> dict[int, int]:
        """How many planned RGB frames use each thermal index."""
        users: dict[int, int] = {}
        for pair in self.thermal_for.values():
            users[pair.b] = users.get(pair.b, 0) + 1
        return users

    def mask_users(self) -> dict[int, int]:
        """How many planned RGB frames use each mask index."""
        users: dict[int, int] = {}
        for pair in self.mask_for.values():
            users[pair.b] = users.get(pair.b, 0) + 1
        return users


def scan(
    source: BagSource,
    rgb: tuple[str, str],
    others: list[tuple[str, str]],
    max_frames: int | None = None,
    *,
    show_progress: bool | None = None,
) -> tuple[dict[str, TopicScan], BagReadError | None]:
    """Stamps of the ``(topic, msgtype)`` topics; stops once ``max_frames`` RGB frames and their partners are in."""
    scans = {name: TopicScan(name, msgtype) for name, msgtype in [rgb, *others]}
    rgb_scan = scans[rgb[0]]
    total = sum(t.count for t in source.topics() if t.name in scans)
    horizon: int | None = None
    hide = None if show_progress is None else not show_progress
    try:
        for record in progress(source.records(list(scans)), total=total, desc="scan", unit="msg", disable=hide):
            if horizon is not None and record.log_ns > horizon:
                break
            entry = scans[record.topic]
            entry.log_ns.append(record.log_ns)
            entry.stamps.append(source.header_stamp_ns(record))
            if entry is rgb_scan and max_frames is not None and len(rgb_scan) == max_frames:
                horizon = record.log_ns + seconds_to_ns(LOOKAHEAD_S)
    except BagReadError as exc:
        return scans, exc
    return scans, None


def make_plan(
    scans: dict[str, TopicScan],
    rgb_topic: str,
    *,
    thermal_topic: str | None,
    mask_topic: str | None,
    slop: float,
    max_frames: int | None = None,
    scan_error: BagReadError | None = None,
) -> FramePlan:
    """Pair the scanned RGB frames with real thermal frames and masks by nearest header stamp."""
    rgb = scans[rgb_topic]
    frames = list(range(len(rgb) if max_frames is None else min(len(rgb), max_frames)))
    stamps = [rgb.stamps[i] for i in frames]
    thermal = scans.get(thermal_topic) if thermal_topic else None
    mask = scans.get(mask_topic) if mask_topic else None

    def pairs(other: TopicScan | None) -> dict[int, Pair]:
        if other is None or not len(other):
            return {}
        return {
            frames[p.a]: Pair(frames[p.a], p.b, p.dt_ns) for p in pair_nearest(stamps, other.stamps, slop, unique=True)
        }

    return FramePlan(rgb, thermal, mask, frames, pairs(thermal), pairs(mask), slop, scan_error)
