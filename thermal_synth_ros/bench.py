"""``thermal-synth bench node``: what the ROS 2 node adds on top of the model, for 640x512 thermal frames.

Measured in the same run:

* message conversion and publishing per frame (decode each camera encoding to
  the model's input; build and publish the mono16 output to a matched
  subscriber) -- target under 5 ms;
* end-to-end latency (probe publishes an RGB frame -> probe receives
  ``thermal/image``), one frame in flight at a time, against the model's own
  in-process latency on the same frame -- target: node overhead under 10% of
  the model time for the default model;
* the same round trip through a node that does no work at all: the transport
  floor (two DDS hops of the frames and the rclpy executor wake-ups) that any
  node pays, so ``node overhead - floor`` is the node's own share; and, after
  the main run, the floor between two processes, as on a vehicle (two child
  processes on a domain of their own, see :func:`_cross_process_floor`);
* the same round trip through the plain node one would write first (the model
  called inside the subscription callback, no worker thread).

The node runs in this process on its own rclpy Context (its own DDS
participant), with the package's Fast DDS transports as in production; the in-process plain
approaches run on a third one. RGB frames are 640 pixels wide with the aspect
ratio of the model's alignment (640x569 for the embedded model, whose rig is
FLIR ADAS v1's 1800x1600 RGB camera); the thermal output is 640x512. Each round
trip is paired with an in-process model call on the same frame just before it,
and the in-process paths take turns, so their figures see the same machine load.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from thermal_synth_core.argtypes import parse_size, positive_int
from thermal_synth_core.bench import Timing, measure, write_result
from thermal_synth_core.errors import BackendError
from thermal_synth_core.ui import summary
from thermal_synth_ros.conversions import image_msg, to_color8
from thermal_synth_ros.dds import configure_dds, describe_transports
from thermal_synth_ros.model import ModelParams, load_colorizer, load_thermal_model
from thermal_synth_ros.node import ThermalSynthNode
from thermal_synth_ros.spin import spinning

WIDTH, HEIGHT = 640, 512
#: Targets of issue 6: node overhead under 10% of the model time, conversion + publish under 5 ms a frame.
MAX_OVERHEAD_RATIO, MAX_CONVERSION_MS = 0.10, 5.0
#: The highest ROS_DOMAIN_ID whose Fast DDS ports fit below 65536.
_MAX_DOMAIN_ID = 232
ENCODINGS = ("rgb8", "bgr8", "rgba8", "bayer_rggb8", "yuv422", "mono16")


def _rgb_size(model: Any) -> tuple[int, int]:
    """A 640-pixel-wide RGB camera frame with the aspect ratio of the model's rig (no stretching)."""
    alignment = getattr(model.spec, "alignment", None)
    if alignment is None:
        return WIDTH, HEIGHT
    w, h = alignment.rgb_size
    return WIDTH, round(h * WIDTH / w)


def _image_msg(pixels: npt.NDArray[Any], encoding: str) -> Any:
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0)
    msg.step = int(pixels.strides[0])
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).reshape(-1).view(np.uint8).data)
    msg.data = data
    return msg


