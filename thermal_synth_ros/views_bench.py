"""``thermal-synth bench views``: the camera view on vehicle cameras (1280x720, 1920x1080), in process and in the node.

For each camera size, measured in the same run with the same model and backend:

* ``synthesize`` in process in the ``camera`` view (with the camera's CameraInfo:
  the frame is resized to the model's angular scale, run at that working size,
  returned at it), against the two plain approaches one would write first:
  *stretch* (resize the frame to the model's input size whatever its aspect
  ratio: fast, but objects squashed and at the wrong scale) and *full
  resolution* (run the network on the frame as it is: the aspect kept, the scale
  not, and the cost of every pixel);
* the node's end-to-end latency (probe publishes the RGB frame and its
  CameraInfo -> probe receives ``thermal/image``), one frame in flight, each
  round trip paired with an in-process call on the same frame just before it.

The node runs in this process on its own rclpy Context, with the package's
Fast DDS transports, as ``thermal-synth bench node`` does.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo

from thermal_synth_core.bench import Timing, measure, write_result
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.data.synth.render import render_rgb
from thermal_synth_core.data.synth.world import random_layout
from thermal_synth_core.errors import BackendError
from thermal_synth_core.ui import summary
from thermal_synth_ros.bench import TimingDoc, _bench_qos, _image_msg, _RoundTrip
from thermal_synth_ros.conversions import camera_info_msg
from thermal_synth_ros.dds import configure_dds, describe_transports, free_domain_id
from thermal_synth_ros.model import ModelParams, load_colorizer, load_thermal_model
from thermal_synth_ros.node import ThermalSynthNode
from thermal_synth_ros.spin import spinning

__all__ = ["ViewsBenchResult", "ViewsRow"]


def _street(size: tuple[int, int]) -> Any:
    rng = np.random.default_rng(7)
    return render_rgb(random_layout(rng, size, night=False).scene_at(0.0), size, rng)


class ViewsRow(TypedDict):
    """One camera size: in-process costs of the three approaches and the node's end-to-end latency."""

    camera: str
    hfov_deg: float
    view: str
    working_size: str
    node_view: str | None
    synthesize_in_process: TimingDoc
    plain_stretch_to_model_input: TimingDoc
    plain_full_resolution_network: TimingDoc
    ours_vs_stretch_p50: float
    ours_vs_full_resolution_p50: float
    node_end_to_end: TimingDoc
    model_in_process_paired: TimingDoc
    node_overhead_ms_p50: float
    node_overhead_ratio: float
    frames_lost: int


class ViewsBenchResult(TypedDict):
    """``views.json`` (after ``benchmark`` and ``environment``): the figures of ``thermal-synth bench views``."""

    model: str
    backend: str
    rows: list[ViewsRow]
    dds: str
    figures_note: str


