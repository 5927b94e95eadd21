"""Fault injection on the live node: a backend that fails every Nth frame, under a 200+ Hz flood of good and bad frames.

The node runs on its own rclpy Context with a stand-in model that raises on
every 5th call; a probe publishes as fast as it can (best effort, as a camera
driver does) a mix of good frames and malformed ones (short data, unknown
encoding, zero size, absurd header, odd YUV width) plus malformed real
thermal. The node must keep publishing good frames throughout, count every
bad one in /diagnostics, keep its memory bounded, and answer normally after.
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Any

import numpy as np
import pytest

from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, FakeModel, diagnostics_values, rss_mb, running_node, wait_for
from tests.ros.images import rclpy_image, reference_rgb
from thermal_synth_ros.diagnostics import DiagKey

pytestmark = [pytest.mark.ros, pytest.mark.timeout(180)]

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

FLOOD_S = 4.0
FLOOD_HZ = 300.0
MIN_RATE_HZ = 200.0
FAIL_EVERY = 5
#: RSS growth allowed over the flood (node and probe share this process): the node keeps one RGB
#: frame and 64 real-thermal frames, all bounded; a queue growing at 200 Hz x 240 KB would pass it in 1 s.
MAX_GROWTH_MIB = 60


def _malformed(rgb: np.ndarray) -> list[Any]:
    short = rclpy_image(rgb, "rgb8")
    short.data = short.data[:-7]
    unknown = rclpy_image(rgb, "rgb8")
    unknown.encoding = "mono12p"
    odd_yuv = Image(height=4, width=5, encoding="yuv422", step=10, data=bytes(40))
    return [
        short,
        unknown,
        Image(height=0, width=0, encoding="rgb8", step=0),
        Image(height=60_000, width=60_000, encoding="rgb8", step=180_000, data=bytes(16)),
        odd_yuv,
    ]


def test_node_survives_failing_backend_and_a_flood_of_good_and_bad_frames(ros_domain_id: int, probe: Any) -> None:
    counter = itertools.count(1)
    model = FakeModel(size=(160, 128), fail_when=lambda rgb: next(counter) % FAIL_EVERY == 0)
    with running_node(ros_domain_id, model, {"diagnostics_period": 0.25}) as node:
        out = Collector(probe, Image, "thermal/image", depth=100)
        diag = Collector(probe, DiagnosticArray, "/diagnostics", depth=100)
        best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
        rgb_pub = probe.create_publisher(Image, "rgb/image", best_effort)
        real_pub = probe.create_publisher(Image, "real_thermal/image", best_effort)

        rgb = reference_rgb(128, 160, seed=2)
        good = rclpy_image(rgb, "rgb8", stamp=(1, 0))
        publish_until(rgb_pub, good, functools.partial(out.with_stamp, 1, 0))  # matched and warm
        wait_for(lambda: real_pub.get_subscription_count() > 0, 10, "the real thermal subscription")
        bad_rgb = _malformed(rgb)
        bad_real = rclpy_image(rgb, "rgb8")  # colour is no thermal encoding
        real = Image(height=128, width=160, encoding="mono16", step=320, data=bytes(160 * 128 * 2))

        before = node._stats.counts()
        published_before = len(out.snapshot())
        rss_start = rss_mb()
        sent = 0
        start = time.monotonic()
        while (now := time.monotonic()) - start < FLOOD_S:
            # Paced at FLOOD_HZ: unpaced, rclpy "publishes" at ~90 kHz and DDS drops nearly all of it.
            msg = good if sent % 3 else bad_rgb[(sent // 3) % len(bad_rgb)]
            sec, nsec = divmod(sent, 1000)
            msg.header.stamp.sec, msg.header.stamp.nanosec = 100 + sec, nsec * 1_000_000
            rgb_pub.publish(msg)
            if sent % 10 == 0:
                real.header.stamp = good.header.stamp
                real_pub.publish(real if sent % 20 else bad_real)
            sent += 1
            time.sleep(max(0.0, start + sent / FLOOD_HZ - now))
        elapsed = time.monotonic() - start
        rss_end = rss_mb()
        rate = sent / elapsed
        time.sleep(0.5)

        after = node._stats.counts()
        published = len(out.snapshot()) - published_before
        got = (after["received"] - before["received"]) / elapsed
        print(f"flood: {sent} frames in {elapsed:.1f} s, {rate:.0f} Hz sent, {got:.0f} Hz received; {after}")
        assert rate >= MIN_RATE_HZ, f"the probe only reached {rate:.0f} Hz"
        delta = {k: after[k] - before[k] for k in after}
        assert delta["received"] >= 0.3 * sent, f"best effort lost most of the flood: {delta}"
        assert published >= 0.1 * delta["received"], "the node stopped publishing good frames under the flood"
        assert delta["rejected"] >= 1, delta
        assert delta["failed"] >= 1, delta
        assert delta["real_rejected"] >= 1, delta
        # Everything received is accounted for: published, failed, rejected, or replaced by a newer frame
        # (up to two frames may still be in the slot or in the worker's hands).
        handled = delta["published"] + delta["failed"] + delta["rejected"] + delta["dropped"]
        assert delta["received"] - 2 <= handled <= delta["received"], delta
        assert rss_end - rss_start < MAX_GROWTH_MIB, f"memory grew {rss_end - rss_start:.0f} MiB during the flood"

        def latest_values() -> dict[str, str]:
            msgs = diag.snapshot()
            return diagnostics_values(msgs[-1]) if msgs else {}

        values = wait_for(
            lambda: (v := latest_values()) and int(v.get(DiagKey.REJECTED, 0)) >= after["rejected"] and v,
            10,
            "the rejected count in /diagnostics",
        )
        assert int(values[DiagKey.FAILED]) >= after["failed"]
        assert int(values[DiagKey.REAL_REJECTED]) >= after["real_rejected"]

        # Afterwards it answers a single frame as before.
        last = rclpy_image(rgb, "rgb8", stamp=(9999, 0))
        reliable = probe.create_publisher(
            Image, "rgb/image", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        )
        publish_until(reliable, last, functools.partial(out.with_stamp, 9999, 0))
