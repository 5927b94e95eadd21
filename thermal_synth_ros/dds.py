"""The one place that chooses Fast DDS transports for our processes, and cleans up after dead ones.

With Fast DDS's default transports, multi-megabyte images are mostly lost on
one computer (the default shared-memory segment is 0.5 MiB). Every process of
this package therefore uses the Fast DDS XML profile shipped beside this module
(:data:`PROFILE`: shared memory with a 64 MiB segment, plus UDPv4; no TCP),
unless the user chose transports themselves with ``FASTDDS_BUILTIN_TRANSPORTS``
(e.g. ``LARGE_DATA``) or ``FASTDDS_DEFAULT_PROFILES_FILE``: a value the user set
wins everywhere. README "Large camera images over Fast DDS" has the figures
behind this choice.

Processes killed with SIGKILL leave their shared-memory segments in
``/dev/shm``; :func:`remove_stale_shm` removes those whose owner is gone.
"""

from __future__ import annotations

import errno
import faulthandler
import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VAR",
    "PROFILE",
    "PROFILE_VAR",
    "TEARDOWN_TIMEOUT_S",
    "TRANSPORT_CHOICES",
    "configure_dds",
    "describe_transports",
    "domain_in_use",
    "free_domain_id",
    "lock_held",
    "remove_stale_shm",
    "stop_child",
    "teardown_watchdog",
    "transport_environ",
    "transport_warning",
]

#: Fast DDS's builtin-transport choice (DEFAULT, SHM, UDPv4, LARGE_DATA, ...); set by the user only.
ENV_VAR = "FASTDDS_BUILTIN_TRANSPORTS"
#: Fast DDS's XML profile file; ours unless the user set it or ENV_VAR.
PROFILE_VAR = "FASTDDS_DEFAULT_PROFILES_FILE"
#: The shipped profile (also installed as share/thermal_synth_ros/config/fastdds_profile.xml).
PROFILE = Path(__file__).resolve().with_name("fastdds_profile.xml")


def configure_dds(environ: MutableMapping[str, str] | None = None) -> str:
    """Select our transport profile unless the user chose transports; returns :func:`describe_transports`.

    Must run before the process's first rclpy Context is initialised (Fast DDS
    reads the environment when the participant is created). Child processes
    given a copy of ``os.environ`` afterwards inherit the same choice.
    """
    env = os.environ if environ is None else environ
    if not env.get(ENV_VAR) and not env.get(PROFILE_VAR):
        env.pop(ENV_VAR, None)  # an empty value would still be read as a (bad) choice
        env[PROFILE_VAR] = str(PROFILE)
    return describe_transports(env)


def describe_transports(environ: Mapping[str, str] | None = None) -> str:
    """The transports in effect, in the words of the environment variable that chose them."""
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return f"{ENV_VAR}={env[ENV_VAR]}"
    profile = env.get(PROFILE_VAR, "")
    if not profile:
        return "Fast DDS defaults"
    if _is_our_profile(Path(profile)):
        return "thermal-synth profile (shared memory 64 MiB + UDPv4)"
    return f"{PROFILE_VAR}={profile}"


