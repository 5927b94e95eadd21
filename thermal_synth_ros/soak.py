"""``python -m thermal_synth_ros.soak`` (``make soak``): run the node for minutes on a camera-like load and record it.

The node runs as its own process (``python -m thermal_synth_ros.node``, as a
vehicle runs it) on the embedded default model, or on a ``fast_unet`` model
file built here when the package has none. This process plays the cameras:
640x512 RGB at 30 Hz and a 640x512 mono16 "real thermal" stream (synthetic
street scenes, the thermal frame stamped 3 ms after its RGB frame) and
subscribes to ``thermal/image``, ``thermal/comparison`` and ``/diagnostics``.

Every second it samples the node's resident memory (``/proc/<pid>/status``)
and CPU time; every output gives one end-to-end latency (RGB publish ->
thermal arrival, both on this process's monotonic clock). The first
``--warmup`` seconds (model load, ONNX export, allocator and DDS pools
filling, the 64-frame real-thermal buffer) are excluded from the memory
growth and latency figures; growth compares the median RSS of the first and
last 5 % of the samples after warm-up (at least five each). Results go to ``OUT/NAME.json`` (summary and
per-second samples) and ``OUT/NAME.png`` (RSS and latency over time).

"Errors" counts every frame the node rejected or failed on, every ``[ERROR]``
/``[FATAL]``/traceback line in its log, and a node that died or did not exit
cleanly. "Drops" separates frames lost in transport from frames the node
replaced by a newer one (by design: it always works on the newest frame).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from thermal_synth_core.bench import environment
from thermal_synth_core.data.imageio import read_rgb, read_thermal
from thermal_synth_core.data.synth import SynthOptions, generate
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.fileio import atomic_path, atomic_write_json
from thermal_synth_core.infer.embedded import default_model_path
from thermal_synth_core.infer.imaging import model_alignment
from thermal_synth_core.modelfile import ModelSpec, read_spec, save_model
from thermal_synth_core.models import build_generator
from thermal_synth_core.ui import progress, summary
from thermal_synth_ros.conversions import image_msg
from thermal_synth_ros.dds import (
    configure_dds,
    describe_transports,
    free_domain_id,
    stop_child,
    teardown_watchdog,
)
from thermal_synth_ros.diagnostics import DiagKey
from thermal_synth_ros.link import publisher_link

__all__ = ["SoakOptions", "SoakResult", "SoakSample", "SoakSummary", "main", "run_soak"]

log = logging.getLogger(__name__)

#: RSS growth after warm-up that counts as a leak in a 10-minute run (see ``--rss-bound``).
DEFAULT_RSS_BOUND_MIB = 30.0
#: Seconds to wait for the node's first output (model load, first-use ONNX export, DDS discovery).
READY_TIMEOUT_S = 180.0
#: Seconds between reports on the links while the first output is awaited.
STALL_REPORT_S = 10.0
#: Offset of each real thermal frame's stamp from its RGB frame's (within the node's sync_slop).
THERMAL_OFFSET_NS = 3_000_000
SCENES = 8


@dataclass(frozen=True)
class SoakOptions:
    """What ``python -m thermal_synth_ros.soak`` runs; see ``--help``."""

    duration: float = 600.0
    warmup: float = 30.0
    rate: float = 30.0
    thermal_rate: float = 30.0
    size: str = "auto"
    model: str = ""
    backend: str = "auto"
    out: Path = Path("bench/results")
    name: str = "soak"
    domain_id: int | None = None
    sample_period: float = 1.0
    view: bool = True
    rss_bound_mib: float = DEFAULT_RSS_BOUND_MIB


@dataclass
class _Counters:
    """What the camera side saw, shared between its threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: dict[int, float] = field(default_factory=dict)  # stamp ns -> monotonic publish time
    sent_total: int = 0
    thermal_sent: int = 0
    outputs: int = 0
    comparisons: int = 0
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (monotonic arrival, latency s)
    diagnostics: dict[str, str] = field(default_factory=dict)


# -- inputs -------------------------------------------------------------------------------------