def _camera_frame(encoding: str, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
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


class _RoundTrip:
    """Publish an RGB frame on ``topic_in``, wait for the image on ``topic_out``: one frame in flight."""

    def __init__(self, probe: Any, topic_in: str, topic_out: str, qos: Any) -> None:
        self.received: dict[int, float] = {}
        self.arrived = threading.Event()
        self.publisher = probe.create_publisher(Image, topic_in, qos)
        probe.create_subscription(Image, topic_out, self._on_image, qos)
        self.samples_ms: list[float] = []

    def _on_image(self, msg: Any) -> None:
        self.received[int(msg.header.stamp.sec)] = time.perf_counter()
        self.arrived.set()

    def run(self, frame: Any, stamp: int, timeout: float = 10.0) -> float | None:
        """Milliseconds from publishing ``frame`` (stamped ``stamp``) to receiving the answer; None if lost."""
        frame.header.stamp.sec = stamp
        self.received.pop(stamp, None)
        self.arrived.clear()
        sent = time.perf_counter()
        self.publisher.publish(frame)
        deadline = sent + timeout
        while stamp not in self.received:  # a late answer to an earlier frame only wakes us up
            left = deadline - time.perf_counter()
            if left <= 0 or not self.arrived.wait(left):
                return None
            self.arrived.clear()
        return (self.received[stamp] - sent) * 1000.0


def _baseline_node(context: Any, model: Any, output: npt.NDArray[Any], encoding: str, qos: Any) -> Any:
    """The two plain approaches the node is measured against, on their own participant.

    * ``bench/echo_in`` -> ``bench/echo_out``: a node that does no work at all and
      answers every RGB frame with a ready-made output image of the node's size
      and encoding. Its latency is the transport floor: the two DDS hops and
      executor wake-ups any rclpy node pays, whatever it does with the frame.
    * ``bench/plain_in`` -> ``bench/plain_out``: the first node one would write
      (ros2/demos idiom): decode, run the model and publish inside the
      subscription callback, no worker thread, no drop accounting.
    """
    node = rclpy.create_node("bench_baselines", context=context)
    _add_echo(node, "bench/echo", output, encoding, qos)
    plain_pub = node.create_publisher(Image, "bench/plain_out", qos)

    def on_plain(msg: Any) -> None:
        rgb, order = to_color8(msg)
        plain_pub.publish(image_msg(np.asarray(model(rgb, channel_order=order)), encoding, msg.header))

    node.create_subscription(Image, "bench/plain_in", on_plain, qos)
    return node


def _add_echo(node: Any, topic: str, output: npt.NDArray[Any], encoding: str, qos: Any) -> None:
    """``topic``_in -> ``topic``_out: answer every frame with ``output`` (stamped like the frame), no work."""
    pub = node.create_publisher(Image, f"{topic}_out", qos)
    answer = image_msg(output, encoding, Image().header)

    def on_frame(msg: Any) -> None:
        answer.header = msg.header
        pub.publish(answer)

    node.create_subscription(Image, f"{topic}_in", on_frame, qos)


def _echo_process_main(argv: list[str]) -> int:
    """The do-nothing node in a process of its own (``python -m thermal_synth_ros.bench echo ...``).

    Runs until killed. Together with :func:`_probe_process_main` it gives the transport floor
    between two processes, as on a vehicle, where camera driver, node and viewers are separate.
    """
    parser = argparse.ArgumentParser(prog="thermal_synth_ros.bench echo")
    parser.add_argument("--domain-id", type=int, required=True)
    parser.add_argument("--size", type=parse_size, required=True, help="WxH of the answer image")
    parser.add_argument("--encoding", required=True)
    args = parser.parse_args(argv)
    configure_dds()
    w, h = args.size
    dtype = np.uint16 if args.encoding == "mono16" else np.uint8
    rclpy.init(domain_id=args.domain_id)
    node = rclpy.create_node("bench_echo_process")
    _add_echo(node, "bench/xecho", np.zeros((h, w), dtype), args.encoding, _bench_qos())
    with contextlib.suppress(KeyboardInterrupt, ExternalShutdownException):
        rclpy.spin(node)  # until the parent kills this process
    os._exit(0)  # no participant teardown: nothing here is worth the Fast DDS teardown risk


def _probe_process_main(argv: list[str]) -> int:
    """Time round trips to the echo process, each after a model call as in the main run; JSON on stdout."""
    parser = argparse.ArgumentParser(prog="thermal_synth_ros.bench probe")
    parser.add_argument("--domain-id", type=int, required=True)
    parser.add_argument("--frames", type=positive_int, required=True)
    parser.add_argument("--model", default="")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)
    configure_dds()
    model: Any = load_thermal_model(ModelParams(model_path=args.model, backend=args.backend))
    width, height = _rgb_size(model)
    rgb = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    rclpy.init(domain_id=args.domain_id)
    probe = rclpy.create_node("bench_probe_process")
    trip = _RoundTrip(probe, "bench/xecho_in", "bench/xecho_out", _bench_qos())
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    threading.Thread(target=executor.spin, daemon=True).start()
    _wait_for_paths({"other-process echo": trip}, rgb)
    frame = _image_msg(rgb, "rgb8")
    for k in range(args.frames + 3):
        model(rgb)  # the same CPU state as the main run's round trips
        latency = trip.run(frame, stamp=k + 1)
        if latency is not None and k >= 3:
            trip.samples_ms.append(latency)
    sys.stdout.write(json.dumps({"samples_ms": trip.samples_ms}) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no participant teardown, as in the echo process


def _cross_process_floor(args: argparse.Namespace, frames: int, size: str, encoding: str) -> list[float]:
    """Round trips between two child processes on a ROS_DOMAIN_ID 100 away from ``args.domain_id``.

    Children on a domain of their own, so this process's participants never hold a TCP
    connection to another process: tearing such a transport down can hang in Fast DDS
    3.2.3 (eProsima/Fast-DDS#6066). The children exit without any teardown. (The test suite
    gives each test a domain in 1..100, so the children never meet another test's nodes.)
    """
    domain = str(args.domain_id + 100 if args.domain_id + 100 <= _MAX_DOMAIN_ID else args.domain_id - 100)
    here = [sys.executable, "-m", __name__]
    echo = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [*here, "echo", "--domain-id", domain, "--size", size, "--encoding", encoding], stdin=subprocess.DEVNULL
    )
    try:
        probe = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [
                *here,
                "probe",
                "--domain-id",
                domain,
                "--frames",
                str(frames),
                "--model",
                args.model,
                "--backend",
                args.backend,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        echo.kill()
        echo.wait()
    lines = [line for line in probe.stdout.splitlines() if line.startswith("{")]
    if probe.returncode != 0 or not lines:
        raise BackendError(
            f"the other-process floor measurement failed (exit status {probe.returncode}): {probe.stderr[-2000:]}"
        )
    samples: list[float] = json.loads(lines[-1])["samples_ms"]
    return samples


#: A :class:`~thermal_synth_core.bench.Timing` as written to JSON (``Timing.to_dict``).
TimingDoc = dict[str, float]


class NodeTargets(TypedDict):
    """The targets the figures are held against."""

    node_overhead_ratio: float
    conversion_plus_publish_ms: float


class NodeTargetsMet(TypedDict):
    """Which targets this run met."""

    node_overhead_ratio: bool
    node_own_overhead_ratio: bool
    conversion_plus_publish_ms: bool


class NodeBenchResult(TypedDict):
    """``node.json`` (after ``benchmark`` and ``environment``): the figures of ``thermal-synth bench node``."""

    frame: str
    rgb_frame: str
    model: str
    backend: str
    model_in_process: TimingDoc
    node_end_to_end: TimingDoc
    transport_floor_echo_node: TimingDoc
    plain_node_end_to_end: TimingDoc
    transport_floor_echo_other_process: TimingDoc
    transport_floor_other_process_ratio: float
    frames_lost: int
    node_overhead_ms_p50: float
    node_overhead_ratio: float
    transport_floor_ratio: float
    node_own_overhead_ms_p50: float
    node_own_overhead_ratio: float
    plain_node_vs_node_p50: float
    conversion_to_model_input_ms: dict[str, TimingDoc]  # camera encoding -> its conversion time
    build_and_publish_mono16_ms: TimingDoc
    conversion_plus_publish_ms_p50_worst_encoding: float
    targets: NodeTargets
    targets_met: NodeTargetsMet
    dds: str
    figures_note: str


@dataclass(frozen=True)
class _Measured:
    """The raw figures of one run, before they become :class:`NodeBenchResult`."""

    model_ms: list[float]
    trips_ms: dict[str, list[float]]  # path name ("node", "echo", "plain") -> round trips
    lost: int
    conversion: dict[str, TimingDoc]
    publish: Timing


def run(args: argparse.Namespace) -> NodeBenchResult:
    """Time the node end to end against the in-process model, print the figures, write ``node.json``."""
    configure_dds()
    repeat = 20 if args.quick else 100
    frames = max(10, args.frames // 3) if args.quick else args.frames
    params = ModelParams(model_path=args.model, backend=args.backend)
    model: Any = load_thermal_model(params)
    width, height = _rgb_size(model)
    rgb = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    for _ in range(3):  # warm-up (ONNX Runtime's first runs allocate)
        model(rgb)
    output = np.asarray(model(rgb))  # the node's output frame: thermal size, the model's encoding
    measured = _measure(args, model, rgb, output, repeat=repeat, frames=frames)
    if not all(measured.trips_ms.values()):
        raise BackendError("no synthetic frame came back during the benchmark (see the log for DDS errors)")
    size = "x".join(str(v) for v in model.output_size)
    floor_process = Timing.of(_cross_process_floor(args, frames, size, model.output_encoding))
    result = _node_result(measured, floor_process, model, model_name=params.describe(), rgb_frame=f"{width}x{height}")
    path = write_result(args.out, "node", result)
    summary(_summary_line(result, path))
    return result


def _measure(
    args: argparse.Namespace,
    model: Any,
    rgb: npt.NDArray[np.uint8],
    output: npt.NDArray[Any],
    *,
    repeat: int,
    frames: int,
) -> _Measured:
    """Conversion and publish costs, then the round trips of the three paths, on three participants."""
    qos = _bench_qos()
    with _participants(args, model, output, qos) as (probe, node):
        trips = {
            "node": _RoundTrip(probe, "rgb/image", "thermal/image", qos),
            "echo": _RoundTrip(probe, "bench/echo_in", "bench/echo_out", qos),
            "plain": _RoundTrip(probe, "bench/plain_in", "bench/plain_out", qos),
        }
        sink = probe.create_subscription(Image, "bench/sink", lambda m: None, qos)
        out_pub = node.create_publisher(Image, "bench/sink", qos)
        deadline = time.monotonic() + 30.0
        while out_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        _wait_for_paths(trips, rgb)

        conversion: dict[str, TimingDoc] = {}
        for camera_encoding in ENCODINGS:
            msg = _image_msg(_camera_frame(camera_encoding, rgb), camera_encoding)
            conversion[camera_encoding] = measure(functools.partial(to_color8, msg), repeat=repeat).to_dict()
        thermal = output if output.dtype == np.uint16 else output.astype(np.uint16) * np.uint16(257)
        header = _image_msg(rgb, "rgb8").header
        publish = measure(lambda: out_pub.publish(image_msg(thermal, "mono16", header)), repeat=repeat)
        assert sink is not None
        model_ms, lost = _end_to_end(trips, model, rgb, frames)
    return _Measured(model_ms, {name: trip.samples_ms for name, trip in trips.items()}, lost, conversion, publish)


@contextmanager
def _participants(
    args: argparse.Namespace, model: Any, output: npt.NDArray[Any], qos: QoSProfile
) -> Iterator[tuple[Node, ThermalSynthNode]]:
    """(probe, our node) spinning, beside the plain approaches; all torn down after the block.

    Three participants, each with its own executor thread, as three processes would have:
    the probe (camera and viewer), our node, and the plain approaches it is compared with.
    """
    contexts = [Context(), Context(), Context()]
    for c in contexts:
        rclpy.init(context=c, domain_id=args.domain_id)
    probe = rclpy.create_node("bench_probe", context=contexts[0])
    node = ThermalSynthNode(
        context=contexts[1],
        model_loader=lambda p: model,
        colorizer=load_colorizer(),
        parameter_overrides=[Parameter("publish_color", value=False), Parameter("publish_comparison", value=False)],
    )
    baselines = _baseline_node(contexts[2], model, output, model.output_encoding, qos)
    with spinning(list(zip(contexts, (probe, node, baselines), strict=True))):
        yield probe, node


def _end_to_end(
    trips: dict[str, _RoundTrip], model: Any, rgb: npt.NDArray[np.uint8], frames: int
) -> tuple[list[float], int]:
    """Round trips on every path, one frame in flight; (paired in-process model times, frames lost).

    Every round trip is paired with an in-process model call on the same frame right before it,
    and the paths take turns, so all figures see the same machine load (and the same CPU state:
    ONNX Runtime's threads just ran). The first three rounds are warm-up.
    """
    frame = _image_msg(rgb, "rgb8")
    model_ms: list[float] = []
    lost = 0
    order = list(trips)
    for k in range(frames + 3):
        for name in order[k % len(order) :] + order[: k % len(order)]:
            started = time.perf_counter()
            model(rgb)
            in_process = (time.perf_counter() - started) * 1000.0
            latency = trips[name].run(frame, stamp=len(order) * k + order.index(name) + 1)
            if latency is None:
                lost += 1
            elif k >= 3:  # warm-up rounds
                trips[name].samples_ms.append(latency)
                model_ms.append(in_process)
    return model_ms, lost


def _node_result(
    m: _Measured, floor_process: Timing, model: Any, *, model_name: str, rgb_frame: str
) -> NodeBenchResult:
    """The document of one run."""
    e2e, model_timing = Timing.of(m.trips_ms["node"]), Timing.of(m.model_ms)
    floor, plain = Timing.of(m.trips_ms["echo"]), Timing.of(m.trips_ms["plain"])
    overhead = e2e.p50_ms - model_timing.p50_ms
    own = overhead - floor.p50_ms
    # The slowest camera encoding (demosaicing, YUV) plus building and publishing the output.
    per_frame = max(c["p50_ms"] for c in m.conversion.values()) + m.publish.p50_ms

    def share(ms: float) -> float:  # a fraction of the model's own time
        return ms / model_timing.p50_ms

    return {
        "frame": "x".join(str(v) for v in model.output_size),
        "rgb_frame": rgb_frame,
        "model": model_name,
        "backend": model.backend_name,
        "model_in_process": model_timing.to_dict(),
        "node_end_to_end": e2e.to_dict(),
        "transport_floor_echo_node": floor.to_dict(),
        "plain_node_end_to_end": plain.to_dict(),
        "transport_floor_echo_other_process": floor_process.to_dict(),
        "transport_floor_other_process_ratio": share(floor_process.p50_ms),
        "frames_lost": m.lost,
        "node_overhead_ms_p50": overhead,
        "node_overhead_ratio": share(overhead),
        "transport_floor_ratio": share(floor.p50_ms),
        "node_own_overhead_ms_p50": own,
        "node_own_overhead_ratio": share(own),
        "plain_node_vs_node_p50": plain.p50_ms / e2e.p50_ms,
        "conversion_to_model_input_ms": m.conversion,
        "build_and_publish_mono16_ms": m.publish.to_dict(),
        "conversion_plus_publish_ms_p50_worst_encoding": per_frame,
        "targets": {"node_overhead_ratio": MAX_OVERHEAD_RATIO, "conversion_plus_publish_ms": MAX_CONVERSION_MS},
        "targets_met": {
            "node_overhead_ratio": share(overhead) < MAX_OVERHEAD_RATIO,
            "node_own_overhead_ratio": share(own) < MAX_OVERHEAD_RATIO,
            "conversion_plus_publish_ms": per_frame < MAX_CONVERSION_MS,
        },
        "dds": (
            f"{describe_transports()}; probe, node and in-process baselines are three "
            "participants in one process; the other-process floor runs between two child processes"
        ),
        "figures_note": (
            "node_overhead = node end-to-end - model in process; transport_floor = the same round trip "
            "through a node that does no work; node_own_overhead = node_overhead - transport_floor"
        ),
    }


def _summary_line(r: NodeBenchResult, path: Path) -> str:
    """The one-line summary of a run."""
    model_p50 = r["model_in_process"]["p50_ms"]
    floor_p50 = r["transport_floor_echo_node"]["p50_ms"]
    other_p50 = r["transport_floor_echo_other_process"]["p50_ms"]
    overhead, own = r["node_overhead_ms_p50"], r["node_own_overhead_ms_p50"]

    def pct(ms: float) -> str:
        return f"{100 * ms / model_p50:.0f}% of the model"

    return (
        f"bench node: end-to-end p50 {r['node_end_to_end']['p50_ms']:.1f} ms vs model {model_p50:.1f} ms: overhead "
        f"{overhead:.2f} ms ({pct(overhead)}), of which the transport floor (a do-nothing rclpy node) is "
        f"{floor_p50:.2f} ms ({pct(floor_p50)}) and the node's own {own:.2f} ms ({pct(own)}); "
        f"plain in-callback node {r['plain_node_end_to_end']['p50_ms']:.1f} ms; transport floor to another process "
        f"{other_p50:.2f} ms ({pct(other_p50)}); "
        f"conversion+publish {r['conversion_plus_publish_ms_p50_worst_encoding']:.2f} ms/frame -> {path}"
    )


def _wait_for_paths(trips: dict[str, _RoundTrip], rgb: npt.NDArray[np.uint8], timeout: float = 30.0) -> None:
    """Until every path answers a marker frame (the two sides of a DDS match can finish at different times)."""
    deadline = time.monotonic() + timeout
    marker = _image_msg(rgb, "rgb8")
    for name, trip in trips.items():
        while not (trip.publisher.get_subscription_count() > 0 and trip.run(marker, stamp=0, timeout=1.0) is not None):
            if time.monotonic() > deadline:
                raise BackendError(f"the benchmark's {name} path never connected over DDS within {timeout:.0f} s")
            time.sleep(0.1)


def _bench_qos() -> QoSProfile:
    """Reliable, depth 5, on every bench topic (one frame in flight: nothing is ever replaced)."""
    return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


if __name__ == "__main__":
    _CHILDREN = {"echo": _echo_process_main, "probe": _probe_process_main}
    if sys.argv[1:2] == [] or sys.argv[1] not in _CHILDREN:
        sys.exit("usage: python -m thermal_synth_ros.bench {echo|probe} ... (children of `thermal-synth bench node`)")
    sys.exit(_CHILDREN[sys.argv[1]](sys.argv[2:]))
