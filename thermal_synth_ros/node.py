"""The ``thermal_synth`` ROS 2 node (executable ``thermal_synth_node``): RGB camera in, synthetic thermal out.

Topics (relative, so namespaces and remaps apply):

* in ``rgb/image`` (sensor_msgs/Image, any encoding of :mod:`.conversions`) or,
  with ``input_transport: compressed``, ``rgb/image/compressed``; optional
  ``rgb/camera_info`` beside it (the camera's field of view for the ``camera``
  view; the latest valid one is used); optional ``real_thermal/image`` (mono8,
  mono16, 16UC1, 32FC1) and ``real_thermal/camera_info``.
* out ``thermal/image`` (mono8/mono16, the RGB header's stamp) with
  ``thermal/camera_info`` for every image (same header, same size),
  ``thermal/image_color`` (bgr8, the same view: no info of its own),
  ``thermal/comparison`` (RGB | synthetic | real) and ``real_thermal/image_agc``
  (the real frame through the same AGC) when real thermal arrives, and ``/diagnostics``.

Output view (parameter ``view``, see :mod:`thermal_synth_core.infer.view`): the
view chosen for a frame size is logged once, and again when the RGB frame size
or camera model changes mid-stream. A CameraInfo that cannot describe the
frames (zero or non-finite K, a size that is neither the image's nor a rescale
of it) is counted, logged (throttled) and ignored: the field-of-view fallback
(``camera_hfov_deg``, else the model's own) applies.

Threads: the executor's callbacks only store the newest RGB message (and the
recent real thermal frames); one worker thread converts, runs the model and
publishes, always on the newest frame, so latency stays bounded when the model
is slower than the camera. Colour and comparison images are computed only while
someone subscribes to them. Bad input and per-frame model failures are logged
(throttled), counted in ``/diagnostics`` and dropped; only start-up errors (a
missing or corrupt model, invalid parameters) stop the node, with exit code 1.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_policy_name_from_kind
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from thermal_synth_core import metrics
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import ConfigError, DataError, MessageError, ThermalSynthError
from thermal_synth_core.infer.view import ViewPlan, parse_output_width
from thermal_synth_core.sync import StampBuffer
from thermal_synth_ros import qos
from thermal_synth_ros.comparison import side_by_side
from thermal_synth_ros.conversions import (
    camera_info_msg,
    compressed_to_color8,
    image_msg,
    stamp_ns,
    to_color8,
    to_mono,
)
from thermal_synth_ros.dds import configure_dds, describe_transports, teardown_watchdog, transport_warning
from thermal_synth_ros.diagnostics import DiagKey, FrameStats, diagnostic_array
from thermal_synth_ros.latest import LatestSlot
from thermal_synth_ros.link import LinkMonitor, LinkStatus
from thermal_synth_ros.model import Colorizer, ModelParams, ThermalModel, load_colorizer, load_thermal_model
from thermal_synth_ros.params import PARAMETERS, ParamSpec, descriptor

__all__ = ["NODE_NAME", "ThermalSynthNode", "main"]

NODE_NAME = "thermal_synth"
#: Real thermal frames kept for pairing (a few seconds at FLIR rates).
REAL_BUFFER = 64
#: Seconds between L1/SSIM comparisons with real thermal (SSIM costs ~10 ms on a CPU).
METRICS_PERIOD_S = 1.0
#: Seconds between repeats of the same per-frame warning.
LOG_THROTTLE_S = 5.0

_SPECS: dict[str, ParamSpec] = {s.name: s for s in PARAMETERS}

ModelLoader = Callable[[ModelParams], ThermalModel]
#: Parameter values by name: free-form, each value has the type of its ParamSpec's default.
_ParamValues = dict[str, Any]


@dataclass(frozen=True)
class LiveSettings:
    """The parameters that take effect while the node runs (replaced whole on a change)."""

    colormap: str
    output_encoding: str
    publish_color: bool
    publish_comparison: bool
    sync_slop: float
    max_rate_hz: float
    thermal_frame_id: str
    stall_timeout: float


@dataclass(frozen=True)
class _Rgb:
    msg: Any
    received: float  # time.monotonic() when the callback got it


@dataclass(frozen=True)
class _Synth:
    """One synthesised frame and what it was made from, for the comparison outputs."""

    rgb: npt.NDArray[np.uint8]
    order: str
    thermal: npt.NDArray[Any]
    encoding: str
    header: Any
    frame_id: str | None


@dataclass(frozen=True)
class _Real:
    header: Any
    pixels: npt.NDArray[Any]  # native dtype, already validated


class ThermalSynthNode(Node):
    """RGB camera in, synthetic thermal out; see the module docstring for topics and threads.

    ``model_loader`` and ``colorizer`` are the seam to the synthesis library
    (defaults: :func:`~thermal_synth_ros.model.load_thermal_model` and
    :func:`~thermal_synth_ros.model.load_colorizer`). Other keyword arguments go
    to :class:`rclpy.node.Node` (``context``, ``parameter_overrides``, ...).
    Raises :class:`ThermalSynthError` when it cannot start.
    """

    def __init__(
        self,
        *,
        model_loader: ModelLoader = load_thermal_model,
        colorizer: Colorizer | None = None,
        **node_kwargs: Any,
    ) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        try:
            self._setup(model_loader, colorizer)
        except BaseException:
            super().destroy_node()
            raise

    # ------------------------------------------------------------------ set-up

    def _setup(self, model_loader: ModelLoader, colorizer: Colorizer | None) -> None:
        p = self._read_parameters()
        self._load_model(model_loader, colorizer)
        self._init_state()
        self._create_endpoints(p)
        self._create_links()
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self._diag_timer = self.create_timer(p["diagnostics_period"], self._publish_diagnostics)

        self._worker = threading.Thread(target=self._run_worker, name="thermal_synth_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"ready: {self._sub_rgb.topic_name} -> {self._pub_thermal.topic_name} + {self._pub_info.topic_name} "
            f"({self._model.output_encoding}, view {self._model_params.view}, backend {self._model.backend_name}, "
            f"ROS_DOMAIN_ID={self.context.get_domain_id()}, {self._links['rgb'].transports}; "
            f"an input quiet for {self._live.stall_timeout:g} s is reported)"
        )

    def _read_parameters(self) -> _ParamValues:
        """Declare every parameter and validate its value; sets the model parameters and live settings."""
        for spec in PARAMETERS:
            try:
                self.declare_parameter(spec.name, spec.default, descriptor(spec))
            except ParameterException as exc:
                raise ConfigError(f"parameter {spec.name}: {exc} ({spec.description})") from None
        p = {spec.name: self.get_parameter(spec.name).value for spec in PARAMETERS}
        for spec in PARAMETERS:
            if spec.choices and p[spec.name] not in spec.choices:
                raise ConfigError(f"parameter {spec.name} is {p[spec.name]!r}; choose one of {', '.join(spec.choices)}")
        try:
            output_width = str(parse_output_width(p["output_width"]))
        except DataError as exc:
            raise ConfigError(f"parameter {exc}") from None
        self._model_params = ModelParams(
            p["model_path"],
            p["backend"],
            p["device"],
            p["precision"],
            view=p["view"],
            camera_hfov_deg=p["camera_hfov_deg"],
            output_width=output_width,
            alignment_path=p["alignment_path"],
            rig_hfov_deg=p["rig_hfov_deg"],
        )
        self._compressed = p["input_transport"] == "compressed"
        self._live = LiveSettings(
            colormap=p["colormap"],
            output_encoding=p["output_encoding"],
            publish_color=p["publish_color"],
            publish_comparison=p["publish_comparison"],
            sync_slop=p["sync_slop"],
            max_rate_hz=p["max_rate_hz"],
            thermal_frame_id=p["thermal_frame_id"],
            stall_timeout=p["stall_timeout"],
        )
        return p

    def _load_model(self, model_loader: ModelLoader, colorizer: Colorizer | None) -> None:
        """Load the model (and the colorizer) the parameters name; refuse one the node cannot publish."""
        self.get_logger().info(f"loading {self._model_params.describe()} (backend {self._model_params.backend})")
        self._model = model_loader(self._model_params)
        if self._model.output_encoding not in ("mono8", "mono16"):
            raise ConfigError(f"the model produces {self._model.output_encoding!r}; the node publishes mono8 or mono16")
        self._colorize = colorizer if colorizer is not None else load_colorizer()
        self._check_colormap(self._live.colormap)

    def _init_state(self) -> None:
        """The statistics, the frame buffers and the latest camera models (none yet)."""
        self._stats = FrameStats()
        self._slot: LatestSlot[_Rgb] = LatestSlot()
        self._real: StampBuffer[_Real] = StampBuffer(REAL_BUFFER)
        self._last_metrics = 0.0
        self._last_agc_stamp: int | None = None
        # The latest valid camera models (replaced whole by the callbacks, read by the worker).
        self._rgb_camera: CameraModel | None = None
        self._real_camera: CameraModel | None = None
        self._plan: ViewPlan | None = None
        self._info_source = "none yet"

    def _create_endpoints(self, p: _ParamValues) -> None:
        """The publishers and subscriptions, with the QoS of parameters ``p``."""
        in_qos = qos.profile(p["input_qos.reliability"], p["input_qos.depth"], what="input_qos")
        out_qos = qos.profile(p["output_qos.reliability"], p["output_qos.depth"], what="output_qos")
        # QoS mismatches are reported by handlers of our own, only where a user can meet them: each
        # event handler is one more entity the executor rebuilds its wait set with on every message,
        # and rclpy's defaults (two per publisher and subscription) cost ~0.1 ms a frame. (rclpy's
        # default incompatible-type report never fires with rmw_fastrtps here, so it is not kept.)
        quiet = PublisherEventCallbacks(use_default_callbacks=False)
        quiet_in = SubscriptionEventCallbacks(use_default_callbacks=False)
        self._pub_thermal = self.create_publisher(Image, "thermal/image", out_qos, event_callbacks=self._out_events())
        self._pub_color = self.create_publisher(
            Image, "thermal/image_color", out_qos, event_callbacks=self._out_events()
        )
        self._pub_info = self.create_publisher(CameraInfo, "thermal/camera_info", out_qos, event_callbacks=quiet)
        self._pub_comparison = self.create_publisher(Image, "thermal/comparison", out_qos, event_callbacks=quiet)
        self._pub_agc = self.create_publisher(Image, "real_thermal/image_agc", out_qos, event_callbacks=quiet)
        # /diagnostics is absolute on purpose: monitors listen there whatever the namespace.
        self._pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10, event_callbacks=quiet)
        rgb_type, rgb_topic = (CompressedImage, "rgb/image/compressed") if self._compressed else (Image, "rgb/image")
        self._sub_rgb = self.create_subscription(
            rgb_type, rgb_topic, self._on_rgb, in_qos, event_callbacks=self._in_events(rgb_topic)
        )
        self._sub_real = self.create_subscription(
            Image, "real_thermal/image", self._on_real, in_qos, event_callbacks=self._in_events("real_thermal/image")
        )
        # CameraInfo beside each image (image_transport naming), with the images' QoS.
        self._sub_rgb_info = self.create_subscription(
            CameraInfo, "rgb/camera_info", self._on_rgb_info, in_qos, event_callbacks=self._in_events("rgb/camera_info")
        )
        self._sub_real_info = self.create_subscription(
            CameraInfo, "real_thermal/camera_info", self._on_real_info, in_qos, event_callbacks=quiet_in
        )

    def _create_links(self) -> None:
        """A link monitor per input, on this process's DDS transports (a transport warning is reported)."""
        transports = describe_transports()
        domain = self.context.get_domain_id()
        warning = transport_warning()
        if warning:
            self._report(warning)
        self._links = {
            key: LinkMonitor(
                sub.topic_name,
                stall_after_s=self._live.stall_timeout,
                transports=transports,
                domain_id=domain,
                required=key == "rgb",  # real thermal is optional: only a publisher that goes quiet counts
                now=time.monotonic(),
            )
            for key, sub in (("rgb", self._sub_rgb), ("real", self._sub_real))
        }
        self._link_states = {"rgb": "waiting", "real": "waiting"}

    def _in_events(self, relative_topic: str) -> SubscriptionEventCallbacks:
        """An input's QoS mismatch report (a publisher offering less than input_qos asks for)."""

        def incompatible_qos(event: Any) -> None:
            topic = self.resolve_topic_name(relative_topic)  # namespaced and remapped, as users know it
            self._report(
                f"a publisher on {topic} offers QoS incompatible with this node's input_qos "
                f"({qos_policy_name_from_kind(event.last_policy_kind)}), so none of its frames arrive; "
                f"set input_qos.reliability/depth to what it offers (`ros2 topic info -v {topic}` shows it)"
            )

        return SubscriptionEventCallbacks(incompatible_qos=incompatible_qos, use_default_callbacks=False)

    def _out_events(self) -> PublisherEventCallbacks:
        """An output's QoS mismatch report (a viewer asking for more than output_qos offers)."""

        def incompatible_qos(event: Any) -> None:
            self._report(
                f"a subscriber to {self._pub_thermal.topic_name} or {self._pub_color.topic_name} requests QoS "
                f"this node does not offer ({qos_policy_name_from_kind(event.last_policy_kind)}), so it gets "
                f"nothing; set output_qos.reliability (reliable suits RViz and ros2 bag) or change the subscriber"
            )

        return PublisherEventCallbacks(incompatible_qos=incompatible_qos, use_default_callbacks=False)

    def _report(self, problem: str) -> None:
        self._stats.error(problem)
        self.get_logger().warning(problem)  # once per mismatched endpoint discovered: no throttle

    def _check_colormap(self, name: str) -> None:
        try:
            self._colorize(np.zeros((2, 2), np.uint8), name)
        except Exception as exc:  # the library's error names the valid maps
            raise ConfigError(f"parameter colormap is {name!r}: {exc}") from None

    def destroy_node(self) -> None:
        """Stop the worker (finishing the frame in hand), then tear the node down."""
        self._stopping.set()
        if self._worker is not None:
            self._slot.close()
            self._worker.join(timeout=10.0)
            self._worker = None
        super().destroy_node()

    # -------------------------------------------------------------- parameters

    def _validate_parameters(self, params: list[Parameter[Any]]) -> SetParametersResult:
        for param in params:
            spec = _SPECS.get(param.name)
            if spec is None:
                continue  # use_sim_time and the like are rclpy's business
            if not spec.live:
                if param.value == self.get_parameter(param.name).value:
                    continue
                return SetParametersResult(
                    successful=False,
                    reason=(
                        f"{param.name} cannot change while the node runs: it is read when the node starts "
                        f"({'the model is loaded' if param.name in _MODEL_PARAMS else 'topics are created'} "
                        f"with it), so changing it needs a reload; restart the node with the new value"
                    ),
                )
            if spec.choices and param.value not in spec.choices:
                return SetParametersResult(
                    successful=False, reason=f"{param.name} must be one of {', '.join(spec.choices)}"
                )
            if param.name == "colormap":
                try:
                    self._check_colormap(str(param.value))
                except ConfigError as exc:
                    return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params: list[Parameter[Any]]) -> None:
        changes = {p.name: p.value for p in params if p.name in _SPECS and _SPECS[p.name].live}
        if changes:
            self._live = replace(self._live, **changes)
            if "stall_timeout" in changes:
                for link in self._links.values():
                    link.stall_after_s = self._live.stall_timeout
            self.get_logger().info(f"parameters changed: {changes}")

    # --------------------------------------------------------------- callbacks

    def _on_rgb(self, msg: Any) -> None:
        # Executor thread: keep it trivial, the worker does the work.
        self._stats.count("received")
        if self._slot.put(_Rgb(msg, time.monotonic())):
            self._stats.count("dropped")

    def _camera_of(self, msg: Any, topic: str) -> CameraModel | None:
        """A CameraInfo as a camera model, or None (counted, logged throttled) when it cannot describe a camera."""
        try:
            return CameraModel.from_msg(msg, what=topic)
        except DataError as exc:
            self._reject_info(str(exc))
            return None

    def _reject_info(self, problem: str) -> None:
        self._stats.count("info_rejected")
        self._stats.error(problem)
        self.get_logger().warning(
            f"ignored a CameraInfo: {problem}; the field-of-view fallback (camera_hfov_deg, else the model's) "
            "applies until a valid one arrives",
            throttle_duration_sec=LOG_THROTTLE_S,
        )

    def _on_rgb_info(self, msg: Any) -> None:
        camera = self._camera_of(msg, self._sub_rgb_info.topic_name)
        if camera is not None:
            self._rgb_camera = camera

    def _on_real_info(self, msg: Any) -> None:
        camera = self._camera_of(msg, self._sub_real_info.topic_name)
        if camera is not None:
            self._real_camera = camera

    def _on_real(self, msg: Any) -> None:
        self._stats.count("real_received")
        try:
            pixels = to_mono(msg)  # a validated view; no copy for little-endian data
        except MessageError as exc:
            self._stats.count("real_rejected")
            self._stats.error(f"real thermal: {exc}")
            self.get_logger().warning(
                f"dropped a real thermal frame on {self._sub_real.topic_name}: {exc}",
                throttle_duration_sec=LOG_THROTTLE_S,
            )
            return
        self._real.add(stamp_ns(msg.header), _Real(msg.header, pixels))

    def _publish_diagnostics(self) -> None:
        try:
            self._send_diagnostics()
        except RuntimeError:  # rclpy's RCLError and InvalidHandle
            if self.context.ok():
                raise
            # Ctrl-C shut the context down while this timer ran: nothing to report to any more.

    def _check_links(self) -> list[LinkStatus]:
        """Each input's link status; a change of state is logged once (warning in, info out)."""
        counts = self._stats.counts()
        now = time.monotonic()
        statuses = []
        for key, sub, received in (
            ("rgb", self._sub_rgb, counts["received"]),
            ("real", self._sub_real, counts["real_received"]),
        ):
            status = self._links[key].update(
                now=now,
                received=received,
                visible=self.count_publishers(sub.topic_name),
                matched=sub.get_publisher_count(),
            )
            if status.state != self._link_states[key]:
                if status.problem:
                    self.get_logger().warning(status.problem)
                elif self._link_states[key] in ("stalled", "not matched", "no publisher"):
                    self.get_logger().info(f"{sub.topic_name}: frames arrive again")
                self._link_states[key] = status.state
            statuses.append(status)
        return statuses

    def _send_diagnostics(self) -> None:
        rgb_link, real_link = self._check_links()
        plan = self._plan
        size = "(no frame yet)" if plan is None else f"{plan.output_size[0]}x{plan.output_size[1]}"
        info = {
            DiagKey.BACKEND: self._model.backend_name,
            DiagKey.MODEL: self._model_params.describe(),
            DiagKey.ARCHITECTURE: str(getattr(self._model.spec, "arch", "unknown")),
            DiagKey.OUTPUT: f"{self._output_encoding(self._live)} {size}",
            DiagKey.VIEW: f"{self._model_params.view} (no frame yet)" if plan is None else _view_line(plan),
            DiagKey.OUTPUT_CAMERA_INFO: self._info_source,
            DiagKey.INPUT_TOPIC: self._sub_rgb.topic_name,
            DiagKey.COLORMAP: self._live.colormap,
            DiagKey.INPUT_LINK: rgb_link.state,
            DiagKey.INPUT_PUBLISHERS: f"{rgb_link.matched}/{rgb_link.visible}",
            DiagKey.REAL_LINK: real_link.state,
            DiagKey.TRANSPORTS: self._links["rgb"].transports,
        }
        report = self._stats.report(info, link_problems=[s.problem for s in (rgb_link, real_link) if s.problem])
        message = diagnostic_array(
            report,
            name=f"{self.get_name()}: synthetic thermal camera",
            hardware_id=f"{info[DiagKey.ARCHITECTURE]} on {info[DiagKey.BACKEND]}",
            stamp=self.get_clock().now().to_msg(),
        )
        self._pub_diag.publish(message)

    # ------------------------------------------------------------------ worker

    def _run_worker(self) -> None:
        next_start = 0.0
        while not self._stopping.is_set():
            rate = self._live.max_rate_hz
            wait = next_start - time.monotonic()
            if rate > 0 and wait > 0 and self._stopping.wait(wait):
                break
            frame = self._slot.get(timeout=0.25)
            if frame is None or self._stopping.is_set():
                continue
            next_start = time.monotonic() + (1.0 / rate if rate > 0 else 0.0)
            try:
                self._process(frame, self._live)
            except Exception as exc:  # the worker must survive anything one frame does
                if not self.context.ok():
                    break  # shutting down: the publishers' context is gone, not a frame failure
                self._stats.count("failed")
                self._stats.error(f"{type(exc).__name__}: {exc}")
                self.get_logger().error(
                    f"frame failed: {type(exc).__name__}: {exc}", throttle_duration_sec=LOG_THROTTLE_S
                )

    def _output_encoding(self, live: LiveSettings) -> str:
        return self._model.output_encoding if live.output_encoding == "auto" else live.output_encoding

    def _process(self, frame: _Rgb, live: LiveSettings) -> None:
        msg = frame.msg
        try:
            rgb, order = compressed_to_color8(msg) if self._compressed else to_color8(msg)
        except MessageError as exc:
            self._stats.count("rejected")
            self._stats.error(f"RGB: {exc}")
            self.get_logger().warning(
                f"dropped an RGB frame on {self._sub_rgb.topic_name}: {exc}", throttle_duration_sec=LOG_THROTTLE_S
            )
            return

        camera = self._rgb_camera
        if camera is not None and camera.size != (rgb.shape[1], rgb.shape[0]):
            try:
                camera = camera.fitted_to((rgb.shape[1], rgb.shape[0]), self._sub_rgb_info.topic_name)
            except DataError as exc:
                self._reject_info(str(exc))
                camera = None
        t0 = time.monotonic()
        try:
            result = self._model.synthesize(rgb, order, camera)
        except Exception as exc:  # one bad frame (or a backend hiccup) must not stop the camera
            self._stats.count("failed")
            self._stats.error(f"model: {type(exc).__name__}: {exc}")
            self.get_logger().error(
                f"the model failed on a frame ({type(exc).__name__}: {exc}); dropped it",
                throttle_duration_sec=LOG_THROTTLE_S,
            )
            return
        model_s = time.monotonic() - t0
        encoding = self._output_encoding(live)
        thermal = _as_encoding(np.asarray(result.image), encoding)
        frame_id = live.thermal_frame_id or None
        if result.plan != self._plan:
            self._new_plan(result.plan)
        out_camera = self._output_camera(result.plan, result.camera, (thermal.shape[1], thermal.shape[0]))
        if self._stopping.is_set():
            return
        self._pub_thermal.publish(image_msg(thermal, encoding, msg.header, frame_id))
        self._pub_info.publish(camera_info_msg(out_camera, msg.header, frame_id))
        self._stats.frame_done(time.monotonic() - frame.received, model_s)

        if live.publish_color and self._pub_color.get_subscription_count() > 0:
            color = self._colorize(thermal, live.colormap)
            self._pub_color.publish(image_msg(np.asarray(color, np.uint8), "bgr8", msg.header, frame_id))
        if len(self._real):
            self._compare_with_real(_Synth(rgb, order, thermal, encoding, msg.header, frame_id), live)

    def _new_plan(self, plan: ViewPlan) -> None:
        """Say once which view a frame size got and why (again when the size or camera model changes)."""
        before = self._plan
        self._plan = plan
        changed = "" if before is None else f" (was {before.rgb_size[0]}x{before.rgb_size[1]}, view {before.view})"
        self.get_logger().info(f"{plan.describe()}{changed}")
        for warning in plan.warnings():
            self.get_logger().warning(warning)

    def _output_camera(self, plan: ViewPlan, camera: CameraModel, size: tuple[int, int]) -> CameraModel:
        """thermal/camera_info: the plan's camera, or in the rig view the real thermal camera's when it arrives."""
        if plan.view == "rig" and self._real_camera is not None:
            try:
                camera = self._real_camera.fitted_to(size, self._sub_real_info.topic_name)
                camera = camera.with_frame(camera.frame_id, "real thermal CameraInfo")
            except DataError as exc:
                self._reject_info(str(exc))
        if camera.size != size:  # a stand-in model may return another size than planned
            camera = camera.scaled(size)
        self._info_source = camera.source
        return camera

    def _compare_with_real(self, s: _Synth, live: LiveSettings) -> None:
        """Pair ``s`` with real thermal; publish the AGC'd real frame, the comparison, update L1/SSIM."""
        stamp = stamp_ns(s.header)
        match = self._real.nearest(stamp, live.sync_slop)
        if match is None:
            return
        self._stats.count("paired")
        real_stamp, real = match
        now = time.monotonic()
        want_cmp = live.publish_comparison and self._pub_comparison.get_subscription_count() > 0
        want_agc = (
            live.publish_comparison
            and real_stamp != self._last_agc_stamp
            and self._pub_agc.get_subscription_count() > 0
        )
        want_metrics = now - self._last_metrics >= METRICS_PERIOD_S
        if not (want_cmp or want_agc or want_metrics):
            return

        real_norm = agc_normalize(real.pixels)  # the one AGC used by training and evaluation too
        if s.encoding == "mono8":
            real_agc: npt.NDArray[Any] = (real_norm * 255.0 + 0.5).astype(np.uint8)
        else:
            real_agc = (real_norm * 65535.0 + 0.5).astype(np.uint16)
        if want_agc:
            self._pub_agc.publish(image_msg(real_agc, s.encoding, real.header, None))
            self._last_agc_stamp = real_stamp

        h = s.thermal.shape[0]
        score = ""
        if want_metrics:
            self._last_metrics = now
            # As evaluate scores (same functions): the synthetic frame on the real frame's grid, both AGC'd.
            real_h, real_w = real_norm.shape[:2]
            l1, ssim = metrics.l1_ssim(metrics.normalised_at(s.thermal, (real_w, real_h)), real_norm)
            self._stats.metrics(l1, ssim)
            score = f"L1 {l1:.3f}" + (f"  SSIM {ssim:.3f}" if ssim is not None else "")

        if want_cmp:
            bgr = s.rgb if s.order == "bgr" else np.asarray(cv2.cvtColor(s.rgb, cv2.COLOR_RGB2BGR), np.uint8)
            real_lines = ["real (AGC)", f"dt {(real_stamp - stamp) / 1e6:+.0f} ms"]
            if score:
                real_lines.append(score)
            panels = [
                (["RGB"], bgr),
                (["synthetic", self._model.backend_name], np.asarray(self._colorize(s.thermal, live.colormap))),
                (real_lines, np.asarray(self._colorize(real_agc, live.colormap))),
            ]
            self._pub_comparison.publish(image_msg(side_by_side(panels, h), "bgr8", s.header, s.frame_id))


