"""``thermal-synth bench node``: what the ROS 2 node adds on top of the model, for 640x512 thermal frames.

Two figures, measured in the same run:

* message conversion and publishing per frame (decode each camera encoding to
  the model's input; build and publish the mono16 output to a matched
  subscriber) -- target under 5 ms;
* end-to-end latency (probe publishes an RGB frame -> probe receives
  ``thermal/image``), one frame in flight at a time, against the model's own
  in-process latency on the same frame -- target: node overhead under 10% of
  the model time for the default model.

The node runs in this process on its own rclpy Context (its own DDS
participant), with LARGE_DATA transports as in production. RGB frames are 640
pixels wide with the aspect ratio of the model's alignment (640x569 for the
embedded model, whose rig is FLIR ADAS v1's 1800x1600 RGB camera); the thermal
output is 640x512. Each end-to-end frame is paired with an in-process model call
on the same frame just before it, so both figures see the same machine load.
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from thermal_synth_core.bench import Benchmark, Timing, measure, write_result
from thermal_synth_core.errors import BackendError
from thermal_synth_core.ui import summary
from thermal_synth_ros.dds import configure_dds

WIDTH, HEIGHT = 640, 512
ENCODINGS = ("rgb8", "bgr8", "rgba8", "bayer_rggb8", "yuv422", "mono16")


def _rgb_size(model: Any) -> tuple[int, int]:
    """A 640-pixel-wide RGB camera frame with the aspect ratio of the model's rig (no stretching)."""
    alignment = getattr(model.spec, "alignment", None)
    if alignment is None:
        return WIDTH, HEIGHT
    w, h = alignment.rgb_size
    return WIDTH, round(h * WIDTH / w)


def _timing(samples_ms: list[float]) -> Timing:
    lat = np.sort(np.asarray(samples_ms))
    return Timing(
        p50_ms=float(np.median(lat)),
        p95_ms=float(lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]),
        mean_ms=float(lat.mean()),
        n=len(lat),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="", metavar="PATH", help="model file (default: the embedded model)")
    parser.add_argument("--backend", default="auto", help="inference backend")
    parser.add_argument("--frames", type=int, default=60, metavar="N", help="end-to-end frames to time")
    parser.add_argument("--domain-id", type=int, default=97, metavar="ID", help="ROS_DOMAIN_ID to run on")


def _image_msg(pixels: npt.NDArray[Any], encoding: str) -> Any:
    import array

    from sensor_msgs.msg import Image

    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0)
    msg.step = int(pixels.strides[0])
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).reshape(-1).view(np.uint8).data)
    msg.data = data
    return msg