def _model_file(opts: SoakOptions, workdir: Path) -> tuple[Path, str]:
    """The model to soak: ``--model``, else the embedded default, else a fast_unet built here."""
    if opts.model:
        return Path(opts.model).expanduser(), f"model file {opts.model}"
    if default_model_path().is_file():
        return default_model_path(), "embedded default model"
    torch.manual_seed(0)
    arch_kwargs: dict[str, Any] = {"ngf": 16, "norm": "instance"}  # free-form: the architecture's keywords
    net = build_generator("fast_unet", init_type="xavier", **arch_kwargs)
    spec = ModelSpec(
        arch="fast_unet",
        arch_kwargs=arch_kwargs,
        input_size=(320, 256),
        output_size=(640, 512),
        provenance={"trained_by": "thermal_synth_ros.soak", "notes": "random weights: soak stand-in"},
    )
    path = save_model(workdir / "soak_fast_unet.safetensors", net, spec)
    return path, "fast_unet (ngf 16, 320x256, random weights) built by the soak runner: no embedded model installed"


def _rgb_size(opts: SoakOptions, model: Path) -> tuple[int, int]:
    """``--size``, or 640x512 when the model's alignment covers it, else 640 wide at the alignment's aspect."""
    if opts.size != "auto":
        w, _, h = opts.size.lower().partition("x")
        return int(w), int(h)
    alignment = model_alignment(read_spec(model))
    if alignment.covers((640, 512)):
        return 640, 512
    rw, rh = alignment.rgb_size
    return 640, round(640 * rh / rw)


def _scenes(size: tuple[int, int], workdir: Path) -> tuple[list[npt.NDArray[np.uint8]], list[npt.NDArray[np.uint16]]]:
    """Synthetic street scenes: RGB at ``size`` and raw 16-bit thermal at 640x512."""
    out = workdir / "scenes"
    generate(out, SynthOptions(layout="pairs", n=SCENES, seed=11, thermal_size=(640, 512), night_fraction=0.4))
    rgbs, thermals = [], []
    for rgb_path in sorted(out.glob("*/rgb/*.png")):
        rgb = read_rgb(rgb_path)
        if (rgb.shape[1], rgb.shape[0]) != size:
            rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
        rgbs.append(rgb)
        raw = read_thermal(rgb_path.parent.parent / "thermal16" / rgb_path.name)
        thermals.append(np.asarray(raw, np.uint16))
    return rgbs, thermals


def _image(pixels: npt.NDArray[Any], encoding: str, frame_id: str) -> Any:
    """A message built once and re-stamped for every publish (no per-frame copy on the camera side)."""
    return image_msg(pixels, encoding, Header(), frame_id)


# -- the node process ---------------------------------------------------------------------------


def _start_node(model: Path, backend: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "thermal_synth_ros.node",
        "--ros-args",
        "-p",
        f"model_path:={model}",
        "-p",
        f"backend:={backend}",
        "-p",
        "diagnostics_period:=1.0",
    ]
    with log_path.open("wb") as log:
        # An argument list (no shell) naming this interpreter and our own module.
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


def _rss_mib(pid: int) -> float:
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop_node(proc: subprocess.Popen[bytes]) -> tuple[int | None, bool]:
    """SIGINT, as Ctrl-C or ``ros2 launch`` would; (exit code, whether it needed a SIGKILL)."""
    killed = stop_child(proc, timeout=25)
    return proc.returncode, killed


def _link_report(node: Any, cams: _Cameras) -> str:
    """Both links as this process sees them, and the node's own view from its last /diagnostics."""
    with cams.counters.lock:
        diag = dict(cams.counters.diagnostics)
    node_view = (
        f"the node says input link {diag.get(DiagKey.INPUT_LINK, '?')}: "
        f"{diag.get(DiagKey.INPUT_PROBLEM, 'no problem reported')}"
        if diag
        else "no /diagnostics from the node yet"
    )
    outputs = cams.sub_out.get_publisher_count()
    return (
        f"{publisher_link(node, cams.pub_rgb)}; thermal/image: {outputs} publisher(s) matched; {node_view}; "
        f"RGB frames sent {cams.counters.sent_total}"
    )


