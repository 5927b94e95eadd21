"""The one-frame mailbox: newest wins, replaced frames are counted, close wakes the worker."""

from __future__ import annotations

import threading
import time

from thermal_synth_ros.latest import LatestSlot


def test_newest_item_wins_and_replacements_are_counted() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.get(timeout=0) == 3
    assert slot.dropped == 2
    assert slot.get(timeout=0.01) is None


def test_get_waits_for_a_producer_and_close_wakes_it() -> None:
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    assert slot.get(timeout=5) == "frame"
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(slot.get(timeout=30)))
    waiter.start()
    time.sleep(0.05)
    slot.close()
    waiter.join(timeout=5)
    assert got == [None]
    slot.put("late")
    assert slot.get(timeout=0) is None


def test_a_fast_producer_never_builds_a_backlog() -> None:
    slot: LatestSlot[int] = LatestSlot()
    taken: list[int] = []
    stop = threading.Event()

    def consumer() -> None:
        while not stop.is_set():
            item = slot.get(timeout=0.05)
            if item is not None:
                taken.append(item)
                time.sleep(0.01)  # a slow model

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(2000):
        slot.put(i)
    time.sleep(0.05)
    stop.set()
    t.join()
    assert taken == sorted(taken)
    assert taken[-1] == 1999
    assert slot.dropped + len(taken) == 2000
