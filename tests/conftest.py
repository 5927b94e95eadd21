"""Shared fixtures: ROS 2 domain isolation, DDS transports, child processes that are always reaped, markers."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thermal_synth_ros.dds import configure_dds, domain_in_use, remove_stale_shm  # stdlib only: importable without ROS

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every participant of a test run (this process and its children, which copy os.environ) gets the
# product's transports, or the ones the developer chose in their shell: the same for all of them.
configure_dds()

# Each ROS test gets its own ROS_DOMAIN_ID so concurrent runs and leftover
# participants never cross-talk. Domains 1..100 are safe for Fast DDS ports.
_DOMAINS = itertools.cycle([*range(random.Random(os.getpid()).randint(1, 100), 101), *range(1, 101)])


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_cuda():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU (marked gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


#: Lock files that claim a domain for one test (two test runs on one machine never share a domain).
_DOMAIN_LOCKS = Path(tempfile.gettempdir()) / "thermal-synth-test-domains"


def _claim(domain: int) -> int | None:
    """An open descriptor holding ``domain``'s lock, or None if another test (of any run) holds it."""
    _DOMAIN_LOCKS.mkdir(exist_ok=True)
    fd = os.open(_DOMAIN_LOCKS / f"{domain}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@pytest.fixture
def ros_domain_id() -> Iterator[int]:
    """A ROS_DOMAIN_ID for this test alone: claimed by a lock for the test's duration, with no live participant.

    The lock keeps two test runs on one machine off each other's domains (checking for participants
    alone leaves a window between the check and the first participant); the participant check keeps
    clear of anything else that runs there, e.g. a node that outlived its test run.
    """
    for _ in range(100):
        domain = int(next(_DOMAINS))
        fd = _claim(domain)
        if fd is None:
            continue
        if domain_in_use(domain):
            os.close(fd)
            continue
        try:
            yield domain
        finally:
            os.close(fd)  # releases the lock
        return
    raise RuntimeError("every ROS_DOMAIN_ID from 1 to 100 is claimed or in use on this machine")


@pytest.fixture
def ros_env(ros_domain_id: int) -> dict[str, str]:
    """Environment for ROS 2 subprocesses: this test's domain and the run's DDS transports."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(ros_domain_id)
    env["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def ros_context(ros_domain_id: int) -> Iterator[object]:
    """An initialised rclpy Context on this test's domain, shut down afterwards."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


@pytest.fixture
def venv_bin() -> Path:
    """Folder of the running interpreter's console scripts (thermal-synth, thermal_synth_node)."""
    return Path(sys.executable).parent


def _live_children() -> dict[int, str]:
    """This process's live child processes (pid -> command line), zombies excluded."""
    me = str(os.getpid())
    found: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] != me or fields[0] == "Z":
                continue
            found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # it ended while we looked
    return found


def stop_process(proc: subprocess.Popen[Any], timeout: float = 20.0) -> bool:
    """SIGINT (as Ctrl-C or ros2 launch would), then SIGKILL to its whole process group; reaped.

    Returns True if it needed the kill. ``proc`` must lead its own session (``ChildProcesses.start``
    does that), so the kill also reaches the processes it started (the soak's and the demo's node).
    """
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    try:
        os.killpg(proc.pid, 0)  # anything left in its group, the leader included?
    except (ProcessLookupError, PermissionError):
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return True


class ChildProcesses:
    """The child processes of one test, each stopped and reaped when the test ends, pass or fail."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []

    def start(self, cmd: list[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen(cmd, **popen_kwargs)`` in a session of its own, remembered for the teardown."""
        proc: subprocess.Popen[Any] = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop every process (and what it started); remove the Fast DDS segments of the killed ones."""
        killed = [p for p in self.procs if stop_process(p)]
        for proc in self.procs:  # close pipes the test did not read
            for stream in (proc.stdout, proc.stderr, proc.stdin):
                if stream is not None:
                    stream.close()
        if killed:
            remove_stale_shm(min_age_s=0.0)


@pytest.fixture
def children() -> Iterator[ChildProcesses]:
    """Start child processes through this; they are ended and reaped after the test, even when it fails."""
    group = ChildProcesses()
    try:
        yield group
    finally:
        group.close()


@pytest.fixture(autouse=True)
def _no_leftover_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """A ROS test must end every process it started: a leftover participant can disturb the tests after it."""
    if "ros" not in request.keywords:
        yield
        return
    before = set(_live_children())
    yield
    left = {pid: cmd for pid, cmd in _live_children().items() if pid not in before}
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if left:
        pytest.fail(f"the test left child processes running (now killed): {left}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _clean_stale_shm() -> Iterator[None]:
    """Fast DDS segments of participants killed before or during the run are removed (at start and end)."""
    remove_stale_shm()
    yield
    remove_stale_shm()
