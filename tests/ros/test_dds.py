"""One DDS transport rule for every process, the teardown watchdog, and clean-up after killed participants."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ChildProcesses
from tests.ros.fakes import wait_for
from thermal_synth_ros.dds import (
    PROFILE,
    PROFILE_VAR,
    configure_dds,
    describe_transports,
    domain_in_use,
    remove_stale_shm,
    transport_warning,
)


def test_the_shipped_profile_is_the_default_and_a_user_choice_wins() -> None:
    env: dict[str, str] = {}
    assert "thermal-synth profile" in configure_dds(env)
    assert env == {PROFILE_VAR: str(PROFILE)}
    assert PROFILE.is_file()
    assert "<segment_size>67108864</segment_size>" in PROFILE.read_text()

    chosen = {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
    assert configure_dds(chosen) == "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA"
    assert chosen == {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}  # nothing added beside it

    own = {PROFILE_VAR: "/etc/our_dds.xml"}
    assert configure_dds(own) == f"{PROFILE_VAR}=/etc/our_dds.xml"
    assert own == {PROFILE_VAR: "/etc/our_dds.xml"}

    empty = {"FASTDDS_BUILTIN_TRANSPORTS": ""}
    configure_dds(empty)
    assert empty == {PROFILE_VAR: str(PROFILE)}  # an empty choice is no choice
    assert describe_transports({}) == "Fast DDS defaults"


def test_large_data_with_a_localhost_discovery_range_is_called_out() -> None:
    assert transport_warning({"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}) is None
    assert transport_warning({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", PROFILE_VAR: str(PROFILE)}) is None
    for localhost in ({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}, {"ROS_LOCALHOST_ONLY": "1"}):
        warning = transport_warning({**localhost, "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"})
        assert warning is not None
        assert "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA has no effect" in warning
        assert "unset FASTDDS_BUILTIN_TRANSPORTS" in warning


def test_an_installed_copy_of_the_profile_is_recognised(tmp_path: Path) -> None:
    copy = tmp_path / "share" / "config" / PROFILE.name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(PROFILE.read_bytes())
    assert "thermal-synth profile" in describe_transports({PROFILE_VAR: str(copy)})
    copy.write_text(PROFILE.read_text().replace("67108864", "1048576"))  # someone's edited copy
    assert describe_transports({PROFILE_VAR: str(copy)}) == f"{PROFILE_VAR}={copy}"


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = f"import time\nfrom thermal_synth_ros.dds import teardown_watchdog\n{body}\nprint('after')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_teardown_watchdog_ends_a_stuck_process_with_its_stacks() -> None:
    # time.sleep stands in for a teardown blocked in native code (the GIL is irrelevant to a C watchdog).
    stuck = _run("with teardown_watchdog(0.5):\n    time.sleep(30)")
    assert stuck.returncode == 1
    assert "Timeout" in stuck.stderr
    assert "after" not in stuck.stdout
    fine = _run("with teardown_watchdog(1):\n    time.sleep(0.01)\ntime.sleep(1.5)")
    assert fine.returncode == 0, fine.stderr
    assert "after" in fine.stdout


def test_teardown_watchdog_works_when_stderr_has_no_descriptor() -> None:
    # pytest's capsys (or any io.StringIO redirect) leaves sys.stderr without fileno().
    body = "import io, sys\nsys.stderr = io.StringIO()\nwith teardown_watchdog(1):\n    time.sleep(0.01)"
    fine = _run(body)
    assert fine.returncode == 0, fine.stderr
    assert "after" in fine.stdout


_PARTICIPANT = (
    "import rclpy, sys, time\n"
    "rclpy.init()\n"
    "node = rclpy.create_node('shm_owner')\n"
    "print('up', flush=True)\n"
    "time.sleep(120)\n"
)


def _segments() -> set[str]:
    return {
        p.name
        for p in Path("/dev/shm").glob("fastdds_*")
        if not p.name.startswith("fastdds_port") and not p.name.endswith("_el")
    }


@pytest.mark.ros
@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="Fast DDS shared memory lives in /dev/shm on Linux only")
def test_segments_of_a_sigkilled_participant_are_removed_and_live_ones_kept(
    ros_env: dict[str, str], children: ChildProcesses
) -> None:
    pytest.importorskip("rclpy")
    before = _segments()
    procs = [
        children.start([sys.executable, "-c", _PARTICIPANT], env=ros_env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
    created = wait_for(lambda: _segments() - before, 10, "the participants' shared-memory segments")
    doomed, survivor = procs
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    assert _segments() - before == created  # SIGKILL left its segment (and lock file) behind

    time.sleep(0.2)
    removed = set(remove_stale_shm(min_age_s=0.0))
    assert removed & created, "the killed participant's segment was not removed"
    left = created - removed
    assert left, "the live participant's segment must stay"
    assert left <= _segments()
    assert all((Path("/dev/shm") / f"{name}_el").exists() for name in left)
    assert not any((Path("/dev/shm") / f"{name}_el").exists() for name in removed)
    assert survivor.poll() is None


@pytest.mark.ros
@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="Fast DDS shared memory lives in /dev/shm on Linux only")
def test_a_domain_with_a_live_participant_is_seen_as_busy(
    ros_domain_id: int, ros_env: dict[str, str], children: ChildProcesses
) -> None:
    pytest.importorskip("rclpy")
    assert not domain_in_use(ros_domain_id)
    proc = children.start([sys.executable, "-c", _PARTICIPANT], env=ros_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"
    assert domain_in_use(ros_domain_id)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert not domain_in_use(ros_domain_id)
