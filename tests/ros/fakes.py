"""Test doubles for the node's model seam, and a harness that runs the node on its own rclpy Context.

The node runs in this process on its own Context and executor thread; the
test's probe node uses another Context on the same ROS_DOMAIN_ID, so every
message between them is real DDS traffic through Fast DDS.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.camera import CameraModel
from thermal_synth_core.infer import Synthesis, ViewPlan

COLORMAPS = {
    "white-hot": None,
    "black-hot": None,
    "ironbow": cv2.COLORMAP_HOT,
    "inferno": cv2.COLORMAP_INFERNO,
}


def fake_colorize(thermal: npt.NDArray[Any], name: str) -> npt.NDArray[np.uint8]:
    """Stand-in for thermal_synth_core.infer.colormap.apply_colormap."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    t8 = (thermal >> 8).astype(np.uint8) if thermal.dtype == np.uint16 else thermal.astype(np.uint8)
    if name == "black-hot":
        t8 = 255 - t8
    code = COLORMAPS[name]
    if code is None:
        return np.asarray(cv2.cvtColor(t8, cv2.COLOR_GRAY2BGR), np.uint8)
    return np.asarray(cv2.applyColorMap(t8, code), np.uint8)


class FakeModel:
    """Stand-in for the Synthesizer: returns the red channel (honouring channel_order), optionally slowly.

    ``size``: output (W, H); None keeps the input size. ``fail_when`` makes the
    call raise for chosen inputs (to test that one bad frame does not stop the node).
    """

    def __init__(
        self,
        *,
        encoding: str = "mono8",
        size: tuple[int, int] | None = None,
        delay: float = 0.0,
        fail_when: Callable[[npt.NDArray[np.uint8]], bool] | None = None,
    ) -> None:
        self.spec = SimpleNamespace(arch="fake_red_channel", provenance={"test": True})
        self.backend_name = "fake"
        self.output_encoding = encoding
        self._size = size
        self.output_size = size or (0, 0)
        self.delay = delay
        self.fail_when = fail_when
        self.calls = 0
        self.orders: list[str] = []
        self.cameras: list[CameraModel | None] = []

    def synthesize(
        self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb", camera: CameraModel | None = None
    ) -> Synthesis:
        """The red channel in the camera view: the RGB camera model (or a 60 deg pinhole) scaled to the output."""
        image = self(rgb, channel_order)
        size = (rgb.shape[1], rgb.shape[0])
        out = (image.shape[1], image.shape[0])
        self.cameras.append(camera)
        source = "CameraInfo" if camera is not None else "assumed: the model's own field of view"
        cam = camera if camera is not None else CameraModel.pinhole(size, 60.0, "fake pinhole")
        identity = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
        plan = ViewPlan("camera", "fake", size, out, out, identity, cam.scaled(out), source)
        return Synthesis(image, plan.camera, plan)

    def __call__(self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb") -> npt.NDArray[Any]:
        self.calls += 1
        self.orders.append(channel_order)
        if self.fail_when is not None and self.fail_when(rgb):
            raise RuntimeError("fake backend failure on this frame")
        if self.delay:
            time.sleep(self.delay)
        red = np.ascontiguousarray(rgb[:, :, 0 if channel_order == "rgb" else 2])
        if self._size is not None:
            red = np.asarray(cv2.resize(red, self._size, interpolation=cv2.INTER_AREA), np.uint8)
        return red.astype(np.uint16) * 257 if self.output_encoding == "mono16" else red


def loader_for(model: FakeModel) -> Callable[[Any], FakeModel]:
    """A model_loader that hands out ``model`` and records the ModelParams it was given."""

    def load(params: Any) -> FakeModel:
        model.params = params  # type: ignore[attr-defined]
        return model

    return load


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux)."""
    with Path(f"/proc/{os.getpid()}/status").open(encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmRSS not found")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until truthy; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def spinning(node: Any, context: Any) -> Iterator[Any]:
    """Spin ``node`` on its own executor thread until the block ends.

    A context shut down from outside (Ctrl-C, or a test doing what Ctrl-C does) ends the spin with
    ExternalShutdownException, which the node's own main treats as the normal end; so does this thread.
    """
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    def spin() -> None:
        with contextlib.suppress(ExternalShutdownException):
            executor.spin()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        executor.shutdown(timeout_sec=5.0)
        thread.join(timeout=5.0)


@contextmanager
def running_node(
    domain_id: int,
    model: FakeModel | None,
    params: dict[str, Any] | None = None,
    colorizer: Callable[..., Any] = fake_colorize,
    **node_kwargs: Any,
) -> Iterator[Any]:
    """A ThermalSynthNode with ``model`` on its own Context and executor thread (kwargs go to the Node).

    ``model`` None: the real loader (the node's parameters choose the model, e.g. the embedded one).
    """
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    from thermal_synth_ros.model import load_thermal_model
    from thermal_synth_ros.node import ThermalSynthNode

    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    node = None
    try:
        node = ThermalSynthNode(
            context=context,
            model_loader=loader_for(model) if model is not None else load_thermal_model,
            colorizer=colorizer,
            parameter_overrides=[Parameter(k, value=v) for k, v in (params or {}).items()],
            **node_kwargs,
        )
        with spinning(node, context):
            yield node
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown(context=context)


class Collector:
    """Subscribes a probe node to a topic and keeps what arrives, with arrival times."""

    def __init__(self, node: Any, msg_type: Any, topic: str, depth: int = 50) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        self.messages: list[Any] = []
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
        self.sub = node.create_subscription(msg_type, topic, self._on, qos)

    def _on(self, msg: Any) -> None:
        with self._lock:
            self.messages.append(msg)
            self.arrivals.append(time.monotonic())

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self.messages)

    def with_stamp(self, sec: int, nanosec: int = 0) -> Any:
        for m in self.snapshot():
            if (m.header.stamp.sec, m.header.stamp.nanosec) == (sec, nanosec):
                return m
        return None


def diagnostics_values(msg: Any) -> dict[str, str]:
    """The key/value pairs of the thermal_synth status in a DiagnosticArray."""
    for status in msg.status:
        if "thermal_synth" in status.name:
            return {kv.key: kv.value for kv in status.values}
    return {}
