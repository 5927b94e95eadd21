"""``thermal-synth demo`` (``make demo``): the whole system, live, on the embedded default model.

1. generate a short synthetic drive (RGB camera + real thermal camera, day then night) as a rosbag2;
2. start the ``thermal_synth`` node (a real process) on the embedded model;
3. replay the drive into it over ROS 2 and record what it publishes (a rosbag2 of its outputs);
4. evaluate the model offline on the same drive against the real thermal and the grayscale baseline;
5. write ``report.html``, ``contact_sheet.png`` (RGB | synthetic | real, day and night) and a summary.

Everything runs on this machine's loopback (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``)
on a private ``ROS_DOMAIN_ID``, with the package's Fast DDS transports on every participant.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rclpy.signals import SignalHandlerOptions
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from sensor_msgs.msg import Image

from thermal_synth_core.agc import agc_to_uint8
from thermal_synth_core.align import Alignment
from thermal_synth_core.data.synth import SynthOptions, generate
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_core.fileio import atomic_path, atomic_write_json
from thermal_synth_core.imagemsg import stamp_ns, to_mono, to_rgb8
from thermal_synth_core.infer.colormap import apply_colormap
from thermal_synth_core.infer.embedded import resolve_model_path
from thermal_synth_core.modelfile import read_spec
from thermal_synth_core.sync import pair_nearest
from thermal_synth_core.ui import console
from thermal_synth_ros.dds import configure_dds, free_domain_id, stop_child, teardown_watchdog
from thermal_synth_ros.diagnostics import DiagKey
from thermal_synth_ros.link import publisher_link
from thermal_synth_ros.replay import open_bag, replay

__all__ = ["DemoFigures", "DemoOptions", "DemoResult", "DemoSummary", "run_demo"]

log = logging.getLogger(__name__)

RGB_TOPIC = "/camera/rgb/image_raw"
THERMAL_TOPIC = "/thermal/image_raw"
#: Node outputs recorded into the output bag (topic -> message type).
RECORDED = {
    "/thermal/image": "sensor_msgs/msg/Image",
    "/thermal/image_color": "sensor_msgs/msg/Image",
    "/thermal/comparison": "sensor_msgs/msg/Image",
    "/real_thermal/image_agc": "sensor_msgs/msg/Image",
}


#: Header stamp of the frame that primes the pipeline before the drive (never recorded).
PRIMING_STAMP_NS = 1


#: The offline evaluation's figures the summary quotes: "frames", "scored", and per metric
#: ``model_<metric>`` and ``baseline_<metric>`` (means) and ``winner_<metric>`` (None: no value).
DemoFigures = dict[str, float | int | str | None]


class DemoError(ThermalSynthError):
    """A step of the demo failed; the message says which and where its logs are."""


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs on; the defaults are ``make demo``'s."""

    out: Path = Path("demo_out")
    frames: int = 80
    rgb_size: tuple[int, int] = (900, 800)
    seed: int = 3
    model: str | None = None
    backend: str = "auto"
    rows: int = 6
    domain_id: int | None = None


