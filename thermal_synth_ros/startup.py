"""``thermal-synth bench startup``: how long a fresh node + camera pair takes to its first synthetic frame.

Each start launches two new processes, as ``soak`` and ``demo`` do and as a
vehicle does at boot: the node (``python -m thermal_synth_ros.node`` on the
embedded model) and a camera (this module with ``--camera``: 640x569 rgb8 at
30 Hz on ``rgb/image``, listening on ``thermal/image``). The time to first
frame runs from launching both to the camera receiving its first synthetic
frame; it includes interpreter start-up and the model load, so the node's own
"ready" time is recorded beside it. A start that gets no frame within
``--timeout`` is a failure, reported with both sides' view of the link.

Transport configurations (``--transports``) take turns start by start, so they
see the same machine load: ``profile`` (the package's Fast DDS XML profile, the
default) and ``LARGE_DATA`` (Fast DDS's builtin large-data transports).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NotRequired, TypedDict, cast

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from thermal_synth_core.bench import write_result
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.ui import progress, summary
from thermal_synth_ros.dds import STARTUP_CHOICES, free_domain_id, stop_child, transport_environ
from thermal_synth_ros.link import publisher_link

__all__ = ["STARTUP_CHOICES", "StartRecord", "StartupResult", "camera_main", "start_once"]


RGB_SIZE = (640, 569)  # the embedded model's rig aspect at 640 wide, as in bench node and soak
#: Domains of the starts: away from the tests' 1-100 and bench node's children.
DOMAINS = range(201, 232)


class CameraVerdict(TypedDict, total=False):
    """The camera process's JSON line (or, when it printed none, its stderr as ``error``)."""

    camera_up_s: float
    matched_s: float | None
    first_frame_s: float | None
    link: str  # both sides' view of the link, when no frame came
    error: str


class StartRecord(CameraVerdict):
    """One start: the camera's verdict, then the node's side."""

    transports: str
    domain: int
    node_exit: int | None
    node_killed: bool
    node_ready_logged: bool
    node_log_tail: NotRequired[str]  # when no frame came
    run: NotRequired[int]  # the start's round (set by the benchmark)


class StartStats(TypedDict):
    """Percentiles of a time in seconds over the starts (None without any)."""

    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    max_s: float | None
    min_s: float | None


class TransportStarts(TypedDict):
    """The starts of one transport configuration."""

    starts: int
    failures: int
    within_bound: int
    first_frame: StartStats
    matched_publisher_after: StartStats
    node_killed_at_stop: int
    first_frames_s: list[float]


class StartupResult(TypedDict):
    """``startup.json`` (after ``benchmark`` and ``environment``): the figures of ``thermal-synth bench startup``."""

    what: str
    rgb: str
    bound_s: float
    timeout_s: float
    per_transports: dict[str, TransportStarts]
    starts: list[StartRecord]
    large_data_over_profile_p50: NotRequired[float | None]


