"""``thermal-synth evaluate``: a model against real thermal (and the grayscale baseline) on a recorded drive.

Two passes over the bag. The first reads only header stamps and pairs frames
(:mod:`.plan`). The second is a pipeline: a reader thread deserialises, decodes
and preprocesses frames (and hands every message to ``--write-bag``); the main
thread runs the network on batches, on the CPU with its own share of ONNX
Runtime threads; a thread pool on the remaining cores normalises and scores
frames while the next batch runs. Decoding, OpenCV, NumPy and ONNX Runtime
release the GIL, so the lanes overlap; memory stays bounded by a few batches
whatever the drive's length (``thermal-synth bench evaluate`` measures it
against the plain frame-by-frame loop).

Per-frame failures (an undecodable message, a bad encoding) are counted and
skipped, as in the node. A bag that breaks part-way still gets its outputs for
the frames read before the damage, then a :class:`BagError` says how far it got.

The documents it builds (rows, samples, metrics.json) are defined in :mod:`.schema`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import heapq
import logging
import math
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core import __version__, metrics
from thermal_synth_core.agc import AGC_HIGH_PERCENTILE, AGC_LOW_PERCENTILE
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import AlignmentError, BagError, DataError, MessageError
from thermal_synth_core.eval import scoring
from thermal_synth_core.eval.bag import (
    MASK_TYPES,
    RGB_TYPES,
    THERMAL_TYPES,
    BagReadError,
    BagSource,
    Record,
    TopicInfo,
    decode_mask,
    decode_rgb,
    decode_thermal,
)
from thermal_synth_core.eval.outputs import write_outputs
from thermal_synth_core.eval.plan import FramePlan, make_plan, scan
from thermal_synth_core.eval.schema import (
    CAMERA_VIEW_UNSCORED,
    REPORT_FILE,
    SCORED,
    AbsDt,
    BagInfo,
    Counts,
    EvalOptions,
    EvalResult,
    EvalSummary,
    FrameRow,
    ModelInfo,
    Normalisation,
    Outputs,
    Pairing,
    Sample,
    Timing,
    WriteBagInfo,
    sample_entries,
)
from thermal_synth_core.eval.writebag import SyntheticBagWriter, output_storage
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.backends import Backend, OnnxRuntimeBackend
from thermal_synth_core.infer.backends.onnxruntime_backend import usable_cpus
from thermal_synth_core.infer.embedded import is_embedded
from thermal_synth_core.infer.view import ViewPlan
from thermal_synth_core.modelfile import file_sha256
from thermal_synth_core.ui import progress

__all__ = [
    "DEFAULT_MASK_TOPIC",
    "EXTREMES",
    "EvalOptions",
    "EvalResult",
    "Extremes",
    "FrameOutcome",
    "evaluate",
    "lanes",
    "open_synthesizer",
    "spread",
]

log = logging.getLogger(__name__)

#: Mask topic used when ``mask_topic="auto"`` and the bag has it (``synth-data --layout bag`` writes it).
DEFAULT_MASK_TOPIC: Final = "/thermal/warm_mask"
#: Best and worst frames kept for the report.
EXTREMES: Final = 3

#: The RGB, real thermal and warm mask topics evaluated (the last two optional).
Topics: TypeAlias = tuple[TopicInfo, TopicInfo | None, TopicInfo | None]
#: A decoded real thermal frame (None: rejected), its header stamp, and why it was rejected.
ThermalEntry: TypeAlias = tuple[npt.NDArray[Any] | None, int, str | None]


@dataclass
class _Work:
    """One RGB frame on its way through the pipeline."""

    index: int
    stamp_ns: int
    log_ns: int
    frame_id: str
    blob: npt.NDArray[np.float32] | None = None
    view: ViewPlan | None = None
    error: str | None = None
    thermal: npt.NDArray[Any] | None = None
    thermal_stamp_ns: int | None = None
    thermal_error: str | None = None
    mask: npt.NDArray[np.bool_] | None = None


@dataclass
class FrameOutcome:
    """One evaluated frame: its CSV row, and (briefly) the images the samples are drawn from."""

    row: FrameRow
    rgb_view: npt.NDArray[np.uint8] | None = None
    synthetic01: npt.NDArray[np.float32] | None = None
    real01: npt.NDArray[np.float32] | None = None
    thermal: npt.NDArray[Any] | None = None
    color: npt.NDArray[np.uint8] | None = None


def open_synthesizer(
    model: str | Path | None, backend: str = "auto", device: str = "auto", options: EvalOptions | None = None
) -> Synthesizer:
    """The Synthesizer for ``--model`` (``default`` or None: the embedded model) in the options' view."""
    model_path = None if is_embedded(model) else model
    if options is None:
        return Synthesizer(model_path, backend=backend, device=device)
    return Synthesizer(
        model_path,
        backend=backend,
        device=device,
        view=options.view,
        camera_hfov_deg=options.camera_hfov_deg,
        output_width=options.output_width,
        alignment=options.alignment,
        rig_hfov_deg=options.rig_hfov_deg,
    )