def _log_errors(log_path: Path) -> list[str]:
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return [line for line in text.splitlines() if "[ERROR]" in line or "[FATAL]" in line or "Traceback" in line]


# -- the camera side ----------------------------------------------------------------------------


class _Cameras:
    """Publishes RGB (and real thermal) at fixed rates, collects outputs and diagnostics."""

    def __init__(self, node: Any, opts: SoakOptions, rgbs: list[Any], thermals: list[Any]) -> None:
        self.opts = opts
        self.counters = _Counters()
        self.rgbs, self.thermals = rgbs, thermals
        self.stop = threading.Event()
        self.publishing = threading.Event()
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_rgb = node.create_publisher(Image, "rgb/image", reliable)
        self.pub_thermal = node.create_publisher(Image, "real_thermal/image", reliable)
        self.sub_out = node.create_subscription(Image, "thermal/image", self._on_output, reliable)
        self.sub_diag = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        if opts.view:
            self.sub_cmp = node.create_subscription(Image, "thermal/comparison", self._on_comparison, reliable)
        self.thread = threading.Thread(target=self._publish_loop, name="soak_cameras", daemon=True)

    def _on_output(self, msg: Any) -> None:
        now = time.monotonic()
        stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
        with self.counters.lock:
            self.counters.outputs += 1
            sent = self.counters.sent.pop(stamp, None)
            if sent is not None:
                self.counters.latencies.append((now, now - sent))

    def _on_comparison(self, msg: Any) -> None:
        with self.counters.lock:
            self.counters.comparisons += 1

    def _on_diag(self, msg: Any) -> None:
        for status in msg.status:
            if "thermal_synth" in status.name:
                with self.counters.lock:
                    self.counters.diagnostics = {kv.key: kv.value for kv in status.values}

    def _publish_loop(self) -> None:
        period = 1.0 / self.opts.rate
        thermal_period = 1.0 / self.opts.thermal_rate if self.opts.thermal_rate > 0 else math.inf
        start = time.monotonic()
        next_thermal = start
        i = 0
        while not self.stop.is_set():
            if not self.publishing.is_set():
                self.publishing.wait(0.1)
                start = next_thermal = time.monotonic()
                i = 0
                continue
            stamp_ns = time.time_ns()
            msg = self.rgbs[i % len(self.rgbs)]
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
            with self.counters.lock:
                self.counters.sent[stamp_ns] = time.monotonic()
                self.counters.sent_total += 1
            self.pub_rgb.publish(msg)
            if time.monotonic() >= next_thermal:
                th = self.thermals[i % len(self.thermals)]
                th.header.stamp.sec, th.header.stamp.nanosec = divmod(stamp_ns + THERMAL_OFFSET_NS, 1_000_000_000)
                self.pub_thermal.publish(th)
                with self.counters.lock:
                    self.counters.thermal_sent += 1
                next_thermal += thermal_period
            i += 1
            self.stop.wait(max(0.0, start + i * period - time.monotonic()))

    def forget_unanswered(self, older_than: float) -> None:
        """Drop bookkeeping of frames the node replaced by newer ones (keeps memory flat over long runs)."""
        with self.counters.lock:
            stale = [k for k, t in self.counters.sent.items() if t < older_than]
            for k in stale:
                del self.counters.sent[k]


# -- the documents ------------------------------------------------------------------------------


class SoakSample(TypedDict):
    """One per-second sample: the node's RSS and CPU time, what went each way, the node's counters."""

    t: float
    rss_mib: float
    cpu_s: float
    sent: int
    outputs: int
    thermal_sent: int
    comparisons: int
    latency_ms_p50: float | None
    latency_ms_max: float | None
    node: dict[str, str]  # the /diagnostics values of _DIAG_KEYS the node has reported


class _Totals(TypedDict):
    sent: int
    outputs: int
    thermal_sent: int
    comparisons: int