def start_once(transports: str, domain: int, timeout: float, workdir: Path) -> StartRecord:
    """One start of node + camera; the camera's JSON verdict plus the node's ready time and exit."""
    env = transport_environ(transports, domain)
    node_log = workdir / f"node-{domain}.log"
    t0 = time.time()
    with node_log.open("wb") as log:
        # Argument lists naming this interpreter and our own modules (no shell).
        node = subprocess.Popen(
            [sys.executable, "-m", "thermal_synth_ros.node", "--ros-args", "-p", "diagnostics_period:=0.5"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    camera = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "thermal_synth_ros.startup", "--camera", str(t0), str(timeout)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = camera.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        camera.kill()
        out, err = camera.communicate()
    node_killed = stop_child(node)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    verdict: CameraVerdict = json.loads(lines[-1]) if lines else {"first_frame_s": None, "error": err[-500:]}
    text = node_log.read_text(errors="replace")
    ready = [line for line in text.splitlines() if "ready:" in line]
    # The verdict's keys first, then the node's (mypy cannot check a literal that leaves NotRequired keys out).
    result = cast(
        "StartRecord",
        {
            **verdict,
            "transports": transports,
            "domain": domain,
            "node_exit": node.returncode,
            "node_killed": node_killed,
            "node_ready_logged": bool(ready),
        },
    )
    if result.get("first_frame_s") is None:
        result["node_log_tail"] = text[-1500:]
    return result


def _stats(values: Sequence[float]) -> StartStats:
    if not values:
        return {"p50_s": None, "p90_s": None, "p99_s": None, "max_s": None, "min_s": None}
    a = np.asarray(values)
    return {
        "p50_s": round(float(np.percentile(a, 50)), 3),
        "p90_s": round(float(np.percentile(a, 90)), 3),
        "p99_s": round(float(np.percentile(a, 99)), 3),
        "max_s": round(float(a.max()), 3),
        "min_s": round(float(a.min()), 3),
    }


def run(args: argparse.Namespace) -> StartupResult:
    """Start fresh node and camera processes per transport choice, print the figures, write ``startup.json``."""
    runs = 3 if args.quick else args.runs
    names = list(dict.fromkeys(args.transports))
    unknown = [n for n in names if n not in STARTUP_CHOICES]
    if unknown:
        raise ThermalSynthError(f"unknown transports {unknown}; choose from {', '.join(STARTUP_CHOICES)}")
    starts: list[StartRecord] = []
    with tempfile.TemporaryDirectory(prefix="thermal-synth-startup-") as tmp:
        order = [(i, name) for i in range(runs) for name in names]
        for i, name in progress(order, total=len(order), desc="starts", unit="start"):
            domain = free_domain_id(DOMAINS)
            starts.append({**start_once(name, domain, args.timeout, Path(tmp)), "run": i})
    per: dict[str, TransportStarts] = {}
    for name in names:
        mine = [s for s in starts if s["transports"] == name]
        firsts = [first for s in mine if (first := s.get("first_frame_s")) is not None]
        per[name] = {
            "starts": len(mine),
            "failures": len(mine) - len(firsts),
            "within_bound": sum(1 for f in firsts if f <= args.bound),
            "first_frame": _stats(firsts),
            "matched_publisher_after": _stats([match for s in mine if (match := s.get("matched_s")) is not None]),
            "node_killed_at_stop": sum(1 for s in mine if s["node_killed"]),
            "first_frames_s": [round(f, 3) for f in firsts],
        }
    result: StartupResult = {
        "what": "fresh node process + camera process per start, time from launch to the first synthetic frame",
        "rgb": f"{RGB_SIZE[0]}x{RGB_SIZE[1]} rgb8 at 30 Hz, reliable depth 5",
        "bound_s": args.bound,
        "timeout_s": args.timeout,
        "per_transports": per,
        "starts": starts,
    }
    if {"profile", "LARGE_DATA"} <= set(names) and per["profile"]["first_frame"]["p50_s"]:
        large = per["LARGE_DATA"]["first_frame"]["p50_s"]
        result["large_data_over_profile_p50"] = (
            round(large / per["profile"]["first_frame"]["p50_s"], 3) if large else None
        )
    path = write_result(args.out, "startup", result)
    parts = []
    for name, p in per.items():
        f = p["first_frame"]
        parts.append(
            f"{name}: {p['starts'] - p['failures']}/{p['starts']} got a frame, {p['within_bound']} within "
            f"{args.bound:g} s, p50 {f['p50_s']} s, max {f['max_s']} s"
        )
    summary(f"bench startup: {'; '.join(parts)} -> {path}")
    return result


def camera_main(t0: float, timeout: float) -> int:
    """The camera process: publish RGB at 30 Hz until the first thermal/image arrives; print a JSON verdict."""
    rclpy.init()
    node = rclpy.create_node("startup_camera")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    pub = node.create_publisher(Image, "rgb/image", qos)
    got: list[float] = []
    sub = node.create_subscription(Image, "thermal/image", lambda _m: got.append(time.time()), qos)
    w, h = RGB_SIZE
    msg = Image(height=h, width=w, encoding="rgb8", step=3 * w, data=np.full(h * w * 3, 90, np.uint8).tobytes())
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    verdict: CameraVerdict = {"camera_up_s": round(time.time() - t0, 3), "matched_s": None}
    next_send = time.monotonic()
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        if time.monotonic() >= next_send:
            stamp = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            pub.publish(msg)
            next_send += 1 / 30
        if verdict.get("matched_s") is None and pub.get_subscription_count() > 0:
            verdict["matched_s"] = round(time.time() - t0, 3)
        executor.spin_once(timeout_sec=0.005)
    verdict["first_frame_s"] = round(got[0] - t0, 3) if got else None
    if not got:
        verdict["link"] = f"{publisher_link(node, pub)}; thermal/image: {sub.get_publisher_count()} matched"
    print(json.dumps(verdict), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--camera":
        sys.exit(camera_main(float(sys.argv[2]), float(sys.argv[3])))
    print("usage: thermal-synth bench startup (this module's --camera mode is started by it)", file=sys.stderr)
    sys.exit(2)