def run(args: argparse.Namespace) -> ViewsBenchResult:
    """Time the camera view on large cameras, plain and ours, print the figures, write ``views.json``."""
    configure_dds()
    repeat = 5 if args.quick else 20
    frames = max(5, args.frames // 3) if args.quick else args.frames
    params = ModelParams(model_path=args.model, backend=args.backend, view="camera")
    model: Any = load_thermal_model(params)
    domain = args.domain_id if args.domain_id is not None else free_domain_id(range(150, 200))
    qos = _bench_qos()
    with _participants(model, domain) as (probe, node):
        trip = _RoundTrip(probe, "rgb/image", "thermal/image", qos)
        info_pub = probe.create_publisher(CameraInfo, "rgb/camera_info", qos)
        rows: list[ViewsRow] = []
        stamp = 1
        for size in args.sizes:
            rows.append(
                _camera_row(args, model, node, trip, info_pub, size=size, repeat=repeat, frames=frames, stamp=stamp)
            )
            stamp += frames + 2  # one stamp per round trip, lost or not
    result: ViewsBenchResult = {
        "model": params.describe(),
        "backend": model.backend.describe(),
        "rows": rows,
        "dds": describe_transports(),
        "figures_note": (
            "synthesize_in_process: camera view with CameraInfo (resize to the model's angular scale, network at "
            "the working size, output at it); plain_stretch: the frame squashed to the model's input size, network "
            "only; plain_full_resolution: the network on the frame as it is; node_overhead = node end-to-end - "
            "the paired in-process call"
        ),
    }
    path = write_result(args.out, "views", result)
    summary(
        "bench views: "
        + "; ".join(
            f"{r['camera']} -> {r['working_size']}: synthesize p50 {r['synthesize_in_process']['p50_ms']:.0f} ms "
            f"(stretch {r['plain_stretch_to_model_input']['p50_ms']:.0f}, full resolution "
            f"{r['plain_full_resolution_network']['p50_ms']:.0f}), node end-to-end "
            f"{r['node_end_to_end']['p50_ms']:.0f} ms (+{100 * r['node_overhead_ratio']:.0f}%)"
            for r in rows
        )
        + f" -> {path}"
    )
    return result


@contextmanager
def _participants(model: Any, domain: int) -> Iterator[tuple[Node, ThermalSynthNode]]:
    """(probe, our node on ``model``) on two participants, spinning; torn down after the block."""
    contexts = [Context(), Context()]
    for c in contexts:
        rclpy.init(context=c, domain_id=domain)
    probe = rclpy.create_node("bench_views_probe", context=contexts[0])
    node = ThermalSynthNode(
        context=contexts[1],
        model_loader=lambda p: model,
        colorizer=load_colorizer(),
        parameter_overrides=[
            Parameter("publish_color", value=False),
            Parameter("publish_comparison", value=False),
            Parameter("input_qos.reliability", value="reliable"),
        ],
    )
    with spinning(list(zip(contexts, (probe, node), strict=True))):
        yield probe, node


def _camera_row(
    args: argparse.Namespace,
    model: Any,
    node: ThermalSynthNode,
    trip: _RoundTrip,
    info_pub: Any,
    *,
    size: tuple[int, int],
    repeat: int,
    frames: int,
    stamp: int,
) -> ViewsRow:
    """Every figure of one camera size; the node's round trips are stamped from ``stamp`` on."""
    camera = CameraModel.pinhole(size, args.hfov, "bench")
    rgb = _street(size)
    plan = model.plan(size[0], size[1], camera)
    ours, stretch, full = _in_process(model, rgb, camera, repeat)
    _send_camera_info(node, info_pub, rgb, camera)
    e2e_ms, model_ms, lost = _round_trips(model, trip, rgb, camera, frames=frames, stamp=stamp)
    if not e2e_ms:
        raise BackendError(f"no synthetic frame came back for {size[0]}x{size[1]} (see the log)")
    e2e, paired = Timing.of(e2e_ms), Timing.of(model_ms)
    node_plan = node._plan
    return {
        "camera": f"{size[0]}x{size[1]}",
        "hfov_deg": args.hfov,
        "view": plan.view,
        "working_size": f"{plan.working_size[0]}x{plan.working_size[1]}",
        "node_view": None if node_plan is None else node_plan.view,
        "synthesize_in_process": ours.to_dict(),
        "plain_stretch_to_model_input": stretch.to_dict(),
        "plain_full_resolution_network": full.to_dict(),
        "ours_vs_stretch_p50": ours.p50_ms / stretch.p50_ms,
        "ours_vs_full_resolution_p50": ours.p50_ms / full.p50_ms,
        "node_end_to_end": e2e.to_dict(),
        "model_in_process_paired": paired.to_dict(),
        "node_overhead_ms_p50": e2e.p50_ms - paired.p50_ms,
        "node_overhead_ratio": (e2e.p50_ms - paired.p50_ms) / paired.p50_ms,
        "frames_lost": lost,
    }


def _in_process(
    model: Any, rgb: npt.NDArray[np.uint8], camera: CameraModel, repeat: int
) -> tuple[Timing, Timing, Timing]:
    """(synthesize in the camera view, the network on the stretched frame, the network at full resolution)."""
    for _ in range(2):  # warm-up: the first call of a working size exports/loads its graph
        model.synthesize(rgb, "rgb", camera)
    ours = measure(lambda: model.synthesize(rgb, "rgb", camera), repeat=repeat)
    backend = model.backend
    stretch_blob = cv2.dnn.blobFromImage(
        cv2.resize(rgb, model.spec.input_size, interpolation=cv2.INTER_AREA), 1 / 127.5, mean=(127.5,) * 3
    )
    stretch = measure(lambda: backend.run(stretch_blob), repeat=repeat)
    full_blob = cv2.dnn.blobFromImage(rgb, 1 / 127.5, mean=(127.5,) * 3)
    backend.run(full_blob)  # warm-up (exports a graph at the full size)
    full = measure(lambda: backend.run(full_blob), repeat=max(3, repeat // 4), warmup=1)
    return ours, stretch, full


def _send_camera_info(node: ThermalSynthNode, info_pub: Any, rgb: npt.NDArray[np.uint8], camera: CameraModel) -> None:
    """Publish the camera's CameraInfo until the node has taken it (or 30 s have passed)."""
    header = _image_msg(rgb[:2, :2], "rgb8").header
    deadline = time.monotonic() + 30.0
    while info_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    info_pub.publish(camera_info_msg(camera, header))
    deadline = time.monotonic() + 30.0
    while node._rgb_camera != camera.with_frame("", "/rgb/camera_info") and time.monotonic() < deadline:
        info_pub.publish(camera_info_msg(camera, header))
        time.sleep(0.1)


def _round_trips(
    model: Any, trip: _RoundTrip, rgb: npt.NDArray[np.uint8], camera: CameraModel, *, frames: int, stamp: int
) -> tuple[list[float], list[float], int]:
    """(end-to-end ms, the paired in-process ms, frames lost); each trip after an in-process call on the frame."""
    frame = _image_msg(rgb, "rgb8")
    e2e_ms: list[float] = []
    model_ms: list[float] = []
    lost = 0
    for k in range(frames + 2):
        started = time.perf_counter()
        model.synthesize(rgb, "rgb", camera)
        in_process = (time.perf_counter() - started) * 1000.0
        latency = trip.run(frame, stamp=stamp + k, timeout=30.0)
        if latency is None:
            lost += 1
        elif k >= 2:
            e2e_ms.append(latency)
            model_ms.append(in_process)
    return e2e_ms, model_ms, lost