class RssFigures(TypedDict):
    """The node's resident memory (MiB); start/end are medians of the first and last samples after warm-up."""

    first: float | None
    start: float
    end: float
    window_samples: int
    max: float | None
    growth_after_warmup: float
    slope_after_warmup_mib_per_min: float


class LatencyFigures(TypedDict):
    """End-to-end latency percentiles (ms) after warm-up, and two including it."""

    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    frames: int
    p50_incl_warmup: float | None
    p99_incl_warmup: float | None


class RateFigures(TypedDict):
    """Messages per second over the run, each way."""

    rgb_sent: float | None
    thermal_sent: float | None
    thermal_image_out: float | None
    comparison_out: float | None


class DropFigures(TypedDict):
    """Frames sent, received, synthesised and replaced by newer ones."""

    rgb_sent: int
    node_received_total: int
    outputs: int
    not_synthesised: int
    replaced_by_newer_total: int
    note: str


class ErrorFigures(TypedDict):
    """Every kind of error the soak counts, and their total."""

    rejected_frames: int
    model_failures: int
    real_thermal_rejected: int
    log_error_lines: int
    node_died: bool
    node_exit_code: int | None
    node_needed_sigkill: bool
    first_log_errors: list[str]
    total: int


#: The verdict against the bounds ("pass" is a keyword, hence the functional form).
Verdict = TypedDict("Verdict", {"rss_bound_mib": float, "rss_ok": bool, "errors_ok": bool, "pass": bool})


class SoakSetup(TypedDict):
    """What ran: the options (paths as text; ``model`` says which model) and what the run chose."""

    duration: float
    warmup: float
    rate: float
    thermal_rate: float
    size: str
    model: str
    backend: str
    out: str
    name: str
    domain_id: int | None
    sample_period: float
    view: bool
    rss_bound_mib: float
    rgb_size: list[int]
    thermal_size: list[int]
    ros_domain_id: int
    dds_transports: str
    first_output_after_s: float


class SoakSummary(TypedDict):
    """The figures of a soak (``OUT/NAME.json`` holds them after ``benchmark`` and ``environment``)."""

    duration_s: float
    warmup_s: float
    rss_mib: RssFigures
    latency_ms: LatencyFigures
    rates_hz: RateFigures
    drops: DropFigures
    node_counters: dict[str, str]  # the node's last /diagnostics values of _DIAG_KEYS
    errors: ErrorFigures
    verdict: Verdict


class SoakResult(SoakSummary):
    """:class:`SoakSummary` and the setup it ran with: what :func:`run_soak` returns."""

    setup: SoakSetup


@dataclass
class _Drive:
    """What the camera side recorded between the node's first output and its stop."""

    ready_after: float
    samples: list[SoakSample]
    latencies: list[tuple[float, float]]  # (seconds since measuring began, latency s)
    totals: _Totals
    diag: dict[str, str]
    exit_code: int | None
    killed: bool
    node_died: bool


# -- the run ------------------------------------------------------------------------------------


def run_soak(opts: SoakOptions) -> SoakResult:
    """Run the soak described by ``opts``; writes ``OUT/NAME.json`` and ``.png``; returns the result."""
    if opts.duration <= 0 or opts.rate <= 0:
        raise ThermalSynthError("--duration and --rate must be positive")
    configure_dds()
    domain = opts.domain_id if opts.domain_id is not None else free_domain_id(range(1, 101))
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), PYTHONUNBUFFERED="1")
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

    with tempfile.TemporaryDirectory(prefix="thermal-synth-soak-") as tmp:
        workdir = Path(tmp)
        model, model_note = _model_file(opts, workdir)
        size = _rgb_size(opts, model)
        rgb_frames, thermal_frames = _scenes(size, workdir)
        log_path = workdir / "node.log"
        node_proc = _start_node(model, opts.backend, env, log_path)
        drive = _drive(opts, domain, node_proc, log_path, rgb_frames=rgb_frames, thermal_frames=thermal_frames)
        errors = _log_errors(log_path)

    setup = _setup(
        opts, model_note, size, domain=domain, transports=describe_transports(env), ready_after=drive.ready_after
    )
    result: SoakResult = {**_summarise(opts, drive, log_errors=errors), "setup": setup}
    opts.out.mkdir(parents=True, exist_ok=True)
    json_path = opts.out / f"{opts.name}.json"
    atomic_write_json(json_path, {"benchmark": "soak", "environment": environment(), **result})
    _plot(result, drive.samples, opts, opts.out / f"{opts.name}.png")
    return result


