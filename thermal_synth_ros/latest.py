"""A one-frame mailbox between the subscription callback and the synthesis worker.

The camera callback only drops the newest message in; the worker takes whatever
is newest when it is ready. A frame replaced before the worker took it is
counted as dropped, so when the model is slower than the camera the node skips
frames instead of queueing them, and latency never grows.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["LatestSlot"]

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item: :meth:`put` replaces it, :meth:`get` waits for it and takes it."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._dropped = 0
        self._cond = threading.Condition()

    @property
    def dropped(self) -> int:
        """Items replaced before anyone took them."""
        with self._cond:
            return self._dropped

    def put(self, item: T) -> bool:
        """Store ``item``, replacing (and counting) an untaken one; returns True when one was dropped.

        Ignored once the slot is closed (the node is shutting down).
        """
        with self._cond:
            if self._closed:
                return False
            replaced = self._full
            if replaced:
                self._dropped += 1
            self._item, self._full = item, True
            self._cond.notify()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """Take the item, waiting up to ``timeout`` seconds; None on timeout or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """Wake every waiter; later :meth:`get` calls return None at once and :meth:`put` is ignored."""
        with self._cond:
            self._closed = True
            self._item, self._full = None, False
            self._cond.notify_all()