_MODEL_PARAMS = (
    "model_path",
    "backend",
    "device",
    "precision",
    "view",
    "camera_hfov_deg",
    "output_width",
    "alignment_path",
    "rig_hfov_deg",
)


def _view_line(plan: ViewPlan) -> str:
    """The view of the latest frames for /diagnostics."""
    (rw, rh), (ww, wh) = plan.rgb_size, plan.working_size
    scale = f", scale from {plan.scale_source}" if plan.scale_source else ""
    return f"{plan.view}: {rw}x{rh} -> network {ww}x{wh}{scale}"


def _as_encoding(thermal: npt.NDArray[Any], encoding: str) -> npt.NDArray[Any]:
    """The model's output as ``encoding`` (mono8: high byte of 16-bit; mono16: 8-bit scaled by 257)."""
    if thermal.ndim == 3 and thermal.shape[2] == 1:
        thermal = thermal[:, :, 0]
    if thermal.ndim != 2 or thermal.dtype not in (np.uint8, np.uint16):
        raise MessageError(f"the model returned a {thermal.dtype} array of shape {thermal.shape}, not H x W uint8/16")
    if encoding == "mono8" and thermal.dtype == np.uint16:
        return (thermal >> 8).astype(np.uint8)
    if encoding == "mono16" and thermal.dtype == np.uint8:
        return thermal.astype(np.uint16) * np.uint16(257)
    return thermal


def main(
    args: Sequence[str] | None = None,
    *,
    model_loader: ModelLoader = load_thermal_model,
    colorizer: Colorizer | None = None,
) -> int:
    """Entry point of ``thermal_synth_node``: 0 after a clean shutdown, 1 if the node cannot start.

    ``args`` is a full argv (program name first; None: ``sys.argv``). The keyword
    arguments are the model seam, for running the executable path with a stand-in.
    """
    transports = configure_dds()
    rclpy.init(args=list(args) if args is not None else None)
    logger = rclpy.logging.get_logger(NODE_NAME)
    try:
        node = ThermalSynthNode(model_loader=model_loader, colorizer=colorizer)
    except ThermalSynthError as exc:
        logger.fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        rclpy.try_shutdown()
        return 0
    logger.debug(f"DDS transports: {transports}")
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C, SIGTERM or an external shutdown: a normal end
    except RuntimeError:  # rclpy's RCLError
        if rclpy.ok():
            raise
        # A callback was publishing as Ctrl-C shut the context down: a normal end too.
    finally:
        with teardown_watchdog():
            node.destroy_node()
            rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