# -- topics ---------------------------------------------------------------------------------------


def _topics(source: BagSource, options: EvalOptions) -> Topics:
    rgb = source.require(options.rgb_topic, "RGB", RGB_TYPES)
    thermal = source.require(options.thermal_topic, "real thermal", THERMAL_TYPES) if options.thermal_topic else None
    if thermal is not None and thermal.name == rgb.name:
        raise BagError(
            f"--thermal-topic and --rgb-topic are both {rgb.name}; the real thermal camera has its own topic"
        )
    mask: TopicInfo | None = None
    if options.mask_topic == "auto":
        found = source.find(DEFAULT_MASK_TOPIC)
        if found is not None and found.msgtype in MASK_TYPES and found.count:
            mask = found
    elif options.mask_topic:
        mask = source.require(options.mask_topic, "warm mask", MASK_TYPES)
        if mask.name in (rgb.name, thermal.name if thermal else None):
            raise BagError(f"--mask-topic {mask.name} is already the RGB or real thermal topic")
    return rgb, thermal, mask


# -- the reader thread ------------------------------------------------------------------------------


_END = object()


class _Partners:
    """Decoded real thermal frames and masks, held until every RGB frame paired with them has taken them."""

    def __init__(self, plan: FramePlan) -> None:
        self.plan = plan
        self.thermal_users, self.mask_users = plan.thermal_users(), plan.mask_users()
        self.thermal: dict[int, ThermalEntry] = {}
        self.mask: dict[int, npt.NDArray[np.bool_] | None] = {}

    def ready(self, work: _Work) -> bool:
        """Whether the partners of ``work`` are decoded (or it has none)."""
        pair, mpair = self.plan.thermal_for.get(work.index), self.plan.mask_for.get(work.index)
        return (pair is None or pair.b in self.thermal) and (mpair is None or mpair.b in self.mask)

    def attach(self, work: _Work) -> None:
        """Hand ``work`` its partners (those read; a partner the bag ended before is said to be missing)."""
        pair, mpair = self.plan.thermal_for.get(work.index), self.plan.mask_for.get(work.index)
        if pair is not None:
            if pair.b in self.thermal:
                work.thermal, work.thermal_stamp_ns, work.thermal_error = self.thermal[pair.b]
                _used(self.thermal_users, self.thermal, pair.b)
            else:
                work.thermal_error = "its real thermal frame was not read (the bag ended first)"
        if mpair is not None and mpair.b in self.mask:
            work.mask = self.mask[mpair.b]
            _used(self.mask_users, self.mask, mpair.b)

    def forget(self, work: _Work) -> None:
        """A rejected RGB frame no longer needs its partners (they are neither decoded nor kept for it)."""
        pair, mpair = self.plan.thermal_for.get(work.index), self.plan.mask_for.get(work.index)
        if pair is not None:
            _used(self.thermal_users, self.thermal, pair.b)
        if mpair is not None:
            _used(self.mask_users, self.mask, mpair.b)


def _used(users: dict[int, int], cache: dict[int, Any], index: int) -> None:
    """One user fewer for partner ``index``; dropped from ``cache`` after its last."""
    users[index] -= 1
    if users[index] == 0:
        cache.pop(index, None)


