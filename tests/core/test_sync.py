"""Nearest-stamp pairing: the vectorised pairing agrees with a brute-force reference."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thermal_synth_core.sync import Pair, StampBuffer, pair_nearest, seconds_to_ns

MS = 1_000_000


def _reference(a: list[int], b: list[int], slop_ns: int) -> list[Pair]:
    pairs = []
    for i, t in enumerate(a):
        # nearest b; on equal distance the earlier stamp, then the lower index
        candidates = sorted(range(len(b)), key=lambda j: (abs(b[j] - t), b[j], j))
        if candidates and abs(b[candidates[0]] - t) <= slop_ns:
            j = candidates[0]
            pairs.append(Pair(i, j, b[j] - t))
    return pairs


def test_pairs_rgb_at_30hz_with_thermal_at_9hz() -> None:
    rgb = [i * 33 * MS for i in range(30)]
    thermal = [5 * MS + i * 111 * MS for i in range(9)]
    pairs = pair_nearest(rgb, thermal, slop=0.02)
    assert pairs, "some frames must pair"
    for p in pairs:
        assert abs(thermal[p.b] - rgb[p.a]) <= 20 * MS
        assert p.dt_ns == thermal[p.b] - rgb[p.a]
    assert pairs == _reference(rgb, thermal, 20 * MS)


def test_unique_uses_each_target_once_with_its_nearest_source() -> None:
    a = [0, 10 * MS, 20 * MS]
    b = [12 * MS]
    assert pair_nearest(a, b, slop=0.05) == [Pair(0, 0, 12 * MS), Pair(1, 0, 2 * MS), Pair(2, 0, -8 * MS)]
    assert pair_nearest(a, b, slop=0.05, unique=True) == [Pair(1, 0, 2 * MS)]


def test_ties_pick_the_earlier_stamp() -> None:
    assert pair_nearest([10], [5, 15], slop=1.0) == [Pair(0, 0, -5)]


def test_unsorted_inputs_keep_their_indices() -> None:
    a = [30 * MS, 0, 10 * MS]
    b = [11 * MS, 29 * MS, 1 * MS]
    assert pair_nearest(a, b, slop=0.005) == [Pair(0, 1, -MS), Pair(1, 2, MS), Pair(2, 0, MS)]


@pytest.mark.parametrize(("a", "b"), [([], [1]), ([1], []), ([], [])])
def test_empty_streams_pair_nothing(a: list[int], b: list[int]) -> None:
    assert pair_nearest(a, b, slop=1.0) == []


def test_negative_slop_is_rejected() -> None:
    with pytest.raises(ValueError, match="slop must be >= 0"):
        pair_nearest([1], [1], slop=-0.1)


stamps = st.lists(st.integers(min_value=0, max_value=10**6), max_size=25)


@settings(max_examples=150, deadline=None)
@given(a=stamps, b=stamps, slop_ns=st.integers(min_value=0, max_value=3 * 10**5))
def test_matches_brute_force(a: list[int], b: list[int], slop_ns: int) -> None:
    assert pair_nearest(a, b, slop=slop_ns / 1e9) == _reference(a, b, slop_ns)


@settings(max_examples=100, deadline=None)
@given(a=stamps, b=stamps, slop_ns=st.integers(min_value=0, max_value=3 * 10**5))
def test_unique_pairs_are_a_subset_using_each_target_once(a: list[int], b: list[int], slop_ns: int) -> None:
    full = pair_nearest(a, b, slop=slop_ns / 1e9)
    uniq = pair_nearest(a, b, slop=slop_ns / 1e9, unique=True)
    assert set(uniq) <= set(full)
    assert len({p.b for p in uniq}) == len(uniq)
    assert {p.b for p in uniq} == {p.b for p in full}
    for p in uniq:  # no other source is strictly nearer to this target
        assert all(abs(q.dt_ns) >= abs(p.dt_ns) for q in full if q.b == p.b)


def test_buffer_finds_nearest_within_slop_and_agrees_with_pairing() -> None:
    buf: StampBuffer[str] = StampBuffer(maxlen=8)
    for t in (40, 10, 30, 20):  # out of order on purpose
        buf.add(t * MS, f"f{t}")
    assert buf.nearest(24 * MS, slop=0.005) == (20 * MS, "f20")
    assert buf.nearest(26 * MS, slop=0.005) == (30 * MS, "f30")
    assert buf.nearest(25 * MS, slop=0.005) == (20 * MS, "f20")  # tie -> earlier
    assert buf.nearest(100 * MS, slop=0.005) is None
    assert buf.latest_stamp() == 40 * MS


def test_buffer_is_bounded_and_evicts_the_oldest() -> None:
    buf: StampBuffer[int] = StampBuffer(maxlen=3)
    for t in range(10):
        buf.add(t, t)
    assert len(buf) == 3
    assert buf.nearest(6, slop=0.0) is None  # evicted
    assert buf.nearest(0, slop=1.0) == (7, 7)
    buf.add(9, 99)  # same stamp replaces
    assert buf.nearest(9, slop=0.0) == (9, 99)
    buf.clear()
    assert buf.nearest(9, slop=1.0) is None
    with pytest.raises(ValueError, match="maxlen"):
        StampBuffer(maxlen=0)


def test_buffer_is_thread_safe() -> None:
    buf: StampBuffer[int] = StampBuffer(maxlen=50)

    def writer(offset: int) -> None:
        for t in range(2000):
            buf.add(t * 2 + offset, t)

    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)]
    for th in threads:
        th.start()
    for _ in range(2000):
        buf.nearest(1000, slop=1.0)
    for th in threads:
        th.join()
    assert len(buf) == 50
    assert seconds_to_ns(0.5) == 500_000_000