@dataclass
class DemoResult:
    """What the demo produced, for the summary and for tests."""

    out: Path
    input_bag: Path
    output_bag: Path
    report: Path
    contact_sheet: Path
    frames_replayed: int = 0
    frames_synthesised: int = 0
    latency_ms_p50: float = float("nan")
    latency_ms_p95: float = float("nan")
    metrics: DemoFigures = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class DemoSummary:
    """``demo_summary.json``: what the live run and the offline evaluation measured (fields in file order)."""

    frames_replayed: int
    frames_synthesised: int
    priming_frames: int
    latency_ms_p50: float
    latency_ms_p95: float
    recorded_topics: dict[str, int]  # recorded topic -> messages
    node_diagnostics: dict[str, str]  # the node's last /diagnostics values, keyed by DiagKey
    ros_domain_id: int
    metrics: DemoFigures
    seconds: float
    model: str

    def to_json(self) -> dict[str, object]:
        """The JSON object, keys in field order."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DemoSummary:
        """A summary read back from its JSON object (unknown keys are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass
class _LiveRun:
    """What the live part (node process + replay + recorder) measured."""

    replayed: int
    synthesised: int
    priming_frames: int
    recorded: dict[str, int]
    latency_ms_p50: float
    latency_ms_p95: float
    synthetic: dict[int, npt.NDArray[Any]]  # stamp ns -> the node's thermal/image
    domain_id: int
    node_diagnostics: dict[str, str]


# -- step 2/3: the live part --------------------------------------------------------------


class _Recorder:
    """Subscribes to the node's outputs (raw CDR bytes), writes them to a bag, times each frame."""

    def __init__(self, node: Any, bag_dir: Path) -> None:
        self.lock = threading.Lock()
        self.primed = threading.Event()
        self.priming_frames = 0
        """RGB frames sent by :func:`_prime` (the node counts them among the frames it received)."""
        self.rgb_arrival: dict[int, float] = {}
        self.latencies_ms: list[float] = []
        self.synthetic: dict[int, npt.NDArray[Any]] = {}
        self.counts = dict.fromkeys(RECORDED, 0)
        self._writer = Writer(bag_dir, version=9, storage_plugin=StoragePlugin.MCAP)
        store = get_typestore(Stores.ROS2_KILTED)
        self._writer.open()
        self._conns = {t: self._writer.add_connection(t, msgtype, typestore=store) for t, msgtype in RECORDED.items()}
        self._image_cls = Image
        qos = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        self._subs = [
            node.create_subscription(Image, topic, lambda raw, t=topic: self._on_output(t, raw), qos, raw=True)
            for topic in RECORDED
        ]
        self._subs.append(node.create_subscription(Image, RGB_TOPIC, self._on_rgb, QoSProfile(depth=5)))
        self.diagnostics: dict[str, str] = {}
        self._subs.append(node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, qos))

    def _on_diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            if status.name.startswith("thermal_synth"):
                with self.lock:
                    self.diagnostics = {kv.key: kv.value for kv in status.values}

    def _on_rgb(self, msg: Any) -> None:
        with self.lock:
            self.rgb_arrival[stamp_ns(msg.header)] = time.monotonic()

    def _on_output(self, topic: str, raw: bytes) -> None:
        now = time.monotonic()
        msg = deserialize_message(raw, self._image_cls)
        stamp = stamp_ns(msg.header)
        if stamp == PRIMING_STAMP_NS:
            if topic == "/thermal/comparison":  # RGB and real thermal both went through
                self.primed.set()
            return
        with self.lock:
            self._writer.write(self._conns[topic], stamp, raw)
            self.counts[topic] += 1
            if topic == "/thermal/image":
                self.synthetic[stamp] = to_mono(msg)
                sent = self.rgb_arrival.get(stamp)
                if sent is not None:
                    self.latencies_ms.append((now - sent) * 1000.0)

    def close(self) -> None:
        with self.lock:
            self._writer.close()