def _camera_frame(encoding: str, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
    import cv2

    if encoding == "rgb8":
        return rgb
    if encoding == "bgr8":
        return np.ascontiguousarray(rgb[:, :, ::-1])
    if encoding == "rgba8":
        return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA))
    if encoding == "bayer_rggb8":
        bayer = rgb[:, :, 1].copy()
        bayer[0::2, 0::2] = rgb[0::2, 0::2, 0]
        bayer[1::2, 1::2] = rgb[1::2, 1::2, 2]
        return bayer
    if encoding == "yuv422":
        return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY))
    return rgb[:, :, 1].astype(np.uint16) * np.uint16(257)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    configure_dds()
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from thermal_synth_ros.conversions import image_msg, to_color8
    from thermal_synth_ros.model import ModelParams, load_colorizer, load_thermal_model
    from thermal_synth_ros.node import ThermalSynthNode

    repeat = 20 if args.quick else 100
    frames = max(10, args.frames // 3) if args.quick else args.frames
    params = ModelParams(model_path=args.model, backend=args.backend)
    model: Any = load_thermal_model(params)
    colorizer: Any = load_colorizer()
    model_name = params.describe()
    width, height = _rgb_size(model)
    rgb = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    for _ in range(3):  # warm-up (ONNX Runtime's first runs allocate)
        model(rgb)

    # ---- conversion + publish, one participant publishing to another
    contexts = [Context(), Context()]
    for c in contexts:
        rclpy.init(context=c, domain_id=args.domain_id)
    probe = rclpy.create_node("bench_probe", context=contexts[0])
    node = ThermalSynthNode(
        context=contexts[1],
        model_loader=lambda p: model,
        colorizer=colorizer,
        parameter_overrides=[Parameter("publish_color", value=False), Parameter("publish_comparison", value=False)],
    )
    executors = [SingleThreadedExecutor(context=c) for c in contexts]
    executors[0].add_node(probe)
    executors[1].add_node(node)
    threads = [threading.Thread(target=e.spin, daemon=True) for e in executors]
    for t in threads:
        t.start()
    try:
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        received: dict[int, float] = {}
        arrived = threading.Event()

        def on_thermal(msg: Any) -> None:
            received[int(msg.header.stamp.sec)] = time.perf_counter()
            arrived.set()

        probe.create_subscription(Image, "thermal/image", on_thermal, qos)
        sink = probe.create_subscription(Image, "bench/sink", lambda m: None, qos)
        pub_rgb = probe.create_publisher(Image, "rgb/image", qos)
        out_pub = node.create_publisher(Image, "bench/sink", qos)
        deadline = time.monotonic() + 20
        while (pub_rgb.get_subscription_count() == 0 or out_pub.get_subscription_count() == 0) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert sink is not None

        conversion: dict[str, dict[str, float]] = {}
        for encoding in ENCODINGS:
            msg = _image_msg(_camera_frame(encoding, rgb), encoding)
            conversion[encoding] = measure(functools.partial(to_color8, msg), repeat=repeat).to_dict()
        thermal = np.asarray(model(rgb))  # the node's output frame (thermal size), published as mono16
        if thermal.dtype != np.uint16:
            thermal = thermal.astype(np.uint16) * np.uint16(257)
        header = _image_msg(rgb, "rgb8").header
        publish = measure(lambda: out_pub.publish(image_msg(thermal, "mono16", header)), repeat=repeat)
        # The slowest camera encoding (demosaicing, YUV) plus building and publishing the output.
        per_frame = max(c["p50_ms"] for c in conversion.values()) + publish.p50_ms

        # ---- end to end, one frame in flight, each paired with an in-process model call on the same
        # frame right before it: both see the same machine load, so their difference is the node's share.
        frame = _image_msg(rgb, "rgb8")
        latencies: list[float] = []
        model_ms: list[float] = []
        for k in range(frames + 3):
            started = time.perf_counter()
            model(rgb)
            in_process = (time.perf_counter() - started) * 1000.0
            frame.header.stamp.sec = k + 1
            arrived.clear()
            sent = time.perf_counter()
            pub_rgb.publish(frame)
            if not arrived.wait(10.0):
                continue  # counted as missing below
            if k >= 3:  # warm-up
                latencies.append((received[k + 1] - sent) * 1000.0)
                model_ms.append(in_process)
    finally:
        for e in executors:
            e.shutdown(timeout_sec=5.0)
        node.destroy_node()
        probe.destroy_node()
        for c in contexts:
            rclpy.try_shutdown(context=c)

    if not latencies:
        raise BackendError("no synthetic frame came back from the node during the benchmark")
    e2e, model_timing = _timing(latencies), _timing(model_ms)
    overhead = e2e.p50_ms - model_timing.p50_ms
    result: dict[str, Any] = {
        "frame": "x".join(str(v) for v in model.output_size),
        "rgb_frame": f"{width}x{height}",
        "model": model_name,
        "backend": model.backend_name,
        "model_in_process": model_timing.to_dict(),
        "node_end_to_end": e2e.to_dict(),
        "frames_lost": frames - len(latencies),
        "node_overhead_ms_p50": overhead,
        "node_overhead_ratio": overhead / model_timing.p50_ms if model_timing.p50_ms > 0 else None,
        "conversion_to_model_input_ms": conversion,
        "build_and_publish_mono16_ms": publish.to_dict(),
        "conversion_plus_publish_ms_p50_worst_encoding": per_frame,
        "targets": {"node_overhead_ratio": 0.10, "conversion_plus_publish_ms": 5.0},
        "dds": "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA, two participants in one process",
    }
    path = write_result(args.out, "node", result)
    summary(
        f"bench node: end-to-end p50 {e2e.p50_ms:.1f} ms vs model {model_timing.p50_ms:.1f} ms "
        f"(overhead {overhead:.1f} ms, {100 * overhead / max(model_timing.p50_ms, 1e-9):.0f}%); "
        f"conversion+publish {per_frame:.2f} ms/frame -> {path}"
    )
    return result


BENCHMARK = Benchmark(
    name="node",
    help="ROS 2 node: end-to-end latency vs. in-process model; conversion + publish cost per frame",
    add_arguments=_add_arguments,
    run=_run,
)
