"""LinkMonitor: each way an input can go quiet is told apart and says what to check."""

from __future__ import annotations

import pytest

from thermal_synth_ros.link import LinkMonitor


def _monitor(required: bool = True) -> LinkMonitor:
    return LinkMonitor(
        "/cam/image", stall_after_s=5.0, transports="thermal-synth profile", domain_id=7, required=required, now=100.0
    )


def test_start_up_gets_the_stall_time_then_no_publisher_is_reported_with_what_to_check() -> None:
    link = _monitor()
    assert link.update(now=104.9, received=0, visible=0, matched=0).state == "waiting"
    status = link.update(now=105.0, received=0, visible=0, matched=0)
    assert status.state == "no publisher"
    assert not status.ok
    assert "ROS_DOMAIN_ID=7" in status.problem
    assert "thermal-synth profile" in status.problem
    assert "/cam/image" in status.problem
    assert "LARGE_DATA" in status.problem  # the classic one-sided transport choice


def test_visible_but_unmatched_and_matched_but_silent_are_different_problems() -> None:
    link = _monitor()
    status = link.update(now=106.0, received=0, visible=2, matched=0)
    assert status.state == "not matched"
    assert "QoS or message type" in status.problem
    assert "2 publisher(s)" in status.problem
    status = link.update(now=106.0, received=0, visible=1, matched=1)
    assert status.state == "stalled"
    assert "1 publisher(s) are matched" in status.problem
    assert "ros2 topic hz /cam/image" in status.problem
    # Nothing ever arrived: it is not said to have stopped (a camera matched but not yet publishing).
    assert "since start-up" in status.problem and "has not published yet" in status.problem


def test_frames_reset_the_clock_and_a_later_silence_is_measured_from_the_last_frame() -> None:
    link = _monitor()
    assert link.update(now=103.0, received=4, visible=1, matched=1).state == "ok"
    assert link.update(now=107.9, received=4, visible=1, matched=1).ok
    status = link.update(now=108.0, received=4, visible=1, matched=1)
    assert status.state == "stalled"
    assert status.silent_s == pytest.approx(5.0)
    assert "for 5 s" in status.problem
    assert "stopped publishing" in status.problem and "since start-up" not in status.problem
    assert link.update(now=108.1, received=5, visible=1, matched=1).state == "ok"


def test_an_optional_input_without_publishers_is_not_a_problem() -> None:
    link = _monitor(required=False)
    assert link.update(now=200.0, received=0, visible=0, matched=0).ok
    assert link.update(now=200.0, received=0, visible=1, matched=1).state == "stalled"


def test_the_stall_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="stall_after_s must be positive"):
        LinkMonitor("/x", stall_after_s=0.0, transports="", domain_id=0, required=True, now=0.0)