@contextmanager
def _node_process(model: Path, backend: str, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [
        sys.executable, "-m", "thermal_synth_ros.node", "--ros-args",
        "-p", f"model_path:={model}", "-p", f"backend:={backend}",
        "-r", f"rgb/image:={RGB_TOPIC}", "-r", f"real_thermal/image:={THERMAL_TOPIC}",
        # A replayed drive should arrive whole: best effort lost most 2 MB frames here once
        # several large topics shared the link. Depth 5 so that DDS does not silently replace a
        # frame the executor has not taken yet; the node still works on the newest frame only and
        # counts the ones it skips.
        "-p", "input_qos.reliability:=reliable", "-p", "input_qos.depth:=5",
        # The recorder shares its process with the replay: a deeper output history lets it fall
        # behind for a moment without the node's reliable writer discarding unacknowledged frames.
        "-p", "output_qos.depth:=50",
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        # Our own interpreter and module, arguments as a list: no shell, nothing from outside.
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            yield proc
        finally:
            stop_child(proc)


def _prime(
    node: Any, recorder: _Recorder, input_bag: Path, proc: subprocess.Popen[bytes], log_path: Path
) -> dict[str, Publisher[Any]]:
    """Publishers for the drive's topics, used until the node answers on them; returned for the replay.

    Discovery can take seconds on a loaded machine and the two sides of a match do not
    finish together: a publisher can see the node's subscription while the node
    does not yet see the publisher, and the drive's first seconds would be lost.
    One RGB frame and one thermal frame with a marker stamp are sent until the
    node publishes their comparison: then the whole path works, on exactly the
    publishers the replay goes on to use.
    """
    reader = open_bag(input_bag)
    try:
        firsts: dict[str, Any] = {}  # topic -> its first message (rosbags' message classes are untyped)
        for record in reader.records([RGB_TOPIC, THERMAL_TOPIC]):
            firsts.setdefault(record.topic, reader.deserialize(record))
            if len(firsts) == 2:
                break
    finally:
        reader.close()
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publishers = {topic: node.create_publisher(Image, topic, qos) for topic in (RGB_TOPIC, THERMAL_TOPIC)}
    messages = {}
    for topic, first in firsts.items():
        msg = Image(
            height=first.height, width=first.width, encoding=first.encoding, is_bigendian=first.is_bigendian,
            step=first.step, data=first.data.tobytes(),
        )  # fmt: skip
        msg.header.frame_id = first.header.frame_id
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(PRIMING_STAMP_NS, 1_000_000_000)
        messages[topic] = msg

    def answered() -> bool:
        publishers[THERMAL_TOPIC].publish(messages[THERMAL_TOPIC])
        publishers[RGB_TOPIC].publish(messages[RGB_TOPIC])
        recorder.priming_frames += 1
        return recorder.primed.wait(0.5)

    try:
        _wait(answered, 90, "the node's first answer to the drive's topics", proc, log_path)
    except DemoError as exc:
        links = "; ".join(publisher_link(node, pub) for pub in publishers.values())
        raise DemoError(f"{exc}\nlinks seen from the replay: {links}") from None
    return publishers


def _wait(condition: Any, timeout: float, what: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise DemoError(f"the thermal_synth node exited ({proc.returncode}) while waiting for {what}:\n{tail}")
        if condition():
            return
        time.sleep(0.1)
    raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}; node log: {log_path}")


def _live(opts: DemoOptions, model: Path, input_bag: Path, output_bag: Path, work: Path) -> _LiveRun:
    """Node process + replay + recorder; returns counts and latencies."""
    domain = opts.domain_id if opts.domain_id is not None else free_domain_id(range(120, 201))
    configure_dds()
    # Loopback only, on the demo's own domain: for this process's participants while the demo runs
    # (restored after it, so a caller's later participants are not changed) and for the node process.
    ros_env = {"ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    with _environ(ros_env):
        return _live_on_domain(opts, model, input_bag, output_bag, work, domain=domain)


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block, then restore what was there (or remove them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _live_on_domain(
    opts: DemoOptions, model: Path, input_bag: Path, output_bag: Path, work: Path, *, domain: int
) -> _LiveRun:
    """:func:`_live` with the environment in place."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    node_log = work / "node.log"

    context = Context()
    rclpy.init(context=context, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
    recorder_node = rclpy.create_node("thermal_synth_demo_recorder", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(recorder_node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    recorder = _Recorder(recorder_node, output_bag)
    spinner.start()
    try:
        with _node_process(model, opts.backend, env, node_log) as proc:
            console.print(f"  node started (pid {proc.pid}, ROS_DOMAIN_ID={domain}, log {node_log})")

            def node_ready() -> bool:
                infos = recorder_node.get_subscriptions_info_by_topic(RGB_TOPIC)
                return any(i.node_name == "thermal_synth" for i in infos)

            _wait(node_ready, 120, "the node to subscribe to the RGB camera", proc, node_log)
            publishers = _prime(recorder_node, recorder, input_bag, proc, node_log)
            result = replay(
                input_bag, topics=[RGB_TOPIC, THERMAL_TOPIC], context=context, delay=30.0, publishers=publishers
            )

            def settled() -> bool:
                # Done when every replayed RGB frame came back; otherwise when nothing came for longer
                # than Fast DDS's reliable heartbeat period (3 s), within which a lost sample is re-sent.
                with recorder.lock:
                    n = recorder.counts["/thermal/image"]
                if n >= opts.frames:
                    return True
                time.sleep(4.0)
                with recorder.lock:
                    return recorder.counts["/thermal/image"] == n

            _wait(settled, 60, "the node to finish the last frames", proc, node_log)
    finally:
        executor.shutdown(timeout_sec=5)
        recorder.close()
        with teardown_watchdog():
            recorder_node.destroy_node()
            rclpy.try_shutdown(context=context)
    lat = np.asarray(recorder.latencies_ms, dtype=float)
    return _LiveRun(
        replayed=result.published,
        synthesised=recorder.counts["/thermal/image"],
        priming_frames=recorder.priming_frames,
        recorded=dict(recorder.counts),
        latency_ms_p50=float(np.percentile(lat, 50)) if lat.size else float("nan"),
        latency_ms_p95=float(np.percentile(lat, 95)) if lat.size else float("nan"),
        synthetic=recorder.synthetic,
        domain_id=domain,
        node_diagnostics=dict(recorder.diagnostics),
    )


# -- step 5: the contact sheet ------------------------------------------------------------


def _label(image: npt.NDArray[np.uint8], text: str) -> npt.NDArray[np.uint8]:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 26), (0, 0, 0), -1)
    cv2.putText(out, text, (8, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def contact_sheet(
    input_bag: Path,
    synthetic: dict[int, npt.NDArray[Any]],
    alignment: Alignment,
    *,
    night_windows: list[tuple[int, int]],
    rows: int,
    out: Path,
) -> Path:
    """RGB | synthetic | real thermal for ``rows`` frames spread over day and night; written atomically."""
    reader = open_bag(input_bag)
    try:
        rgb: dict[int, Any] = {}
        real: dict[int, Any] = {}
        wanted = {RGB_TOPIC: rgb, THERMAL_TOPIC: real}
        for record in reader.records(list(wanted)):
            msg = reader.deserialize(record)
            wanted[record.topic][stamp_ns(msg.header)] = msg
    finally:
        reader.close()
    stamps = sorted(s for s in synthetic if s in rgb)
    if not stamps:
        raise DemoError("the node published no frame that matches a replayed RGB frame; see the node log")
    real_stamps = sorted(real)
    pairs = {stamps[p.a]: real_stamps[p.b] for p in pair_nearest(stamps, real_stamps, 0.06)}

    def is_night(s: int) -> bool:
        return any(a <= s < b for a, b in night_windows)

    day = [s for s in stamps if s in pairs and not is_night(s)]
    night = [s for s in stamps if s in pairs and is_night(s)]
    half = rows // 2
    chosen = _spread(day, rows - min(half, len(night))) + _spread(night, min(half, len(night)))
    tiles = []
    width, height = 320, 256
    for s in chosen:
        when = "night" if is_night(s) else "day"
        # The RGB camera sees more than the thermal one: show it in the thermal field of view, as the model does.
        rgb_view = alignment.warp_rgb(to_rgb8(rgb[s]), out_size=(width, height), interpolation=cv2.INTER_AREA)
        rgb_img = np.ascontiguousarray(cv2.cvtColor(rgb_view, cv2.COLOR_RGB2BGR), dtype=np.uint8)
        syn = np.asarray(cv2.resize(apply_colormap(synthetic[s], "ironbow", agc=True), (width, height)), np.uint8)
        real_thermal = apply_colormap(agc_to_uint8(to_mono(real[pairs[s]])), "ironbow")
        real_img = np.asarray(cv2.resize(real_thermal, (width, height)), np.uint8)
        tiles.append(
            np.concatenate(
                [_label(rgb_img, f"RGB ({when})"), _label(syn, "synthetic (node)"), _label(real_img, "real thermal")],
                axis=1,
            )
        )
    sheet = np.concatenate(tiles, axis=0)
    with atomic_path(out) as tmp:
        cv2.imwrite(str(tmp), sheet)
    return out


def _spread(items: list[int], n: int) -> list[int]:
    if n <= 0 or not items:
        return []
    idx = np.linspace(0, len(items) - 1, min(n, len(items))).round().astype(int)
    return [items[i] for i in idx]


# -- the whole demo -----------------------------------------------------------------------


def run_demo(opts: DemoOptions) -> DemoResult:
    """Run every step; raises :class:`DemoError` (or another ThermalSynthError) saying which step failed."""
    started = time.monotonic()
    out = opts.out
    out.mkdir(parents=True, exist_ok=True)
    model = resolve_model_path(opts.model)
    input_bag = out / "input_drive"
    output_bag = out / "node_output"
    work = out / "logs"
    work.mkdir(exist_ok=True)

    console.rule("1/4 synthetic drive")
    night_windows = _drive(opts, input_bag)

    console.rule("2/4 live: node + replay + recording")
    live = _live_into(opts, model, input_bag, output_bag, work)

    console.rule("3/4 offline evaluation")
    metrics = _evaluate(model, input_bag, out / "evaluation", opts.backend)

    console.rule("4/4 contact sheet")
    alignment = read_spec(model).alignment or Alignment.from_matrix(np.eye(3), opts.rgb_size, opts.rgb_size, "none")
    sheet = contact_sheet(
        input_bag,
        live.synthetic,
        alignment,
        night_windows=night_windows,
        rows=opts.rows,
        out=out / "contact_sheet.png",
    )
    result = DemoResult(
        out=out,
        input_bag=input_bag,
        output_bag=output_bag,
        report=out / "evaluation" / "report.html",
        contact_sheet=sheet,
        frames_replayed=int(live.replayed),
        frames_synthesised=int(live.synthesised),
        latency_ms_p50=float(live.latency_ms_p50),
        latency_ms_p95=float(live.latency_ms_p95),
        metrics=metrics,
        seconds=time.monotonic() - started,
    )
    summary = DemoSummary(
        frames_replayed=result.frames_replayed,
        frames_synthesised=result.frames_synthesised,
        priming_frames=live.priming_frames,
        latency_ms_p50=result.latency_ms_p50,
        latency_ms_p95=result.latency_ms_p95,
        recorded_topics=live.recorded,
        node_diagnostics=live.node_diagnostics,
        ros_domain_id=live.domain_id,
        metrics=metrics,
        seconds=result.seconds,
        model=str(model),
    )
    atomic_write_json(out / "demo_summary.json", summary.to_json())
    return result


def _drive(opts: DemoOptions, input_bag: Path) -> list[tuple[int, int]]:
    """Step 1: the synthetic drive into ``input_bag``; returns its night segments (start, end) in stamp ns."""
    if input_bag.exists():
        shutil.rmtree(input_bag)
    synth = generate(
        input_bag,
        SynthOptions(layout="bag", n=opts.frames, seed=opts.seed, rgb_size=opts.rgb_size, storage="mcap"),
    )
    info = json.loads((input_bag / "synth_info.json").read_text())
    start_ns = int(info["start_ns"])
    night_windows = [
        (start_ns + int(s["start_s"] * 1e9), start_ns + int(s["end_s"] * 1e9)) for s in info["segments"] if s["night"]
    ]
    console.print(f"  {synth.rgb_frames} RGB + {synth.thermal_frames} thermal frames -> {input_bag}")
    return night_windows


def _live_into(opts: DemoOptions, model: Path, input_bag: Path, output_bag: Path, work: Path) -> _LiveRun:
    """Step 2: the live run, its recording moved to ``output_bag`` only once complete."""
    out = output_bag.parent
    # Recorded into a hidden folder first: a killed demo leaves nothing that looks finished.
    partial = Path(tempfile.mkdtemp(prefix=".node_output.partial-", dir=out))
    try:
        live = _live(opts, model, input_bag, partial / output_bag.name, work)
        if output_bag.exists():
            shutil.rmtree(output_bag)
        (partial / output_bag.name).rename(output_bag)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    diag = live.node_diagnostics
    console.print(
        f"  replayed {live.replayed} messages; node received {diag.get(DiagKey.RECEIVED, '?')} RGB frames, "
        f"published {live.synthesised} synthetic frames, dropped "
        f"{diag.get(DiagKey.DROPPED, '?')} for newer ones "
        f"(end-to-end latency p50 {live.latency_ms_p50:.1f} ms) -> {output_bag}"
    )
    return live


def _evaluate(model: Path, bag: Path, out: Path, backend: str) -> DemoFigures:
    """``thermal-synth evaluate`` on the input drive into ``out``; the figures the demo summary quotes."""
    result = evaluate(
        EvalOptions(bag=bag, rgb_topic=RGB_TOPIC, thermal_topic=THERMAL_TOPIC, out=out, model=model, backend=backend)
    )
    if result.error is not None:
        raise DemoError(f"offline evaluation stopped early: {result.error}")
    if result.scored == 0:
        raise DemoError(f"offline evaluation paired no RGB frame with real thermal; see {out / 'metrics.json'}")
    figures: DemoFigures = {"frames": result.frames, "scored": result.scored}
    for key, entry in result.aggregate.items():
        if not isinstance(entry, dict) or "model" not in entry:
            continue
        figures[f"model_{key}"] = entry["model"]["mean"]
        figures[f"baseline_{key}"] = entry["baseline"]["mean"]
        figures[f"winner_{key}"] = entry["winner"]
    console.print(
        f"  {result.scored} of {result.frames} frames scored; warm-region IoU model "
        f"{figures.get('model_warm_iou', float('nan')):.3f} vs grayscale "
        f"{figures.get('baseline_warm_iou', float('nan')):.3f} -> {out / 'report.html'}"
    )
    return figures
