"""The thermal_synth node over real DDS (rclpy + Fast DDS wheels), with a stand-in model.

The node runs in-process on its own rclpy Context; the probe node is another
participant on the same ROS_DOMAIN_ID, so every frame crosses Fast DDS.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest

from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, FakeModel, diagnostics_values, rss_mb, running_node, wait_for
from tests.ros.images import ALL_COLOR_ENCODINGS, EXACT, expected_rgb, rclpy_image, reference_rgb
from thermal_synth_core.errors import ConfigError, ModelFileError
from thermal_synth_ros.diagnostics import DiagKey

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from thermal_synth_ros.conversions import to_mono  # noqa: E402

RGB = reference_rgb(48, 64, seed=3)
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _pixels(msg: Any) -> np.ndarray:
    return np.asarray(to_mono(msg))


def test_every_encoding_comes_back_on_thermal_image_with_its_stamp(ros_domain_id: int, probe: Any) -> None:
    model = FakeModel()
    with running_node(ros_domain_id, model, {"thermal_frame_id": "thermal_optical"}):
        out = Collector(probe, Image, "thermal/image")
        pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        for i, encoding in enumerate(ALL_COLOR_ENCODINGS):
            stamp = (100 + i, 1234)
            msg = rclpy_image(RGB, encoding, pad=3 * (i % 2), bigendian=bool(i % 3 == 0), stamp=stamp)
            got = publish_until(pub, msg, functools.partial(out.with_stamp, *stamp))
            assert got.header.frame_id == "thermal_optical"
            assert (got.height, got.width, got.encoding) == (48, 64, "mono8")
            red = _pixels(got).astype(int)
            want = expected_rgb(RGB, encoding)[0][:, :, 0].astype(int)
            if encoding in EXACT or "mono" in encoding or encoding in ("8UC1", "16UC1"):
                np.testing.assert_array_equal(red, want, err_msg=encoding)
            else:  # demosaicing / chroma subsampling: close on average, channel order right
                assert np.abs(red - want)[2:-2, 2:-2].mean() < 4, encoding
    # bgr cameras reach the model without a channel swap
    assert "bgr" in model.orders
    assert "rgb" in model.orders


def test_compressed_input_and_mono16_output(ros_domain_id: int, probe: Any) -> None:
    model = FakeModel(encoding="mono16", size=(32, 24))
    with running_node(ros_domain_id, model, {"input_transport": "compressed"}) as node:
        assert node._sub_rgb.topic_name == "/rgb/image/compressed"
        out = Collector(probe, Image, "thermal/image")
        pub = probe.create_publisher(CompressedImage, "rgb/image/compressed", RELIABLE)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(RGB[:, :, ::-1]))
        assert ok
        msg = CompressedImage(format="png", data=png.tobytes())
        msg.header.stamp.sec, msg.header.stamp.nanosec = 42, 7
        msg.header.frame_id = "camera"
        got = publish_until(pub, msg, lambda: out.with_stamp(42, 7))
        assert (got.encoding, got.width, got.height, got.header.frame_id) == ("mono16", 32, 24, "camera")
        want = cv2.resize(RGB[:, :, 0], (32, 24), interpolation=cv2.INTER_AREA).astype(np.uint16) * 257
        np.testing.assert_array_equal(_pixels(got), want)

        # output_encoding changes live: the same model output, published as mono8
        assert node.set_parameters([Parameter("output_encoding", value="mono8")])[0].successful
        msg.header.stamp.sec = 43
        got = publish_until(pub, msg, lambda: out.with_stamp(43, 7))
        assert got.encoding == "mono8"
        np.testing.assert_array_equal(_pixels(got), (want >> 8).astype(np.uint8))


def _real_thermal(width: int, height: int, stamp: tuple[int, int]) -> Any:
    ramp = np.linspace(7000, 9000, width * height, dtype=np.float64).reshape(height, width).astype(np.uint16)
    ramp[height // 3 : height // 2, width // 3 : width // 2] = 12000  # a warm object
    msg = Image(height=height, width=width, encoding="mono16", is_bigendian=0, step=width * 2)
    msg.data = ramp.tobytes()
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
    msg.header.frame_id = "flir"
    return msg


def test_real_thermal_gives_comparison_agc_colour_and_metrics(ros_domain_id: int, probe: Any) -> None:
    model = FakeModel(size=(64, 48))
    params = {"diagnostics_period": 0.2, "sync_slop": 0.02, "colormap": "inferno"}
    with running_node(ros_domain_id, model, params):
        comparison = Collector(probe, Image, "thermal/comparison")
        agc = Collector(probe, Image, "real_thermal/image_agc")
        color = Collector(probe, Image, "thermal/image_color")
        thermal = Collector(probe, Image, "thermal/image")
        diag = Collector(probe, DiagnosticArray, "/diagnostics")
        rgb_pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        real_pub = probe.create_publisher(Image, "real_thermal/image", RELIABLE)

        real = _real_thermal(80, 60, (200, 5_000_000))  # another size than the output: resized for metrics
        wait_for(lambda: real_pub.get_subscription_count() > 0, 10, "the node's real thermal subscription")
        rgb = rclpy_image(RGB, "rgb8", stamp=(200, 0))

        def published() -> Any:
            real_pub.publish(real)
            return comparison.with_stamp(200, 0) and agc.with_stamp(200, 5_000_000) and color.with_stamp(200, 0)

        publish_until(rgb_pub, rgb, published)
        cmp_msg = comparison.with_stamp(200, 0)
        assert (cmp_msg.encoding, cmp_msg.height, cmp_msg.width) == ("bgr8", 48, 64 * 3)
        agc_msg = agc.with_stamp(200, 5_000_000)
        assert (agc_msg.encoding, agc_msg.header.frame_id, agc_msg.width) == ("mono8", "flir", 80)
        agc_px = _pixels(agc_msg)
        assert agc_px.min() == 0
        assert agc_px.max() == 255
        assert color.with_stamp(200, 0).encoding == "bgr8"

        values = wait_for(
            lambda: next(
                (v for m in diag.snapshot() if DiagKey.SSIM in (v := diagnostics_values(m))),
                None,
            ),
            10,
            "L1/SSIM in /diagnostics",
        )
        assert 0.0 <= float(values[DiagKey.L1]) <= 1.0
        assert -1.0 <= float(values[DiagKey.SSIM]) <= 1.0
        assert int(values[DiagKey.PAIRED]) >= 1
        assert values[DiagKey.BACKEND] == "fake"
        assert values["architecture"] == "fake_red_channel"

        # An RGB frame with no real thermal within sync_slop: thermal/image only.
        lonely = rclpy_image(RGB, "rgb8", stamp=(300, 0))
        publish_until(rgb_pub, lonely, lambda: thermal.with_stamp(300, 0))
        time.sleep(0.3)
        assert comparison.with_stamp(300, 0) is None


def test_bad_input_is_counted_in_diagnostics_while_good_frames_flow(ros_domain_id: int, probe: Any) -> None:
    model = FakeModel(size=(64, 48), fail_when=lambda rgb: bool(rgb[0, 0, 0] == 7))
    with running_node(ros_domain_id, model, {"diagnostics_period": 0.2}):
        out = Collector(probe, Image, "thermal/image")
        diag = Collector(probe, DiagnosticArray, "/diagnostics")
        rgb_pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        real_pub = probe.create_publisher(Image, "real_thermal/image", RELIABLE)

        def latest(key: str) -> int:
            msgs = diag.snapshot()
            return int(diagnostics_values(msgs[-1]).get(key, "0")) if msgs else 0

        def at_least(key: str, n: int) -> Callable[[], bool]:
            return lambda: latest(key) >= n

        short = rclpy_image(RGB, "rgb8", stamp=(1, 0))
        short.data = short.data[:-10]
        unknown = rclpy_image(RGB, "rgb8", stamp=(2, 0))
        unknown.encoding = "mono12p"
        empty = Image(height=0, width=0, encoding="rgb8", step=0)
        absurd = Image(height=100_000, width=64, encoding="mono8", step=64)
        poison = rclpy_image(RGB, "rgb8", stamp=(3, 0))
        poison.data[0] = 7  # the fake model raises on this frame
        for n, bad in enumerate([short, unknown, empty, absurd], start=1):
            publish_until(rgb_pub, bad, at_least(DiagKey.REJECTED, n))
            good = rclpy_image(RGB, "rgb8", stamp=(10 + n, 0))
            publish_until(rgb_pub, good, functools.partial(out.with_stamp, 10 + n, 0))
        publish_until(rgb_pub, poison, at_least(DiagKey.FAILED, 1))
        publish_until(rgb_pub, rclpy_image(RGB, "rgb8", stamp=(20, 0)), lambda: out.with_stamp(20, 0))
        publish_until(real_pub, rclpy_image(RGB, "rgb8", stamp=(21, 0)), at_least(DiagKey.REAL_REJECTED, 1))

        statuses = [m.status[0] for m in diag.snapshot()]
        assert any(s.level == b"\x01" and "bad input" in s.message for s in statuses)
        problems = {{kv.key: kv.value for kv in s.values}.get(DiagKey.LAST_PROBLEM, "") for s in statuses}
        assert any("data has" in p for p in problems), problems
        assert any("unsupported image encoding 'mono12p'" in p for p in problems), problems
        assert any("fake backend failure" in p for p in problems), problems
        assert out.with_stamp(3, 0) is None


def test_slow_model_keeps_latency_bounded_and_memory_flat(ros_domain_id: int, probe: Any) -> None:
    delay = 0.15
    model = FakeModel(size=(320, 256), delay=delay)
    with running_node(ros_domain_id, model, {"diagnostics_period": 0.5}) as node:
        out = Collector(probe, Image, "thermal/image", depth=100)
        pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        big = reference_rgb(512, 640, seed=1)  # 1 MB frames, as from a real camera
        frames = [rclpy_image(big, "rgb8", stamp=(0, k)) for k in range(3)]
        publish_until(pub, frames[0], out.snapshot, timeout=20)  # warm up and match

        sent: dict[int, float] = {}
        rss: list[float] = []
        period, n = 1.0 / 30.0, 150  # 5 s at 30 Hz, about 6x more frames than the model can take
        start = time.monotonic()
        for i in range(n):
            msg = frames[i % len(frames)]
            msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + i, 0
            sent[1000 + i] = time.monotonic()
            pub.publish(msg)
            if i in (30, n - 1):
                rss.append(rss_mb())
            time.sleep(max(0.0, start + (i + 1) * period - time.monotonic()))
        time.sleep(3 * delay)

    arrivals = {
        m.header.stamp.sec: t for m, t in zip(out.messages, out.arrivals, strict=True) if m.header.stamp.sec >= 1000
    }
    assert len(arrivals) >= 10, "the node kept publishing"
    assert len(arrivals) < n / 2, "most frames were dropped, not queued"
    latencies = [arrivals[s] - sent[s] for s in sorted(arrivals)]
    late_half = latencies[len(latencies) // 2 :]
    # A backlog would grow by ~(1 - 30 Hz x 0.15 s) per frame: seconds by the end.
    assert max(late_half) < 4 * delay + 0.3, f"latency grew: {late_half}"
    counts = node._stats.counts()
    assert counts["dropped"] > n / 2
    assert rss[-1] - rss[0] < 60, f"memory grew {rss[-1] - rss[0]:.0f} MiB while dropping frames"


def test_parameters_live_and_reload(ros_domain_id: int, probe: Any) -> None:
    from rclpy.parameter_client import AsyncParameterClient

    model = FakeModel(size=(64, 48))
    with running_node(ros_domain_id, model, {"max_rate_hz": 0.0}) as node:
        client = AsyncParameterClient(probe, "thermal_synth")
        assert client.wait_for_services(timeout_sec=10.0)

        def set_remote(name: str, value: Any) -> Any:
            future = client.set_parameters([Parameter(name, value=value)])
            return wait_for(lambda: future.done() and future.result(), 10, f"setting {name}").results[0]

        assert set_remote("colormap", "black-hot").successful
        assert node._live.colormap == "black-hot"
        bad = set_remote("colormap", "rainbow")
        assert not bad.successful
        assert "unknown colour map 'rainbow'" in bad.reason
        reload = set_remote("backend", "onnxruntime")
        assert not reload.successful
        assert "backend cannot change while the node runs" in reload.reason
        assert "needs a reload" in reload.reason
        assert set_remote("backend", "auto").successful  # unchanged value: nothing to reload
        assert not set_remote("input_qos.depth", 3).successful
        assert not set_remote("max_rate_hz", -1.0).successful  # outside the declared range
        assert set_remote("max_rate_hz", 4.0).successful

        desc = node.describe_parameter("sync_slop")
        assert desc.floating_point_range[0].to_value == 10.0
        assert "run time" in desc.additional_constraints
        assert "restart" in node.describe_parameter("model_path").additional_constraints

        # max_rate_hz limits the work: 20 Hz in, at most ~4 Hz synthesised.
        out = Collector(probe, Image, "thermal/image", depth=100)
        pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        msg = rclpy_image(RGB, "rgb8")
        publish_until(pub, msg, out.snapshot)
        before = len(out.snapshot())
        for i in range(40):
            msg.header.stamp.sec = 500 + i
            pub.publish(msg)
            time.sleep(0.05)
        produced = len(out.snapshot()) - before
        assert 2 <= produced <= 12, produced
    assert model.params.backend == "auto"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"input_transport": "zip"}, r"input_transport is 'zip'; choose one of raw, compressed"),
        ({"output_encoding": "mono12"}, r"output_encoding is 'mono12'; choose one of auto, mono8, mono16"),
        ({"sync_slop": -1.0}, r"parameter sync_slop: .*"),
        ({"sync_slop": "soon"}, r"parameter sync_slop: .*"),
        ({"colormap": "rainbow"}, r"parameter colormap is 'rainbow': unknown colour map"),
        ({"input_qos.reliability": "maybe"}, r"input_qos.reliability is 'maybe'; choose one of best_effort, reliable"),
    ],
    ids=["transport", "encoding", "slop-range", "slop-type", "colormap", "qos"],
)
def test_invalid_parameters_stop_start_up_with_a_clear_error(
    ros_domain_id: int, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match), running_node(ros_domain_id, FakeModel(), params):
        pass


def test_model_errors_at_start_up_propagate(ros_domain_id: int) -> None:
    from rclpy.context import Context

    from thermal_synth_ros.node import ThermalSynthNode

    def broken(params: Any) -> Any:
        raise ModelFileError(f"model file {params.model_path} is truncated")

    context = Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    try:
        with pytest.raises(ModelFileError, match=r"m\.safetensors is truncated"):
            ThermalSynthNode(
                context=context,
                model_loader=broken,
                colorizer=lambda t, n: t,
                parameter_overrides=[Parameter("model_path", value="m.safetensors")],
            )
    finally:
        rclpy.try_shutdown(context=context)


def test_diagnostics_timer_racing_ctrl_c_is_not_an_error(ros_domain_id: int) -> None:
    # Ctrl-C shuts the context down from the signal handler; a timer callback already running then
    # publishes into a dead context. That is the normal end of the node, not a crash (exit 1).
    import rclpy

    with running_node(ros_domain_id, FakeModel()) as node:
        rclpy.try_shutdown(context=node.context)
        node._publish_diagnostics()  # no exception


def test_qos_mismatches_are_reported_with_what_to_do(ros_domain_id: int, probe: Any) -> None:
    """A camera the node cannot hear, or a viewer it cannot serve, is named in the log and /diagnostics.

    rclpy's default reports are replaced by the node's own (cheaper for the executor, and they say
    which parameter to change), so this checks that both mismatches are still reported.
    """
    from rclpy.qos import qos_profile_sensor_data

    params = {"diagnostics_period": 0.2, "input_qos.reliability": "reliable", "output_qos.reliability": "best_effort"}
    with running_node(ros_domain_id, FakeModel(size=(64, 48)), params):
        diag = Collector(probe, DiagnosticArray, "/diagnostics")

        def problems() -> set[str]:
            return {diagnostics_values(m).get(DiagKey.LAST_PROBLEM, "") for m in diag.snapshot()}

        def reported(text: str) -> Callable[[], bool]:
            return lambda: any(text in p for p in problems())

        camera = probe.create_publisher(Image, "rgb/image", qos_profile_sensor_data)  # best effort
        wait_for(reported("offers QoS incompatible with this node's input_qos"), 20.0, "the input QoS report")
        viewer = probe.create_subscription(Image, "thermal/image", lambda m: None, RELIABLE)
        wait_for(reported("requests QoS this node does not offer"), 20.0, "the output QoS report")
        assert camera and viewer
        assert any("input_qos.reliability" in p for p in problems())
        assert any("set output_qos.reliability" in p for p in problems())