class _Reader(threading.Thread):
    """Reads the bag in recording order and queues messages to copy and frames ready for the network."""

    def __init__(
        self,
        source: BagSource,
        plan: FramePlan,
        synth: Synthesizer,
        topics: Topics,
        *,
        copy_all: bool,
        out: queue.Queue[object],
        stop: threading.Event,
        camera: CameraModel | None = None,
    ) -> None:
        super().__init__(name="evaluate-reader", daemon=True)
        self.camera = camera
        # The synthetic image lives in the thermal camera's frame when there is one (for every frame alike).
        self.frame_id = source.first_frame_id(topics[1].name) if topics[1] is not None else ""
        self.source, self.plan, self.synth = source, plan, synth
        self.rgb, self.thermal, self.mask = topics
        self.copy_all = copy_all
        self.out = out
        self.stop = stop
        self.error: BaseException | None = None
        self.read_error: BagReadError | None = None
        self.counts: Counter[str] = Counter()
        self.reasons: dict[str, str] = {}
        """The first reason per kind of rejection (rgb, thermal, mask), for the summary."""
        self.partners = _Partners(plan)
        self.waiting: dict[int, _Work] = {}
        """RGB frames read whose partners are not yet."""
        self.planned = set(plan.frames)
        self.last = plan.frames[-1] if plan.frames else -1

    def _reject(self, kind: str, reason: str) -> str:
        self.counts[f"{kind}_rejected"] += 1
        self.reasons.setdefault(kind, reason)
        return reason

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc
        finally:
            self._put(_END)

    def _run(self) -> None:
        names = [t.name for t in (self.rgb, self.thermal, self.mask) if t is not None]
        seen = Counter[str]()
        records = self.source.records(None if self.copy_all else names)
        try:
            for record in records:
                if self.stop.is_set() or (self.copy_all and not self._put(record)):
                    return
                if record.topic not in names:
                    continue
                k = seen[record.topic]
                seen[record.topic] += 1
                if not self._take(record, k):
                    return
        except BagReadError as exc:
            self.read_error = exc
        finally:
            records.close()
        for index in sorted(self.waiting):  # the bag ended: what is still waiting goes without its partners
            if not self._release(self.waiting[index]):
                return

    def _take(self, record: Record, k: int) -> bool:
        """Handle message ``k`` of an evaluated topic; False when reading should stop."""
        if record.topic == self.rgb.name:
            return self._take_rgb(record, k)
        if self.thermal is not None and record.topic == self.thermal.name:
            if self.partners.thermal_users.get(k, 0) > 0:
                self.partners.thermal[k] = self._thermal(record, k)
                return self._flush_ready()
        elif self.mask is not None and record.topic == self.mask.name and self.partners.mask_users.get(k, 0) > 0:
            self.partners.mask[k] = self._mask(record)
            return self._flush_ready()
        return True

    def _take_rgb(self, record: Record, k: int) -> bool:
        if k > self.last:
            return bool(self.waiting)  # once every planned frame is out, stop (--max-frames)
        if k not in self.planned:
            return True
        work = self._rgb(record, k)
        if work.blob is None:
            self.partners.forget(work)  # rejected: passes straight through to be counted
            return self._put(work)
        if self.partners.ready(work):
            return self._release(work)
        self.waiting[k] = work
        return True

    def _release(self, work: _Work) -> bool:
        self.partners.attach(work)
        return self._put(work)

    def _flush_ready(self) -> bool:
        ready = [i for i, w in self.waiting.items() if self.partners.ready(w)]
        return all(self._release(self.waiting.pop(i)) for i in ready)

    def _rgb(self, record: Record, index: int) -> _Work:
        stamp = self.plan.rgb.stamps[index]
        work = _Work(index, stamp, record.log_ns, "")
        try:
            msg = self.source.deserialize(record)
            rgb, order = decode_rgb(msg, self.rgb.msgtype)
            work.view = self.synth.plan(rgb.shape[1], rgb.shape[0], self.camera)
            rig = work.view.view == "rig"  # the rig view is the thermal camera's; the camera view the RGB's
            work.frame_id = (self.frame_id if rig else "") or str(msg.header.frame_id)
            work.blob = self.synth.preprocess(rgb, order, work.view)
        except AlignmentError:
            raise  # every frame would fail the same way: stop and say why
        except (MessageError, DataError) as exc:
            work.error = self._reject("rgb", f"RGB frame rejected: {exc}")
        except Exception as exc:  # a message rosbags cannot deserialise
            work.error = self._reject("rgb", f"RGB message unreadable: {exc}")
        return work

    def _thermal(self, record: Record, index: int) -> ThermalEntry:
        assert self.plan.thermal is not None and self.thermal is not None
        stamp = self.plan.thermal.stamps[index]
        try:
            return decode_thermal(self.source.deserialize(record), self.thermal.msgtype), stamp, None
        except MessageError as exc:
            return None, stamp, self._reject("thermal", f"real thermal frame rejected: {exc}")
        except Exception as exc:  # a message rosbags cannot deserialise
            return None, stamp, self._reject("thermal", f"real thermal message unreadable: {exc}")

    def _mask(self, record: Record) -> npt.NDArray[np.bool_] | None:
        try:
            return decode_mask(self.source.deserialize(record))
        except Exception as exc:  # a bad mask costs only the warm contrast of its frame
            log.warning("warm mask on %s skipped: %s", record.topic, exc)
            self._reject("mask", f"warm mask rejected: {exc}")
            return None