def _drive(
    opts: SoakOptions,
    domain: int,
    node_proc: subprocess.Popen[bytes],
    log_path: Path,
    *,
    rgb_frames: list[npt.NDArray[np.uint8]],
    thermal_frames: list[npt.NDArray[np.uint16]],
) -> _Drive:
    """Play the cameras at the node until its first output, then sample it for ``opts.duration``; stop it."""
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    node = rclpy.create_node("thermal_synth_soak", context=context)
    cams = _Cameras(
        node,
        opts,
        [_image(f, "rgb8", "camera") for f in rgb_frames],
        [_image(f, "mono16", "flir") for f in thermal_frames],
    )
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, name="soak_spin", daemon=True)
    spin.start()
    cams.thread.start()
    try:
        cams.publishing.set()
        ready_after = _await_first_output(node_proc, log_path, node, cams)
        with cams.counters.lock:  # measure from the first output on
            cams.counters.latencies.clear()
            base = _totals(cams.counters)
        t0 = time.monotonic()
        samples, node_died = _sample(opts, node_proc, node, cams, base=base, t0=t0)
        cams.publishing.clear()
        time.sleep(1.5)  # the last outputs and one more /diagnostics
        with cams.counters.lock:
            latencies = [(t - t0, lat) for t, lat in cams.counters.latencies]
            final_diag = dict(cams.counters.diagnostics)
            totals = _totals(cams.counters, base)
    finally:
        cams.stop.set()
        cams.publishing.set()
        exit_code, killed = _stop_node(node_proc)
        executor.shutdown(timeout_sec=5.0)
        with teardown_watchdog():
            node.destroy_node()
            rclpy.try_shutdown(context=context)
    return _Drive(ready_after, samples, latencies, totals, final_diag, exit_code, killed, node_died)


def _totals(counters: _Counters, base: _Totals | None = None) -> _Totals:
    """The camera side's counts (since ``base``; comparisons always since the start); hold the lock."""
    return {
        "sent": counters.sent_total - (base["sent"] if base else 0),
        "outputs": counters.outputs - (base["outputs"] if base else 0),
        "thermal_sent": counters.thermal_sent - (base["thermal_sent"] if base else 0),
        "comparisons": counters.comparisons,
    }