def transport_warning(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the transports in effect will lose large frames, or None.

    With ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (or ``ROS_LOCALHOST_ONLY=1``),
    rmw_fastrtps replaces Fast DDS's builtin transports with its own loopback set,
    so ``FASTDDS_BUILTIN_TRANSPORTS`` no longer applies: measured here, ``LARGE_DATA``
    participants then delivered 0-3 of 60 best-effort frames of 0.9-6 MB, where
    the XML profile delivered all of them (``thermal-synth bench transports``).
    """
    env = os.environ if environ is None else environ
    localhost = (
        env.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").upper() == "LOCALHOST" or env.get("ROS_LOCALHOST_ONLY", "") == "1"
    )
    if localhost and env.get(ENV_VAR):
        return (
            f"{ENV_VAR}={env[ENV_VAR]} has no effect with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST "
            f"(or ROS_LOCALHOST_ONLY=1): rmw_fastrtps uses its own loopback transports and frames of a "
            f"megabyte or more are mostly lost; unset {ENV_VAR} to use the package's profile, or widen the "
            f"discovery range"
        )
    return None


def _is_our_profile(path: Path) -> bool:
    """The shipped profile, or its installed copy (share/thermal_synth_ros/config/, used by the launch file)."""
    if path.resolve() == PROFILE:
        return True
    try:
        return path.name == PROFILE.name and path.read_bytes() == PROFILE.read_bytes()
    except OSError:
        return False


#: Seconds a participant's teardown may take before the process gives up on it.
TEARDOWN_TIMEOUT_S = 10.0


def _stderr_fd() -> int:
    """sys.stderr's descriptor, or the process's fd 2 when sys.stderr is a Python-only stream (pytest capture)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


@contextmanager
def teardown_watchdog(timeout: float = TEARDOWN_TIMEOUT_S) -> Iterator[None]:
    """Exit the process (status 1, thread stacks on stderr) if the block takes longer than ``timeout``.

    Destroying a participant can block forever inside Fast DDS 3.2.3's TCP
    transport, used by LARGE_DATA (eProsima/Fast-DDS#6066, fixed in later
    releases), and rclpy holds the GIL meanwhile, so no Python timer or signal
    handler can run; faulthandler's watchdog is a C thread and still can.
    Wrap only the final teardown of a process in it.
    """
    faulthandler.dump_traceback_later(timeout, exit=True, file=_stderr_fd())
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


#: Fast DDS shared-memory files live here on Linux.
SHM_DIR = Path("/dev/shm")  # noqa: S108  (Fast DDS's fixed location, only read and cleaned)
#: A lock file younger than this may belong to a participant that is still starting up.
STALE_AFTER_S = 5.0


#: Transport choices the benchmarks compare, by name -> the variables that select them (the others unset).
TRANSPORT_CHOICES: dict[str, dict[str, str]] = {
    "profile": {PROFILE_VAR: str(PROFILE)},
    "LARGE_DATA": {ENV_VAR: "LARGE_DATA"},
    "default": {},
}
#: The transport choices ``bench startup`` takes turns with (names of :data:`TRANSPORT_CHOICES`).
STARTUP_CHOICES = ("profile", "LARGE_DATA")


def transport_environ(choice: str, domain_id: int) -> dict[str, str]:
    """A child's environment: ``os.environ`` with transport ``choice`` (a TRANSPORT_CHOICES name), on a domain."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, PROFILE_VAR)}
    env.update(TRANSPORT_CHOICES[choice])
    env.update(ROS_DOMAIN_ID=str(domain_id), PYTHONUNBUFFERED="1")
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    return env


def stop_child(proc: subprocess.Popen[Any], timeout: float = 20.0) -> bool:
    """End a child participant as Ctrl-C would (SIGINT), SIGKILL it after ``timeout`` s; True if it was killed.

    A killed participant's shared-memory segment is removed (:func:`remove_stale_shm`).
    """
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        remove_stale_shm(min_age_s=0.0)
        return True
    return False


def lock_held(lock: Path) -> bool:
    """Whether a live process holds the Fast DDS lock file ``lock`` (``fastdds_*_el``); False if it is gone."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def domain_in_use(domain_id: int, shm_dir: Path = SHM_DIR) -> bool:
    """Whether a live participant on this computer listens on ``domain_id`` (its shared-memory ports say so).

    Fast DDS numbers a domain's ports 7400 + 250 * domain_id + 0..249, and every
    listener holds the lock file of its port.
    """
    base = 7400 + 250 * domain_id
    for lock in shm_dir.glob("fastdds_port*_el"):
        digits = lock.name[len("fastdds_port") : -len("_el")]
        if digits.isdigit() and base <= int(digits) < base + 250 and lock_held(lock):
            return True
    return False


def free_domain_id(candidates: range, shm_dir: Path = SHM_DIR) -> int:
    """A random ``ROS_DOMAIN_ID`` from ``candidates`` that no live participant on this computer uses.

    For the private domains of ``demo`` and ``soak``: two of them started at once, or one beside a
    running test suite, must not see each other's topics. Falls back to a random candidate when all
    are busy (nothing better is possible).
    """
    order = list(candidates)
    random.shuffle(order)
    return next((d for d in order if not domain_in_use(d, shm_dir)), order[0])


def remove_stale_shm(shm_dir: Path = SHM_DIR, *, min_age_s: float = STALE_AFTER_S) -> list[str]:
    """Remove the shared-memory segments of Fast DDS participants whose process is gone; returns their names.

    Each participant holds an exclusive ``flock`` on ``fastdds_<id>_el`` for its
    whole life and the kernel drops it when the process dies, however it dies, so
    a lock file we can lock belongs to a dead participant. Its segment (up to the
    profile's 64 MiB of ``/dev/shm``) is then removed with it. Port files
    (``fastdds_port*``) are shared by every participant on a port and reused by
    Fast DDS itself, so they stay.
    """
    removed: list[str] = []
    now = time.time()
    for lock in sorted(shm_dir.glob("fastdds_*_el")):
        segment = lock.with_name(lock.name[: -len("_el")])
        if segment.name.startswith("fastdds_port"):
            continue
        try:
            young = now - lock.stat().st_mtime < min_age_s
        except OSError:
            continue  # removed meanwhile
        if young or lock_held(lock):
            continue
        segment.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)
        removed.append(segment.name)
    return removed
