"""``thermal-synth bench transports``: which Fast DDS transport choices carry large camera frames to which.

For every pair of (publisher, subscriber) transport choices -- ``profile`` (the
package's XML profile), ``LARGE_DATA`` and ``default`` (Fast DDS's defaults, as
RViz, ``ros2 bag`` or a camera driver started without settings) -- two fresh
processes on their own ``ROS_DOMAIN_ID``: the subscriber (best effort, depth 5,
as the node's input) and the publisher, which waits until it has matched the
subscriber (or gives up after ``--match-timeout``), then sends ``--frames``
frames at 30 Hz. The table says how many arrived and how long the match took:
the evidence behind the default choice in :mod:`thermal_synth_ros.dds`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import NotRequired, TypedDict, cast

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from thermal_synth_core.bench import write_result
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.ui import progress, summary
from thermal_synth_ros.dds import TRANSPORT_CHOICES, free_domain_id, transport_environ

__all__ = ["run"]

#: Domains of the pairs, as bench startup's: away from the tests' 1-100.
DOMAINS = range(201, 232)


class SideReport(TypedDict, total=False):
    """The JSON line of one side of a pair: the publisher's (matched_s, sent) or the subscriber's (received)."""

    matched_s: float | None  # None: never matched
    sent: int
    received: int


class PairRecord(SideReport):
    """One (publisher, subscriber) pair: both sides' reports, or what went wrong."""

    publisher: str
    subscriber: str
    error: NotRequired[str]


class TransportsResult(TypedDict):
    """``transports.json`` (after ``benchmark`` and ``environment``): ``thermal-synth bench transports``."""

    what: str
    pairs: list[PairRecord]


def _pair(pub: str, sub: str, args: argparse.Namespace, domain: int) -> PairRecord:
    w, h = args.size
    common = [str(w), str(h), str(args.frames), str(args.match_timeout)]
    # Argument lists naming this interpreter and this module (no shell).
    receiver = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", __name__, "--sub", *common],
        env=transport_environ(sub, domain),
        stdout=subprocess.PIPE,
        text=True,
    )
    sender = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", __name__, "--pub", *common],
        env=transport_environ(pub, domain),
        stdout=subprocess.PIPE,
        text=True,
    )
    limit = args.match_timeout + args.frames / 30 + 30
    try:
        sent_out, _ = sender.communicate(timeout=limit)
        got_out, _ = receiver.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        for proc in (sender, receiver):
            proc.kill()
            proc.wait()
        return {"publisher": pub, "subscriber": sub, "error": "timed out"}
    lines = [line for line in (sent_out + got_out).splitlines() if line.startswith("{")]
    if len(lines) != 2:
        return {"publisher": pub, "subscriber": sub, "error": f"exit {sender.returncode}/{receiver.returncode}"}
    sent: SideReport = json.loads(lines[0])
    got: SideReport = json.loads(lines[1])
    # mypy cannot check a literal that leaves NotRequired keys ("error") out.
    return cast("PairRecord", {"publisher": pub, "subscriber": sub, **sent, **got})


def run(args: argparse.Namespace) -> TransportsResult:
    """Send large frames between every pair of transport choices, print the figures, write ``transports.json``."""
    names = list(dict.fromkeys(args.choices))
    unknown = [n for n in names if n not in TRANSPORT_CHOICES]
    if unknown:
        raise ThermalSynthError(f"unknown transport choices {unknown}; choose from {', '.join(TRANSPORT_CHOICES)}")
    pairs = [(p, s) for p in names for s in names]
    rows = [_pair(p, s, args, free_domain_id(DOMAINS)) for p, s in progress(pairs, total=len(pairs), desc="pairs")]
    w, h = args.size
    result: TransportsResult = {
        "what": (
            f"{w}x{h} rgb8 frames ({w * h * 3 / 1e6:.1f} MB), best effort depth 5, {args.frames} sent at 30 Hz "
            "after the publisher matched, between two fresh processes on one computer"
        ),
        "pairs": rows,
    }
    path = write_result(args.out, "transports", result)
    table = ", ".join(
        f"{r['publisher']}->{r['subscriber']} {r.get('received', 0)}/{r.get('sent', 0)}"
        + ("" if r.get("matched_s") is not None else " (never matched)")
        for r in rows
    )
    summary(f"bench transports: {table} -> {path}")
    return result


def _child(role: str, w: int, h: int, frames: int, match_timeout: float) -> int:
    """One side of a pair; prints a JSON line with its figures."""
    rclpy.init()
    node = rclpy.create_node(f"transports_{role.lstrip('-')}")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    t0 = time.monotonic()
    out: SideReport
    if role == "--pub":
        pub = node.create_publisher(Image, "frames", qos)
        while pub.get_subscription_count() == 0 and time.monotonic() - t0 < match_timeout:
            executor.spin_once(timeout_sec=0.01)
        matched = pub.get_subscription_count() > 0
        out = {"matched_s": round(time.monotonic() - t0, 3) if matched else None, "sent": 0}
        if matched:
            time.sleep(0.5)  # the subscriber's side of the match may finish a little later
            msg = Image(height=h, width=w, encoding="rgb8", step=3 * w, data=np.zeros(h * w * 3, np.uint8).tobytes())
            start = time.monotonic()
            for k in range(frames):
                pub.publish(msg)
                time.sleep(max(0.0, start + (k + 1) / 30 - time.monotonic()))
            out["sent"] = frames
            time.sleep(1.0)  # let the last frames land before this participant goes away
    else:
        arrived: list[float] = []
        node.create_subscription(Image, "frames", lambda _m: arrived.append(time.monotonic()), qos)
        deadline = t0 + match_timeout + frames / 30 + 5
        while time.monotonic() < deadline and len(arrived) < frames:
            executor.spin_once(timeout_sec=0.05)
        out = {"received": len(arrived)}
    print(json.dumps(out), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] in ("--pub", "--sub"):
        sys.exit(_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    print("usage: thermal-synth bench transports (this module's --pub/--sub modes are started by it)", file=sys.stderr)
    sys.exit(2)