def _await_first_output(node_proc: subprocess.Popen[bytes], log_path: Path, node: Any, cams: _Cameras) -> float:
    """Seconds until the node's first thermal/image; raises if it dies first or none comes in time."""
    ready_deadline = time.monotonic() + READY_TIMEOUT_S
    next_report = time.monotonic() + STALL_REPORT_S
    while cams.counters.outputs == 0:
        if node_proc.poll() is not None:
            raise ThermalSynthError(
                f"the node exited with {node_proc.returncode} before its first output:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > ready_deadline:
            raise ThermalSynthError(
                f"no thermal/image output within {READY_TIMEOUT_S:.0f} s; {_link_report(node, cams)}; "
                f"node log:\n" + log_path.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > next_report:
            next_report += STALL_REPORT_S
            log.warning("no thermal/image output yet: %s", _link_report(node, cams))
        time.sleep(0.1)
    return READY_TIMEOUT_S - (ready_deadline - time.monotonic())


def _sample(
    opts: SoakOptions, node_proc: subprocess.Popen[bytes], node: Any, cams: _Cameras, *, base: _Totals, t0: float
) -> tuple[list[SoakSample], bool]:
    """One sample every ``opts.sample_period`` from ``t0`` for ``opts.duration``; (samples, whether the node died)."""
    samples: list[SoakSample] = []
    cpu0 = _cpu_seconds(node_proc.pid)
    n_samples = max(1, round(opts.duration / opts.sample_period))
    last_outputs, last_output_time = cams.counters.outputs, time.monotonic()
    for k in progress(range(n_samples), total=n_samples, desc="soak", unit="sample"):
        time.sleep(max(0.0, t0 + (k + 1) * opts.sample_period - time.monotonic()))
        if node_proc.poll() is not None:
            return samples, True
        now = time.monotonic()
        if cams.counters.outputs != last_outputs:
            last_outputs, last_output_time = cams.counters.outputs, now
        elif now - last_output_time >= STALL_REPORT_S:  # outputs stopped mid-run: say why, once a period
            quiet = now - last_output_time
            log.warning("no thermal/image output for %.0f s: %s", quiet, _link_report(node, cams))
            last_output_time = now
        cams.forget_unanswered(now - 5.0)
        with cams.counters.lock:
            diag = dict(cams.counters.diagnostics)
            recent = [lat for t, lat in cams.counters.latencies if t > now - opts.sample_period]
            totals = _totals(cams.counters, base)
            samples.append(
                {
                    "t": round(now - t0, 2),
                    "rss_mib": round(_rss_mib(node_proc.pid), 2),
                    "cpu_s": round(_cpu_seconds(node_proc.pid) - cpu0, 2),
                    **totals,
                    "latency_ms_p50": _pct(recent, 50),
                    "latency_ms_max": round(max(recent) * 1000, 1) if recent else None,
                    "node": {k: diag[k] for k in _DIAG_KEYS if k in diag},
                }
            )
    return samples, False


def _setup(
    opts: SoakOptions, model_note: str, size: tuple[int, int], *, domain: int, transports: str, ready_after: float
) -> SoakSetup:
    """The options as run (``model`` replaced by what it named) and what the run chose."""
    return {
        "duration": opts.duration,
        "warmup": opts.warmup,
        "rate": opts.rate,
        "thermal_rate": opts.thermal_rate,
        "size": opts.size,
        "model": model_note,
        "backend": opts.backend,
        "out": str(opts.out),
        "name": opts.name,
        "domain_id": opts.domain_id,
        "sample_period": opts.sample_period,
        "view": opts.view,
        "rss_bound_mib": opts.rss_bound_mib,
        "rgb_size": list(size),
        "thermal_size": [640, 512],
        "ros_domain_id": domain,
        "dds_transports": transports,
        "first_output_after_s": round(ready_after, 1),
    }


_DIAG_KEYS = (
    DiagKey.RECEIVED,
    DiagKey.PUBLISHED,
    DiagKey.DROPPED,
    DiagKey.REJECTED,
    DiagKey.FAILED,
    DiagKey.REAL_RECEIVED,
    DiagKey.REAL_REJECTED,
    DiagKey.PAIRED,
    DiagKey.LATENCY_P50,
    DiagKey.LATENCY_P95,
    DiagKey.MODEL_TIME_P50,
)


def _pct(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values) * 1000.0, q)), 1) if len(values) else None


def _count(diag: dict[str, str], key: str) -> int:
    with contextlib.suppress(ValueError):
        return int(diag.get(key, "0"))
    return 0