# -- scoring (thread pool) ---------------------------------------------------------------------------


def _score(
    work: _Work, thermal: npt.NDArray[Any], synth: Synthesizer, options: EvalOptions, keep: bool
) -> FrameOutcome:
    """Normalise and score one synthesized frame (runs in a worker thread)."""
    assert work.blob is not None and work.view is not None
    # Real thermal shows the rig's thermal view: comparable with the rig view only.
    real = work.thermal if work.view.view == "rig" else None
    if real is not None:
        h, w = real.shape[:2]
        scoring.check_view((w, h), work.view.output_size, options.thermal_topic or "")
        size = (w, h)
    else:
        size = (thermal.shape[1], thermal.shape[0])
    synthetic01 = scoring.normalised_at(thermal, size)  # as the node scores it live
    baseline01 = scoring.normalised_at(scoring.baseline_from_blob(work.blob), size)
    real01 = scoring.normalised(real) if real is not None else None
    mask = work.mask
    if mask is not None and mask.shape[:2] != (size[1], size[0]):
        mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    real_contrast = None
    if mask is not None and real01 is not None:
        contrast = metrics.warm_contrast(real01, mask)
        real_contrast = contrast if math.isfinite(contrast) else None
    row = _row(
        work,
        SCORED if real01 is not None else _unscored_reason(work, options),
        model=scoring.score(synthetic01, real01, mask),
        baseline=scoring.score(baseline01, real01, mask),
        real_warm_contrast=real_contrast,
    )
    outcome = FrameOutcome(row)
    if keep:
        outcome.rgb_view = scoring.rgb_from_blob(work.blob)
        outcome.synthetic01, outcome.real01 = synthetic01, real01
    if options.write_bag is not None:  # the worker colour-maps too: one less thing on the main thread
        outcome.thermal = thermal
        outcome.color = synth.colorize(thermal, options.colormap)
    return outcome


def _unscored_reason(work: _Work, options: EvalOptions) -> str:
    if not options.thermal_topic:
        return "no real thermal topic"
    if work.view is not None and work.view.view != "rig":
        return CAMERA_VIEW_UNSCORED
    if work.thermal_error:
        return work.thermal_error
    return f"no real thermal frame within {options.slop:g} s"


def _row(
    work: _Work,
    status: str,
    *,
    model: dict[str, float | None] | None = None,
    baseline: dict[str, float | None] | None = None,
    real_warm_contrast: float | None = None,
) -> FrameRow:
    # A real frame that was read (a rejected one has a stamp but no image).
    stamp = work.thermal_stamp_ns if work.thermal is not None else None
    return FrameRow(
        frame=work.index,
        rgb_stamp_ns=work.stamp_ns,
        thermal_stamp_ns=stamp,
        dt_ms=(stamp - work.stamp_ns) / 1e6 if stamp is not None else None,
        status=status,
        model=model if model is not None else dict.fromkeys(scoring.METRIC_INFO),
        baseline=baseline if baseline is not None else dict.fromkeys(scoring.METRIC_INFO),
        real_warm_contrast=real_warm_contrast,
    )


# -- the evaluation ---------------------------------------------------------------------------------


class _Inline(contextlib.AbstractContextManager["_Inline"]):
    """An executor that runs each job at once in the calling thread (``workers=0``)."""

    def submit(self, fn: Callable[..., FrameOutcome], *args: Any) -> concurrent.futures.Future[FrameOutcome]:
        future: concurrent.futures.Future[FrameOutcome] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def __exit__(self, *exc: object) -> None:
        return None


class Extremes:
    """The best and worst frames by the headline metric, with their strips (the dataset evaluation's too)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.best: list[tuple[float, int, Sample]] = []  # min-heap of the k highest
        self.worst: list[tuple[float, int, Sample]] = []  # min-heap of -value: the k lowest

    def wants(self, value: float) -> tuple[bool, bool]:
        """(whether a frame of this ``value`` is among the best, among the worst) so far."""
        best = len(self.best) < self.k or value > self.best[0][0]
        worst = len(self.worst) < self.k or -value > self.worst[0][0]
        return best, worst

    def add(self, value: float, sample_best: Sample | None, sample_worst: Sample | None) -> None:
        """Keep a frame's samples as a best and/or a worst one (pushing out the one it beats)."""
        if sample_best is not None:
            item = (value, -sample_best.index, sample_best)
            (heapq.heappush if len(self.best) < self.k else heapq.heappushpop)(self.best, item)
        if sample_worst is not None:
            item = (-value, -sample_worst.index, sample_worst)
            (heapq.heappush if len(self.worst) < self.k else heapq.heappushpop)(self.worst, item)

    def samples(self) -> list[Sample]:
        """The best (best first), then the worst (worst first)."""
        best = [s for _, _, s in sorted(self.best, key=lambda e: (-e[0], -e[1]))]
        worst = [s for _, _, s in sorted(self.worst, key=lambda e: (-e[0], -e[1]))]
        return best + worst


