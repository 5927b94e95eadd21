"""Pair two timestamped streams (RGB and real thermal) by the nearest header stamp within a slop.

Cameras on a vehicle are rarely hardware-synchronised and often run at different
rates, so a frame of one stream is matched to the frame of the other whose stamp
is closest, provided the two are at most ``slop`` seconds apart. The same rule
serves the live node (:class:`StampBuffer`, fed as messages arrive) and offline
evaluation of recorded drives (:func:`pair_nearest`, on whole stamp arrays).
Stamps are integer nanoseconds; nothing here knows about ROS.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["Pair", "StampBuffer", "pair_nearest", "seconds_to_ns"]

T = TypeVar("T")


def seconds_to_ns(seconds: float) -> int:
    """Seconds (float) to integer nanoseconds, rounded."""
    return round(seconds * 1e9)


@dataclass(frozen=True)
class Pair:
    """One match: index into the first stream, index into the second, and their stamp difference."""

    a: int
    b: int
    dt_ns: int
    """``b_stamp - a_stamp`` in nanoseconds (positive when the second stream's frame is later)."""


def pair_nearest(
    a_stamps: Sequence[int] | npt.NDArray[np.int64],
    b_stamps: Sequence[int] | npt.NDArray[np.int64],
    slop: float,
    *,
    unique: bool = False,
) -> list[Pair]:
    """Match every stamp of ``a`` with the nearest stamp of ``b`` at most ``slop`` seconds away.

    Neither input needs to be sorted; indices refer to the inputs as given. When
    two ``b`` stamps are equally near, the earlier wins. With ``unique=True`` each
    ``b`` frame is used at most once, by the ``a`` frame nearest to it (use this
    when the first stream runs faster than the second and duplicated targets
    would over-weight some frames). Pairs are returned in ``a`` index order.
    """
    if slop < 0:
        raise ValueError(f"slop must be >= 0 seconds, got {slop}")
    a = np.asarray(a_stamps, dtype=np.int64).reshape(-1)
    b = np.asarray(b_stamps, dtype=np.int64).reshape(-1)
    if a.size == 0 or b.size == 0:
        return []
    order = np.argsort(b, kind="stable")
    b_sorted = b[order]
    right = np.searchsorted(b_sorted, a, side="left")
    left = np.clip(right - 1, 0, b.size - 1)
    left = np.searchsorted(b_sorted, b_sorted[left], side="left")  # first of equal stamps: lowest index
    right = np.clip(right, 0, b.size - 1)
    d_left = np.abs(a - b_sorted[left])
    d_right = np.abs(b_sorted[right] - a)
    pick = np.where(d_right < d_left, right, left)  # ties -> the earlier (left) stamp
    dist = np.minimum(d_left, d_right)
    ok = dist <= seconds_to_ns(slop)
    a_idx = np.nonzero(ok)[0]
    b_idx = order[pick[ok]]
    if unique and a_idx.size:
        # For each b keep the a nearest to it (earliest a on ties).
        rank = np.lexsort((a_idx, dist[ok], b_idx))
        first = np.ones(rank.size, dtype=bool)
        first[1:] = b_idx[rank][1:] != b_idx[rank][:-1]
        keep = np.sort(rank[first])
        a_idx, b_idx = a_idx[keep], b_idx[keep]
    return [Pair(int(i), int(j), int(b[j] - a[i])) for i, j in zip(a_idx, b_idx, strict=True)]


class StampBuffer(Generic[T]):
    """The most recent items of a stream keyed by stamp, for pairing as messages arrive.

    Holds at most ``maxlen`` items (the oldest stamps are evicted first), keeps
    them sorted even if messages arrive out of order, and is safe to use from a
    subscription callback thread and a worker thread at once.
    """

    def __init__(self, maxlen: int = 64) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        self._maxlen = maxlen
        self._stamps: list[int] = []
        self._items: list[T] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stamps)

    def add(self, stamp_ns: int, item: T) -> None:
        """Insert ``item`` at ``stamp_ns``; an item with the same stamp is replaced."""
        with self._lock:
            i = bisect.bisect_left(self._stamps, stamp_ns)
            if i < len(self._stamps) and self._stamps[i] == stamp_ns:
                self._items[i] = item
                return
            self._stamps.insert(i, stamp_ns)
            self._items.insert(i, item)
            if len(self._stamps) > self._maxlen:
                del self._stamps[0]
                del self._items[0]

    def nearest(self, stamp_ns: int, slop: float) -> tuple[int, T] | None:
        """The ``(stamp_ns, item)`` nearest to ``stamp_ns`` within ``slop`` seconds, or None."""
        limit = seconds_to_ns(slop)
        with self._lock:
            if not self._stamps:
                return None
            i = bisect.bisect_left(self._stamps, stamp_ns)
            best: int | None = None
            for j in (i - 1, i):  # the earlier neighbour first, so it wins ties
                if 0 <= j < len(self._stamps) and (
                    best is None or abs(self._stamps[j] - stamp_ns) < abs(self._stamps[best] - stamp_ns)
                ):
                    best = j
            assert best is not None
            if abs(self._stamps[best] - stamp_ns) > limit:
                return None
            return self._stamps[best], self._items[best]

    def latest_stamp(self) -> int | None:
        """The newest stamp held, or None when empty."""
        with self._lock:
            return self._stamps[-1] if self._stamps else None

    def clear(self) -> None:
        """Forget everything (e.g. when time jumps back during bag replay)."""
        with self._lock:
            self._stamps.clear()
            self._items.clear()