def _summarise(opts: SoakOptions, drive: _Drive, *, log_errors: list[str]) -> SoakSummary:
    samples, latencies, totals, diag = drive.samples, drive.latencies, drive.totals, drive.diag
    seconds = samples[-1]["t"] if samples else 0.0
    rss, growth = _rss_figures(opts, samples)
    lat_steady = [lat for t, lat in latencies if t > opts.warmup]
    lat_all = [lat for _, lat in latencies]
    errors = _error_figures(drive, log_errors)
    return {
        "duration_s": round(seconds, 1),
        "warmup_s": opts.warmup,
        "rss_mib": rss,
        "latency_ms": {
            "p50": _pct(lat_steady, 50),
            "p90": _pct(lat_steady, 90),
            "p99": _pct(lat_steady, 99),
            "max": _pct(lat_steady, 100),
            "frames": len(lat_steady),
            "p50_incl_warmup": _pct(lat_all, 50),
            "p99_incl_warmup": _pct(lat_all, 99),
        },
        "rates_hz": {
            "rgb_sent": round(totals["sent"] / seconds, 2) if seconds else None,
            "thermal_sent": round(totals["thermal_sent"] / seconds, 2) if seconds else None,
            "thermal_image_out": round(totals["outputs"] / seconds, 2) if seconds else None,
            "comparison_out": round(totals["comparisons"] / seconds, 2) if seconds else None,
        },
        "drops": {
            "rgb_sent": totals["sent"],
            "node_received_total": _count(diag, DiagKey.RECEIVED),
            "outputs": totals["outputs"],
            "not_synthesised": totals["sent"] - totals["outputs"],
            "replaced_by_newer_total": _count(diag, DiagKey.DROPPED),
            "note": "the node always works on the newest frame: a model slower than the camera drops frames by "
            "design; node counters are totals since start (warm-up included)",
        },
        "node_counters": {k: diag[k] for k in _DIAG_KEYS if k in diag},
        "errors": errors,
        "verdict": {
            "rss_bound_mib": opts.rss_bound_mib,
            "rss_ok": bool(growth < opts.rss_bound_mib),
            "errors_ok": errors["total"] == 0,
            "pass": bool(growth < opts.rss_bound_mib) and errors["total"] == 0,
        },
    }