def _sample(outcome: FrameOutcome, role: str, options: EvalOptions, t0_ns: int) -> Sample:
    row = outcome.row
    assert outcome.rgb_view is not None and outcome.synthetic01 is not None
    title = f"frame {row.frame}  t={(row.rgb_stamp_ns - t0_ns) / 1e9:.2f} s"
    model, base = row.model, row.baseline
    if model["warm_iou"] is not None:
        title += (
            f"   warm IoU {model['warm_iou']:.2f} (gray {base['warm_iou']:.2f})"
            f"   SSIM {model['ssim']:.2f} (gray {base['ssim']:.2f})   L1 {model['l1']:.3f}"
        )
    images = (outcome.rgb_view, outcome.synthetic01, outcome.real01)
    return Sample(row.frame, role, row, title, images, options.colormap)


def spread(frames: list[int], count: int) -> set[int]:
    """``count`` of ``frames`` spread evenly over them (the first and the last included)."""
    if count <= 0 or not frames:
        return set()
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return {frames[i] for i in picks}


@dataclass
class _FirstPass:
    """The first pass's outcome: the bag's topics, the frame plan and the time it took."""

    topics: Topics
    plan: FramePlan
    scan_error: BagReadError | None
    scan_s: float


def _first_pass(source: BagSource, topics: Topics, options: EvalOptions, started: float) -> _FirstPass:
    """Read the stamps and pair the frames; raises when there is no RGB frame to evaluate."""
    rgb, thermal, mask = topics
    others = [(t.name, t.msgtype) for t in (thermal, mask) if t is not None]
    scans, scan_error = scan(
        source, (rgb.name, rgb.msgtype), others, options.max_frames, show_progress=options.show_progress
    )
    plan = make_plan(
        scans,
        rgb.name,
        thermal_topic=thermal.name if thermal else None,
        mask_topic=mask.name if mask else None,
        slop=options.slop,
        max_frames=options.max_frames,
        scan_error=scan_error,
    )
    if not plan.frames:
        if scan_error is not None:
            raise BagError(f"no RGB frame could be read before the damage: {scan_error}")
        raise BagError(f"RGB topic {rgb.name} has no messages")
    return _FirstPass(topics, plan, scan_error, time.monotonic() - started)


def evaluate(options: EvalOptions, synthesizer: Synthesizer | None = None) -> EvalResult:
    """Evaluate a model on a bag and write metrics.json, frames.csv, samples/ and report.html to ``options.out``.

    ``synthesizer`` defaults to the embedded model on the automatic backend.
    Raises :class:`BagError` for a bag or topic problem (after writing the
    outputs of what was read when the bag breaks part-way).
    """
    if options.slop < 0:
        raise BagError(f"--slop must be >= 0 seconds, got {options.slop}")
    started = time.monotonic()
    with BagSource(options.bag) as source:
        topics = _topics(source, options)
        # The model loads after the topics are checked: a typo in a topic should not wait for an ONNX export.
        synth = synthesizer or open_synthesizer(options.model, options.backend, options.device, options)
        first = _first_pass(source, topics, options, started)
        result = _second_pass(source, synth, first, options)
    write_outputs(result, options)
    if result.error is not None:
        raise BagError(
            f"{result.error}; the outputs for the {result.frames} frames read before it were written to "
            f"{options.out}"
            + (f" and {result.bag_out}" if result.bag_out else "")
            + " (metrics.json says complete: false)"
        )
    return result