def _rss_figures(opts: SoakOptions, samples: list[SoakSample]) -> tuple[RssFigures, float]:
    """The RSS figures and the growth after warm-up (unrounded, for the verdict)."""
    steady = [s for s in samples if s["t"] > opts.warmup] or samples[-1:]
    rss = [s["rss_mib"] for s in samples]
    steady_rss = [s["rss_mib"] for s in steady]
    slope = 0.0
    if len(steady) >= 3:
        slope = float(np.polyfit([s["t"] for s in steady], steady_rss, 1)[0]) * 60.0
    # Medians of the first and last 5 % of the samples (at least 5): RSS moves +-10 MiB second to second
    # with the frames in flight, so single samples would make a noisy growth figure.
    k = max(1, min(max(5, len(steady_rss) // 20), len(steady_rss) // 3))
    start_mib = float(np.median(steady_rss[:k])) if steady_rss else math.nan
    end_mib = float(np.median(steady_rss[-k:])) if steady_rss else math.nan
    growth = end_mib - start_mib
    figures: RssFigures = {
        "first": rss[0] if rss else None,
        "start": round(start_mib, 2),
        "end": round(end_mib, 2),
        "window_samples": k,
        "max": max(rss) if rss else None,
        "growth_after_warmup": round(growth, 2),
        "slope_after_warmup_mib_per_min": round(slope, 3),
    }
    return figures, growth


def _error_figures(drive: _Drive, log_errors: list[str]) -> ErrorFigures:
    """Frames the node rejected or failed on, error lines in its log, and how it ended."""
    rejected = _count(drive.diag, DiagKey.REJECTED)
    failures = _count(drive.diag, DiagKey.FAILED)
    real_rejected = _count(drive.diag, DiagKey.REAL_REJECTED)
    unclean_exit = drive.exit_code not in (0, None) or drive.killed
    total = rejected + failures + real_rejected + len(log_errors) + int(drive.node_died) + int(unclean_exit)
    return {
        "rejected_frames": rejected,
        "model_failures": failures,
        "real_thermal_rejected": real_rejected,
        "log_error_lines": len(log_errors),
        "node_died": drive.node_died,
        "node_exit_code": drive.exit_code,
        "node_needed_sigkill": drive.killed,
        "first_log_errors": log_errors[:10],
        "total": total,
    }


def _plot(result: SoakResult, samples: list[SoakSample], opts: SoakOptions, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - optional heavy dependency, only for the figure

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the headless backend

    t = [s["t"] / 60.0 for s in samples]
    fig, (ax_rss, ax_lat) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    ax_rss.plot(t, [s["rss_mib"] for s in samples], color="tab:blue")
    ax_rss.axvspan(0, opts.warmup / 60.0, color="0.9", label="warm-up")
    ax_rss.set_ylabel("node RSS (MiB)")
    rss = result["rss_mib"]
    ax_rss.set_title(
        f"soak {result['duration_s'] / 60:.1f} min: RSS {rss['start']} -> {rss['end']} MiB after warm-up "
        f"({rss['growth_after_warmup']:+.1f}), errors {result['errors']['total']}"
    )
    ax_rss.legend(loc="lower right")
    p50 = [s["latency_ms_p50"] for s in samples]
    worst = [s["latency_ms_max"] for s in samples]
    ax_lat.plot(t, [v if v is not None else math.nan for v in p50], label="p50 per second", color="tab:green")
    ax_lat.plot(t, [v if v is not None else math.nan for v in worst], label="max per second", color="tab:red", lw=0.7)
    lat = result["latency_ms"]
    ax_lat.set_title(f"end-to-end latency after warm-up: p50 {lat['p50']} ms, p99 {lat['p99']} ms")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_xlabel("minutes")
    ax_lat.legend(loc="upper right")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


# -- command line -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``--help`` of the soak runner."""
    p = argparse.ArgumentParser(
        prog="python -m thermal_synth_ros.soak",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=600.0, metavar="S", help="seconds to run after the first output")
    p.add_argument("--warmup", type=float, default=30.0, metavar="S", help="seconds excluded from growth/latency")
    p.add_argument("--rate", type=float, default=30.0, metavar="HZ", help="RGB frame rate")
    p.add_argument("--thermal-rate", type=float, default=30.0, metavar="HZ", help="real thermal rate (0: none)")
    p.add_argument("--size", default="auto", metavar="WxH", help="RGB size (auto: 640x512, or 640 wide at the "
                   "model alignment's aspect ratio)")  # fmt: skip
    p.add_argument("--model", default="", metavar="PATH", help="model file (default: embedded, else a built one)")
    p.add_argument("--backend", default="auto", help="node backend parameter")
    p.add_argument("--out", type=Path, default=Path("bench/results"), metavar="DIR", help="where NAME.json/png go")
    p.add_argument("--name", default="soak", help="result file name (without extension)")
    p.add_argument(
        "--domain-id",
        type=int,
        default=None,
        metavar="ID",
        help="ROS_DOMAIN_ID (default: a random one of 1-100 that no participant here uses)",
    )
    p.add_argument("--sample-period", type=float, default=1.0, metavar="S", help="seconds between samples")
    p.add_argument("--no-view", dest="view", action="store_false", help="do not subscribe to thermal/comparison")
    p.add_argument("--rss-bound", type=float, default=DEFAULT_RSS_BOUND_MIB, metavar="MIB",
                   help="RSS growth after warm-up that fails the verdict")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run from the command line: 0 when the verdict passes, 1 when it fails, 2 when the soak cannot run."""
    args = build_parser().parse_args(argv)
    opts = SoakOptions(
        duration=args.duration,
        warmup=args.warmup,
        rate=args.rate,
        thermal_rate=args.thermal_rate,
        size=args.size,
        model=args.model,
        backend=args.backend,
        out=args.out,
        name=args.name,
        domain_id=args.domain_id,
        sample_period=args.sample_period,
        view=args.view,
        rss_bound_mib=args.rss_bound,
    )
    try:
        result = run_soak(opts)
    except ThermalSynthError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    rss, lat, err = result["rss_mib"], result["latency_ms"], result["errors"]
    summary(
        f"soak: {result['duration_s'] / 60:.1f} min, RSS {rss['start']} -> {rss['end']} MiB after warm-up "
        f"({rss['growth_after_warmup']:+.1f}), latency p50 {lat['p50']} ms p99 {lat['p99']} ms, "
        f"{result['rates_hz']['thermal_image_out']} Hz out, {err['total']} errors -> "
        f"{opts.out / (opts.name + '.json')} ({'pass' if result['verdict']['pass'] else 'FAIL'})"
    )
    return 0 if result["verdict"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