def _second_pass(source: BagSource, synth: Synthesizer, first: _FirstPass, options: EvalOptions) -> EvalResult:
    """Synthesize and score the planned frames (writing ``--write-bag``); the result, not yet written."""
    started = time.monotonic()
    writer = None
    if options.write_bag is not None:
        storage = output_storage(options.write_storage, source.storage)
        expected = [(i, first.plan.rgb.log_ns[i]) for i in first.plan.frames]
        writer = SyntheticBagWriter(options.write_bag, source, storage, expected, synth.output_encoding)
    try:
        pipeline = _pipeline(source, first.plan, synth, first.topics, options=options, writer=writer)
    except BaseException:
        if writer is not None:
            writer.close(complete=False)
        raise
    if writer is not None:
        writer.close(complete=True)
    evaluate_s = time.monotonic() - started
    read_error = pipeline.reader.read_error or first.scan_error
    rows = sorted(pipeline.rows, key=lambda r: r.frame)
    samples = pipeline.samples()
    run = _Run(source, synth, first, options, pipeline.reader, writer)
    summary = _summary(run, rows, samples, read_error, evaluate_s)
    return EvalResult(options.out, rows, summary, samples, writer.out if writer else None, read_error)


def lanes(options: EvalOptions, cpus: int | None = None) -> tuple[int, int]:
    """(ONNX Runtime threads of the network, scoring threads) for ``cpus`` usable cores.

    By default a third of the cores (at least one) run the network and the rest
    score; with ``workers=0`` scoring runs in the main thread between batches and
    the network may use every core.
    """
    cpus = cpus or usable_cpus()
    workers = options.workers
    if workers is not None and workers <= 0:
        return options.network_threads or cpus, 0
    net = max(1, options.network_threads or cpus // 3)
    return net, (max(1, cpus - net) if workers is None else workers)


def _network(synth: Synthesizer, threads: int) -> Backend:
    """The backend the batches run on: on the CPU, ONNX Runtime limited to ``threads`` threads.

    The network and the scoring pool run at the same time; ONNX Runtime's own
    threads spin-wait between operators, so sharing cores with the scorers makes
    both slower (measured: more CPU time per frame than the plain loop). Giving
    the network its own lane of cores and the scorers the rest avoids that.
    Another backend, or one already within ``threads``, is used as it is.
    """
    backend = synth.backend
    if isinstance(backend, OnnxRuntimeBackend) and backend.device == "cpu" and backend.threads > threads:
        return OnnxRuntimeBackend(synth.model_path, synth.spec, "cpu", backend.precision, threads=threads)
    return backend


Pool: TypeAlias = concurrent.futures.ThreadPoolExecutor | _Inline


class _Pipeline:
    """The main thread of the second pass: batches to the network, frames to the scorers, results collected.

    :meth:`steps` takes the reader's queue and yields once per finished frame;
    the rows, the bag writer's frames and the samples are gathered as frames
    finish (in the order they were read).
    """

    def __init__(
        self,
        plan: FramePlan,
        synth: Synthesizer,
        network: Backend,
        reader: _Reader,
        *,
        options: EvalOptions,
        writer: SyntheticBagWriter | None,
    ) -> None:
        self.synth, self.network, self.reader, self.options, self.writer = synth, network, reader, options, writer
        self.batch_size = max(1, options.batch or synth.backend.max_batch)
        self.spread = spread(sorted(i for i in plan.frames if i in plan.thermal_for) or plan.frames, options.samples)
        self.t0_ns = plan.rgb.stamps[plan.frames[0]]
        self.rows: list[FrameRow] = []
        self.extremes = Extremes(EXTREMES)
        self.spread_samples: list[Sample] = []
        self.batch: list[_Work] = []
        self.inflight: deque[tuple[_Work, concurrent.futures.Future[FrameOutcome]]] = deque()

    def steps(self, items: queue.Queue[object], pool: Pool) -> Iterator[None]:
        """Run every frame the reader queues through the network and ``pool``; yields once per finished frame."""
        while (item := items.get()) is not _END:
            if isinstance(item, Record):
                if self.writer is not None:
                    self.writer.add_record(item)
                continue
            assert isinstance(item, _Work)
            if item.blob is None:
                self._finish(FrameOutcome(_row(item, item.error or "rejected")), item)
                yield None
                continue
            self.batch.append(item)
            if len(self.batch) >= self.batch_size:
                self._run_batch(pool)
            yield from self._drain(2 * self.batch_size)
        self._run_batch(pool)
        yield from self._drain(0)

    def samples(self) -> list[Sample]:
        """The spread samples in drive order, then the best and the worst frames."""
        return sorted(self.spread_samples, key=lambda s: s.index) + self.extremes.samples()

    def _run_batch(self, pool: Pool) -> None:
        # Frames of one size run together (a bag's camera may change mode mid-drive).
        for shape in dict.fromkeys(w.blob.shape for w in self.batch if w.blob is not None):
            group = [w for w in self.batch if w.blob is not None and w.blob.shape == shape]
            out = self.network.run(np.concatenate([w.blob for w in group if w.blob is not None]))
            for work, net_out in zip(group, out, strict=True):
                thermal = self.synth.postprocess(net_out, work.view)
                keep = work.index in self.spread or (
                    self.options.thermal_topic is not None and work.thermal is not None
                )
                self.inflight.append((work, pool.submit(_score, work, thermal, self.synth, self.options, keep)))
        self.batch.clear()

    def _drain(self, limit: int) -> Iterator[None]:
        while self.inflight and (len(self.inflight) > limit or self.inflight[0][1].done()):
            work, future = self.inflight.popleft()
            self._finish(future.result(), work)
            yield None

    def _finish(self, outcome: FrameOutcome, work: _Work) -> None:
        self._write(outcome, work)
        if outcome.rgb_view is not None:
            self._collect(outcome, work)
        self.rows.append(outcome.row)  # the row only: the images have served

    def _write(self, outcome: FrameOutcome, work: _Work) -> None:
        if self.writer is None:
            return
        if outcome.thermal is not None and outcome.color is not None:
            self.writer.add_frame(
                work.index,
                log_ns=work.log_ns,
                stamp_ns=work.stamp_ns,
                frame_id=work.frame_id,
                thermal=outcome.thermal,
                color=outcome.color,
                camera=work.view.camera if work.view is not None else None,
            )
        else:
            self.writer.skip(work.index)

    def _collect(self, outcome: FrameOutcome, work: _Work) -> None:
        if work.index in self.spread:
            self.spread_samples.append(_sample(outcome, "sample", self.options, self.t0_ns))
        value = outcome.row.model["warm_iou"]
        if value is not None:
            best, worst = self.extremes.wants(value)
            if best or worst:
                self.extremes.add(
                    value,
                    _sample(outcome, "best", self.options, self.t0_ns) if best else None,
                    _sample(outcome, "worst", self.options, self.t0_ns) if worst else None,
                )


def _pipeline(
    source: BagSource,
    plan: FramePlan,
    synth: Synthesizer,
    topics: Topics,
    *,
    options: EvalOptions,
    writer: SyntheticBagWriter | None,
) -> _Pipeline:
    """Run the second pass; returns the pipeline with its rows and samples (and the reader, for its counts)."""
    net_threads, workers = lanes(options, usable_cpus())
    network = _network(synth, net_threads)
    batch_size = max(1, options.batch or synth.backend.max_batch)
    items: queue.Queue[object] = queue.Queue(maxsize=2 * batch_size + 16)  # bounds memory: a few frames ahead
    stop = threading.Event()
    camera = CameraModel.load_yaml(options.camera_info) if options.camera_info else None
    reader = _Reader(source, plan, synth, topics, copy_all=writer is not None, out=items, stop=stop, camera=camera)
    pipeline = _Pipeline(plan, synth, network, reader, options=options, writer=writer)
    pool: Pool = (
        concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaluate-score")
        if workers > 0
        else _Inline()
    )
    reader.start()
    hide = None if options.show_progress is None else not options.show_progress
    try:
        with pool:
            steps = pipeline.steps(items, pool)
            for _ in progress(steps, total=len(plan.frames), desc="evaluate", unit="frame", disable=hide):
                pass
    finally:
        stop.set()
        reader.join(timeout=30)
        if network is not synth.backend:
            network.close()
    if reader.error is not None:
        raise reader.error
    return pipeline


# -- metrics.json ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What the summary is drawn from besides the rows and samples."""

    source: BagSource
    synth: Synthesizer
    first: _FirstPass
    options: EvalOptions
    reader: _Reader
    writer: SyntheticBagWriter | None = None


def _why_unscored(
    options: EvalOptions, thermal: TopicInfo | None, reasons: dict[str, str], rows: Sequence[FrameRow]
) -> str:
    if thermal is None:
        return "no real thermal topic was given (--thermal-topic)"
    if rows and all(r.status == CAMERA_VIEW_UNSCORED for r in rows):
        return (
            "every frame was synthesised in the camera view (the RGB camera's own view), which real thermal frames "
            "do not show; to score against the thermal camera, use --view rig with this rig's alignment (--alignment)"
        )
    if "thermal" in reasons:
        return f"the real thermal frames could not be used ({reasons['thermal']})"
    if "rgb" in reasons:
        return f"the RGB frames could not be used ({reasons['rgb']})"
    return f"no RGB frame had a real thermal frame on {thermal.name} within {options.slop:g} s (--slop)"


def _summary(
    run: _Run, rows: list[FrameRow], samples: Sequence[Sample], read_error: BagReadError | None, evaluate_s: float
) -> EvalSummary:
    """The metrics.json document."""
    thermal = run.first.topics[1]
    scored = [r for r in rows if r.scored]
    stamps = [run.first.plan.rgb.stamps[i] for i in run.first.plan.frames]
    reasons = run.reader.reasons
    return EvalSummary(
        version=__version__,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        complete=read_error is None,
        error=str(read_error) if read_error is not None else None,
        has_metrics=bool(scored),
        note=None if scored else "no metrics could be computed: " + _why_unscored(run.options, thermal, reasons, rows),
        model=ModelInfo(
            path=str(run.synth.model_path),
            sha256=file_sha256(run.synth.model_path),
            backend=run.synth.backend.describe(),
            spec=run.synth.spec.to_dict(),
        ),
        bag=_bag_info(run.source, run.first.topics),
        pairing=_pairing(run.options, scored),
        normalisation=_normalisation(thermal),
        counts=_counts(run, rows),
        drive_s=(max(stamps) - min(stamps)) / 1e9 if stamps else 0.0,
        # Frames without real thermal still count for the mask's warm contrast.
        metrics=scoring.aggregate([r.columns() for r in rows]),
        headline=list(scoring.HEADLINE),
        timing=Timing(
            scan_s=round(run.first.scan_s, 3),
            evaluate_s=round(evaluate_s, 3),
            frames_per_s=len(rows) / evaluate_s if evaluate_s > 0 else None,
        ),
        write_bag=_write_bag_info(run.writer) if run.writer is not None else None,
        samples=sample_entries(samples),
        outputs=Outputs(report=REPORT_FILE if run.options.report else None),
    )


def _bag_info(source: BagSource, topics: Topics) -> BagInfo:
    rgb, thermal, mask = topics
    return BagInfo(
        path=str(source.path),
        storage=source.storage,
        topics=[t.to_dict() for t in source.topics()],
        messages=source.message_count,
        start_ns=source.start_ns,
        end_ns=source.end_ns,
        duration_s=(source.end_ns - source.start_ns) / 1e9,
        rgb_topic=rgb.to_dict(),
        thermal_topic=thermal.to_dict() if thermal else None,
        mask_topic=mask.to_dict() if mask else None,
    )


def _pairing(options: EvalOptions, scored: Sequence[FrameRow]) -> Pairing:
    dts = [abs(r.dt_ms) for r in scored if r.dt_ms is not None]
    return Pairing(
        slop_s=options.slop,
        abs_dt_ms=AbsDt(mean=float(np.mean(dts)) if dts else None, max=float(np.max(dts)) if dts else None),
    )


def _normalisation(thermal: TopicInfo | None) -> Normalisation:
    return Normalisation(
        agc="thermal_synth_core.agc.agc_normalize on synthetic, real and baseline",
        low_percentile=AGC_LOW_PERCENTILE,
        high_percentile=AGC_HIGH_PERCENTILE,
        compared_at="the real thermal frame's resolution" if thermal else "the model's output size",
        baseline="8-bit luminance (OpenCV RGB2GRAY) of the network input: the RGB frame warped by the "
        "model's alignment, at the model's input size",
    )


def _counts(run: _Run, rows: Sequence[FrameRow]) -> Counts:
    rgb, thermal, _ = run.first.topics
    counts = run.reader.counts
    synthesized = sum(1 for r in rows if r.synthesized)
    scored = sum(1 for r in rows if r.scored)
    return Counts(
        rgb_frames_in_bag=rgb.count,
        planned=len(run.first.plan.frames),
        read=len(rows),
        synthesized=synthesized,
        scored=scored,
        paired=len(run.first.plan.thermal_for),
        unpaired=synthesized - scored,
        rgb_rejected=int(counts["rgb_rejected"]),
        thermal_rejected=int(counts["thermal_rejected"]),
        mask_rejected=int(counts["mask_rejected"]),
        thermal_frames_in_bag=thermal.count if thermal else 0,
        first_rejections=run.reader.reasons,
    )


def _write_bag_info(writer: SyntheticBagWriter) -> WriteBagInfo:
    return WriteBagInfo(
        path=str(writer.out),
        storage=writer.storage,
        topics_added=["/thermal_synth/image", "/thermal_synth/camera_info", "/thermal_synth/image_color"],
        messages=dict(sorted(writer.counts.items())),
        not_copied=writer.skipped_topics,
    )
