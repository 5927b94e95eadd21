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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

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
from thermal_synth_core.eval.panels import frame_strip
from thermal_synth_core.eval.plan import FramePlan, make_plan, scan
from thermal_synth_core.eval.writebag import SyntheticBagWriter, output_storage
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.backends import Backend, OnnxRuntimeBackend
from thermal_synth_core.infer.backends.onnxruntime_backend import usable_cpus
from thermal_synth_core.infer.view import ViewPlan
from thermal_synth_core.ui import progress

__all__ = ["DEFAULT_MASK_TOPIC", "EvalOptions", "EvalResult", "FrameOutcome", "evaluate", "lanes", "open_synthesizer"]

log = logging.getLogger(__name__)

#: Mask topic used when ``mask_topic="auto"`` and the bag has it (``synth-data --layout bag`` writes it).
DEFAULT_MASK_TOPIC: Final = "/thermal/warm_mask"
#: Best and worst frames kept for the report.
EXTREMES: Final = 3


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and where to write it (the ``evaluate`` flags)."""

    bag: Path
    rgb_topic: str
    out: Path
    model: str | Path | None = "default"
    """Model file; ``default`` (or None) for the embedded model. Ignored when a Synthesizer is passed."""
    backend: str = "auto"
    device: str = "auto"
    thermal_topic: str | None = None
    mask_topic: str | None = "auto"
    """``auto`` (use /thermal/warm_mask when present), None (no mask) or a topic."""
    write_bag: Path | None = None
    write_storage: str = "auto"
    max_frames: int | None = None
    slop: float = 0.05
    samples: int = 6
    colormap: str = "ironbow"
    batch: int | None = None
    """Frames per network call (default: the backend's maximum batch)."""
    workers: int | None = None
    """Scoring threads (default: the usable CPU cores left after the network's; 0 scores in the main thread)."""
    network_threads: int | None = None
    """ONNX Runtime threads of the network on the CPU (default: a third of the usable cores, at least 1)."""
    report: bool = True
    show_progress: bool | None = None
    view: str = "auto"
    """Output view (auto, rig, camera); real thermal is compared in the rig view only (the same camera)."""
    camera_hfov_deg: float | None = None
    """The RGB camera's horizontal field of view for the camera view (None: the model's own, warned)."""
    camera_info: Path | None = None
    """The RGB camera's camera_info.yaml (wins over camera_hfov_deg)."""
    output_width: str | int = "working"
    """Camera view output width: working, input, or pixels (written to --write-bag)."""
    alignment: Path | None = None
    """An alignment YAML replacing the model's (another vehicle's rig)."""
    rig_hfov_deg: float | None = None
    """With ``alignment``: that rig's thermal field of view (None: the model's own)."""


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

    row: dict[str, Any]
    rgb_view: npt.NDArray[np.uint8] | None = None
    synthetic01: npt.NDArray[np.float32] | None = None
    real01: npt.NDArray[np.float32] | None = None
    thermal: npt.NDArray[Any] | None = None
    color: npt.NDArray[np.uint8] | None = None


@dataclass
class Sample:
    """A frame kept for the report and the samples folder; its strip is drawn and encoded only when asked for.

    Most best/worst candidates are pushed out by better (or worse) frames later in
    the drive, so drawing on demand keeps that work off the per-frame path.
    """

    index: int
    role: str
    """``sample`` (spread over the drive), ``best`` or ``worst``."""
    row: dict[str, Any]
    title: str
    images: tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32] | None]
    """RGB view, synthetic and real (AGC-normalised) frames."""
    colormap: str = "ironbow"
    _png: bytes | None = None

    @property
    def filename(self) -> str:
        """File name under ``samples/``."""
        return f"frame_{self.index:06d}.png"

    @property
    def strip(self) -> npt.NDArray[np.uint8]:
        """The labelled strip (BGR): RGB | synthetic | real | |error|."""
        rgb_view, synthetic01, real01 = self.images
        return frame_strip(rgb_view, synthetic01, real01, title=self.title, colormap=self.colormap)

    @property
    def png(self) -> bytes:
        """The strip as PNG bytes (encoded once)."""
        if self._png is None:
            ok, png = cv2.imencode(".png", self.strip, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if not ok:
                raise DataError(f"cannot encode the sample image of frame {self.index}")
            self._png = bytes(png.tobytes())
        return self._png


@dataclass
class EvalResult:
    """What an evaluation produced."""

    out: Path
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    """The metrics.json document."""
    samples: list[Sample] = field(default_factory=list)
    bag_out: Path | None = None
    error: BagReadError | None = None

    @property
    def frames(self) -> int:
        """RGB frames synthesized."""
        return int(self.summary["counts"]["synthesized"])

    @property
    def scored(self) -> int:
        """Frames compared with real thermal."""
        return int(self.summary["counts"]["scored"])

    @property
    def aggregate(self) -> dict[str, Any]:
        """Per-metric statistics (see :func:`.scoring.aggregate`)."""
        result: dict[str, Any] = self.summary["metrics"]
        return result


def open_synthesizer(
    model: str | Path | None, backend: str = "auto", device: str = "auto", options: EvalOptions | None = None
) -> Synthesizer:
    """The Synthesizer for ``--model`` (``default`` or None: the embedded model) in the options' view."""
    view: dict[str, Any] = {}
    if options is not None:
        view = {
            "view": options.view,
            "camera_hfov_deg": options.camera_hfov_deg,
            "output_width": options.output_width,
            "alignment": options.alignment,
            "rig_hfov_deg": options.rig_hfov_deg,
        }
    return Synthesizer(None if model in (None, "", "default") else model, backend=backend, device=device, **view)


# -- topics ---------------------------------------------------------------------------------------


def _topics(source: BagSource, options: EvalOptions) -> tuple[TopicInfo, TopicInfo | None, TopicInfo | None]:
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


class _Reader(threading.Thread):
    """Reads the bag in recording order and queues messages to copy and frames ready for the network."""

    def __init__(
        self,
        source: BagSource,
        plan: FramePlan,
        synth: Synthesizer,
        topics: tuple[TopicInfo, TopicInfo | None, TopicInfo | None],
        *,
        copy_all: bool,
        out: queue.Queue[Any],
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

    def _reject(self, kind: str, reason: str) -> str:
        self.counts[f"{kind}_rejected"] += 1
        self.reasons.setdefault(kind, reason)
        return reason

    def _put(self, item: Any) -> bool:
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
        plan = self.plan
        planned = set(plan.frames)
        last = plan.frames[-1] if plan.frames else -1
        thermal_users, mask_users = plan.thermal_users(), plan.mask_users()
        thermal_cache: dict[int, tuple[npt.NDArray[Any] | None, int, str | None]] = {}
        mask_cache: dict[int, npt.NDArray[np.bool_] | None] = {}
        waiting: dict[int, _Work] = {}
        seen = Counter[str]()
        names = [t.name for t in (self.rgb, self.thermal, self.mask) if t is not None]

        def ready(work: _Work) -> bool:
            pair, mpair = plan.thermal_for.get(work.index), plan.mask_for.get(work.index)
            return (pair is None or pair.b in thermal_cache) and (mpair is None or mpair.b in mask_cache)

        def release(work: _Work) -> bool:
            pair, mpair = plan.thermal_for.get(work.index), plan.mask_for.get(work.index)
            if pair is not None:
                if pair.b in thermal_cache:
                    work.thermal, work.thermal_stamp_ns, work.thermal_error = thermal_cache[pair.b]
                    thermal_users[pair.b] -= 1
                    if thermal_users[pair.b] == 0:
                        del thermal_cache[pair.b]
                else:
                    work.thermal_error = "its real thermal frame was not read (the bag ended first)"
            if mpair is not None and mpair.b in mask_cache:
                work.mask = mask_cache[mpair.b]
                mask_users[mpair.b] -= 1
                if mask_users[mpair.b] == 0:
                    del mask_cache[mpair.b]
            return self._put(work)

        def forget(work: _Work) -> None:
            """A rejected RGB frame no longer needs its partners (they are neither decoded nor kept for it)."""
            for pair, users, cache in (
                (plan.thermal_for.get(work.index), thermal_users, thermal_cache),
                (plan.mask_for.get(work.index), mask_users, mask_cache),
            ):
                if pair is not None:
                    users[pair.b] -= 1
                    if users[pair.b] == 0:
                        cache.pop(pair.b, None)

        def flush_ready() -> bool:
            return all(release(waiting.pop(i)) for i in [i for i, w in waiting.items() if ready(w)])

        records = self.source.records(None if self.copy_all else names)
        try:
            for record in records:
                if self.stop.is_set():
                    return
                if self.copy_all and not self._put(record):
                    return
                topic = record.topic
                if topic not in names:
                    continue
                k = seen[topic]
                seen[topic] += 1
                if topic == self.rgb.name:
                    if k > last:
                        if not waiting:
                            break  # every planned frame is out (--max-frames)
                        continue
                    if k not in planned:
                        continue
                    work = self._rgb(record, k)
                    if work.blob is None:
                        forget(work)  # rejected: passes straight through to be counted
                        if not self._put(work):
                            return
                    elif ready(work):
                        if not release(work):
                            return
                    else:
                        waiting[k] = work
                elif self.thermal is not None and topic == self.thermal.name:
                    if thermal_users.get(k, 0) > 0:
                        thermal_cache[k] = self._thermal(record, k)
                        if not flush_ready():
                            return
                elif self.mask is not None and topic == self.mask.name and mask_users.get(k, 0) > 0:
                    mask_cache[k] = self._mask(record)
                    if not flush_ready():
                        return
        except BagReadError as exc:
            self.read_error = exc
        finally:
            records.close()
        for index in sorted(waiting):  # the bag ended: what is still waiting goes without its partners
            if not release(waiting[index]):
                return

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

    def _thermal(self, record: Record, index: int) -> tuple[npt.NDArray[Any] | None, int, str | None]:
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
    synthetic01 = scoring.normalised(scoring.to_size(thermal, size))
    baseline01 = scoring.normalised(scoring.to_size(scoring.baseline_from_blob(work.blob), size))
    real01 = scoring.normalised(real) if real is not None else None
    mask = work.mask
    if mask is not None and mask.shape[:2] != (size[1], size[0]):
        mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    model = scoring.score(synthetic01, real01, mask)
    base = scoring.score(baseline01, real01, mask)
    row = _row(work, "scored" if real01 is not None else _unscored_reason(work, options))
    for key in scoring.METRIC_INFO:
        row[f"model_{key}"] = model[key]
        row[f"baseline_{key}"] = base[key]
    if mask is not None and real01 is not None:
        contrast = metrics.warm_contrast(real01, mask)
        row["real_warm_contrast"] = contrast if math.isfinite(contrast) else None
    outcome = FrameOutcome(row)
    if keep:
        outcome.rgb_view = scoring.rgb_from_blob(work.blob)
        outcome.synthetic01, outcome.real01 = synthetic01, real01
    if options.write_bag is not None:  # the worker colour-maps too: one less thing on the main thread
        outcome.thermal = thermal
        outcome.color = synth.colorize(thermal, options.colormap)
    return outcome


#: Why a frame in the camera view is not scored (also the summary's note when no frame was in the rig view).
CAMERA_VIEW_UNSCORED = "camera view: real thermal shows the rig's view, not this camera's"


def _unscored_reason(work: _Work, options: EvalOptions) -> str:
    if not options.thermal_topic:
        return "no real thermal topic"
    if work.view is not None and work.view.view != "rig":
        return CAMERA_VIEW_UNSCORED
    if work.thermal_error:
        return work.thermal_error
    return f"no real thermal frame within {options.slop:g} s"


def _row(work: _Work, status: str) -> dict[str, Any]:
    dt_ms = None
    if work.thermal_stamp_ns is not None:
        dt_ms = (work.thermal_stamp_ns - work.stamp_ns) / 1e6
    row: dict[str, Any] = {
        "frame": work.index,
        "rgb_stamp_ns": work.stamp_ns,
        "thermal_stamp_ns": work.thermal_stamp_ns if work.thermal is not None else None,
        "dt_ms": dt_ms if work.thermal is not None else None,
        "status": status,
    }
    for key in scoring.METRIC_INFO:
        row[f"model_{key}"] = None
        row[f"baseline_{key}"] = None
    row["real_warm_contrast"] = None
    return row


# -- the evaluation ---------------------------------------------------------------------------------


class _Inline(contextlib.AbstractContextManager["_Inline"]):
    """An executor that runs each job at once in the calling thread (``workers=0``)."""

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def __exit__(self, *exc: object) -> None:
        return None


class _Extremes:
    """The best and worst frames by the headline metric, with their strips."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.best: list[tuple[float, int, Sample]] = []  # min-heap of the k highest
        self.worst: list[tuple[float, int, Sample]] = []  # min-heap of -value: the k lowest

    def wants(self, value: float) -> tuple[bool, bool]:
        best = len(self.best) < self.k or value > self.best[0][0]
        worst = len(self.worst) < self.k or -value > self.worst[0][0]
        return best, worst

    def add(self, value: float, sample_best: Sample | None, sample_worst: Sample | None) -> None:
        if sample_best is not None:
            item = (value, -sample_best.index, sample_best)
            (heapq.heappush if len(self.best) < self.k else heapq.heappushpop)(self.best, item)
        if sample_worst is not None:
            item = (-value, -sample_worst.index, sample_worst)
            (heapq.heappush if len(self.worst) < self.k else heapq.heappushpop)(self.worst, item)

    def samples(self) -> list[Sample]:
        best = [s for _, _, s in sorted(self.best, key=lambda e: (-e[0], -e[1]))]
        worst = [s for _, _, s in sorted(self.worst, key=lambda e: (-e[0], -e[1]))]
        return best + worst


def _sample(outcome: FrameOutcome, role: str, options: EvalOptions, t0_ns: int) -> Sample:
    row = outcome.row
    assert outcome.rgb_view is not None and outcome.synthetic01 is not None
    title = f"frame {row['frame']}  t={(row['rgb_stamp_ns'] - t0_ns) / 1e9:.2f} s"
    if row.get("model_warm_iou") is not None:
        title += (
            f"   warm IoU {row['model_warm_iou']:.2f} (gray {row['baseline_warm_iou']:.2f})"
            f"   SSIM {row['model_ssim']:.2f} (gray {row['baseline_ssim']:.2f})   L1 {row['model_l1']:.3f}"
        )
    images = (outcome.rgb_view, outcome.synthetic01, outcome.real01)
    return Sample(int(row["frame"]), role, row, title, images, options.colormap)


def _spread(frames: list[int], count: int) -> set[int]:
    if count <= 0 or not frames:
        return set()
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return {frames[i] for i in picks}


def evaluate(options: EvalOptions, synthesizer: Synthesizer | None = None) -> EvalResult:
    """Evaluate a model on a bag and write metrics.json, frames.csv, samples/ and report.html to ``options.out``.

    ``synthesizer`` defaults to the embedded model on the automatic backend.
    Raises :class:`BagError` for a bag or topic problem (after writing the
    outputs of what was read when the bag breaks part-way).
    """
    from thermal_synth_core.eval.outputs import write_outputs

    if options.slop < 0:
        raise BagError(f"--slop must be >= 0 seconds, got {options.slop}")
    started = time.monotonic()
    with BagSource(options.bag) as source:
        topics = _topics(source, options)
        rgb, thermal, mask = topics
        # The model loads after the topics are checked: a typo in a topic should not wait for an ONNX export.
        synth = synthesizer or open_synthesizer(options.model, options.backend, options.device, options)
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
        scanned = time.monotonic()
        writer = None
        if options.write_bag is not None:
            storage = output_storage(options.write_storage, source.storage)
            expected = [(i, plan.rgb.log_ns[i]) for i in plan.frames]
            writer = SyntheticBagWriter(options.write_bag, source, storage, expected, synth.output_encoding)
        try:
            outcomes, samples, reader = _pipeline(source, plan, synth, topics, options=options, writer=writer)
        except BaseException:
            if writer is not None:
                writer.close(complete=False)
            raise
        if writer is not None:
            writer.close(complete=True)
        finished = time.monotonic()
        read_error = reader.read_error or scan_error
        rows = sorted((o.row for o in outcomes), key=lambda r: int(r["frame"]))
        summary = _summary(
            options,
            source=source,
            synth=synth,
            plan=plan,
            topics=topics,
            rows=rows,
            counts=reader.counts,
            reasons=reader.reasons,
            read_error=read_error,
            writer=writer,
            timing={"scan_s": scanned - started, "evaluate_s": finished - scanned},
        )
    result = EvalResult(options.out, rows, summary, samples, writer.out if writer else None, read_error)
    write_outputs(result, options)
    if read_error is not None:
        raise BagError(
            f"{read_error}; the outputs for the {result.frames} frames read before it were written to {options.out}"
            + (f" and {result.bag_out}" if result.bag_out else "")
            + " (metrics.json says complete: false)"
        )
    return result


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


def _pipeline(
    source: BagSource,
    plan: FramePlan,
    synth: Synthesizer,
    topics: tuple[TopicInfo, TopicInfo | None, TopicInfo | None],
    *,
    options: EvalOptions,
    writer: SyntheticBagWriter | None,
) -> tuple[list[FrameOutcome], list[Sample], _Reader]:
    """Run the second pass; returns the outcomes, the sample strips and the reader (for its counts)."""
    batch_size = max(1, options.batch or synth.backend.max_batch)
    cpus = usable_cpus()
    net_threads, workers = lanes(options, cpus)
    network = _network(synth, net_threads)
    spread = _spread(sorted(i for i in plan.frames if i in plan.thermal_for) or plan.frames, options.samples)
    t0_ns = plan.rgb.stamps[plan.frames[0]]
    items: queue.Queue[Any] = queue.Queue(maxsize=2 * batch_size + 16)  # bounds memory: a few frames ahead
    stop = threading.Event()
    camera = CameraModel.load_yaml(options.camera_info) if options.camera_info else None
    reader = _Reader(source, plan, synth, topics, copy_all=writer is not None, out=items, stop=stop, camera=camera)
    extremes = _Extremes(EXTREMES)
    spread_samples: list[Sample] = []
    outcomes: list[FrameOutcome] = []

    def finish(outcome: FrameOutcome, work: _Work) -> None:
        if writer is not None:
            if outcome.thermal is not None and outcome.color is not None:
                writer.add_frame(
                    work.index,
                    log_ns=work.log_ns,
                    stamp_ns=work.stamp_ns,
                    frame_id=work.frame_id,
                    thermal=outcome.thermal,
                    color=outcome.color,
                    camera=work.view.camera if work.view is not None else None,
                )
            else:
                writer.skip(work.index)
        if outcome.rgb_view is not None:
            if work.index in spread:
                spread_samples.append(_sample(outcome, "sample", options, t0_ns))
            value = outcome.row.get("model_warm_iou")
            if value is not None:
                best, worst = extremes.wants(value)
                if best or worst:
                    extremes.add(
                        value,
                        _sample(outcome, "best", options, t0_ns) if best else None,
                        _sample(outcome, "worst", options, t0_ns) if worst else None,
                    )
        # Keep the row only: the images have served.
        outcomes.append(FrameOutcome(outcome.row))

    def keep_images(work: _Work) -> bool:
        return work.index in spread or (options.thermal_topic is not None and work.thermal is not None)

    def outcomes_stream() -> Iterator[None]:
        inflight: deque[tuple[_Work, concurrent.futures.Future[FrameOutcome]]] = deque()
        batch: list[_Work] = []
        pool_cm: Any = (
            concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaluate-score")
            if workers > 0
            else _Inline()
        )
        with pool_cm as pool:

            def run_batch() -> None:
                if not batch:
                    return
                # Frames of one size run together (a bag's camera may change mode mid-drive).
                for shape in dict.fromkeys(w.blob.shape for w in batch if w.blob is not None):
                    group = [w for w in batch if w.blob is not None and w.blob.shape == shape]
                    out = network.run(np.concatenate([w.blob for w in group if w.blob is not None]))
                    for work, net_out in zip(group, out, strict=True):
                        thermal = synth.postprocess(net_out, work.view)
                        inflight.append((work, pool.submit(_score, work, thermal, synth, options, keep_images(work))))
                batch.clear()

            def drain(limit: int) -> Iterator[None]:
                while inflight and (len(inflight) > limit or inflight[0][1].done()):
                    work, future = inflight.popleft()
                    finish(future.result(), work)
                    yield None

            while True:
                item = items.get()
                if item is _END:
                    break
                if isinstance(item, Record):
                    if writer is not None:
                        writer.add_record(item)
                    continue
                work: _Work = item
                if work.blob is None:
                    finish(FrameOutcome(_row(work, work.error or "rejected")), work)
                    yield None
                    continue
                batch.append(work)
                if len(batch) >= batch_size:
                    run_batch()
                yield from drain(2 * batch_size)
            run_batch()
            yield from drain(0)

    reader.start()
    hide = None if options.show_progress is None else not options.show_progress
    try:
        for _ in progress(outcomes_stream(), total=len(plan.frames), desc="evaluate", unit="frame", disable=hide):
            pass
    finally:
        stop.set()
        reader.join(timeout=30)
        if network is not synth.backend:
            network.close()
    if reader.error is not None:
        raise reader.error
    samples = sorted(spread_samples, key=lambda s: s.index) + extremes.samples()
    return outcomes, samples, reader


def _why_unscored(
    options: EvalOptions, thermal: TopicInfo | None, reasons: dict[str, str], rows: Sequence[Mapping[str, Any]]
) -> str:
    if thermal is None:
        return "no real thermal topic was given (--thermal-topic)"
    if rows and all(r["status"] == CAMERA_VIEW_UNSCORED for r in rows):
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
    options: EvalOptions,
    *,
    source: BagSource,
    synth: Synthesizer,
    plan: FramePlan,
    topics: tuple[TopicInfo, TopicInfo | None, TopicInfo | None],
    rows: list[dict[str, Any]],
    counts: Counter[str],
    reasons: dict[str, str],
    read_error: BagReadError | None,
    writer: SyntheticBagWriter | None,
    timing: dict[str, float],
) -> dict[str, Any]:
    """The metrics.json document."""
    from thermal_synth_core.modelfile import file_sha256

    rgb, thermal, mask = topics
    scored = [r for r in rows if r["status"] == "scored"]
    synthesized = [r for r in rows if not str(r["status"]).startswith("RGB ")]
    dts = [abs(float(r["dt_ms"])) for r in scored if r["dt_ms"] is not None]
    stamps = [plan.rgb.stamps[i] for i in plan.frames]
    evaluate_s = timing["evaluate_s"]
    aggregate = scoring.aggregate(rows)  # frames without real thermal still count for the mask's warm contrast
    doc: dict[str, Any] = {
        "tool": "thermal-synth evaluate",
        "version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "complete": read_error is None,
        "error": str(read_error) if read_error is not None else None,
        "has_metrics": bool(scored),
        "note": None if scored else "no metrics could be computed: " + _why_unscored(options, thermal, reasons, rows),
        "model": {
            "path": str(synth.model_path),
            "sha256": file_sha256(synth.model_path),
            "backend": synth.backend.describe(),
            "spec": synth.spec.to_dict(),
        },
        "bag": {
            "path": str(source.path),
            "storage": source.storage,
            "topics": [t.to_dict() for t in source.topics()],
            "messages": source.message_count,
            "start_ns": source.start_ns,
            "end_ns": source.end_ns,
            "duration_s": (source.end_ns - source.start_ns) / 1e9,
            "rgb_topic": rgb.to_dict(),
            "thermal_topic": thermal.to_dict() if thermal else None,
            "mask_topic": mask.to_dict() if mask else None,
        },
        "pairing": {
            "rule": "nearest header stamp within the slop; each real frame scored once (by the RGB frame nearest it)",
            "slop_s": options.slop,
            "abs_dt_ms": {
                "mean": float(np.mean(dts)) if dts else None,
                "max": float(np.max(dts)) if dts else None,
            },
        },
        "normalisation": {
            "agc": "thermal_synth_core.agc.agc_normalize on synthetic, real and baseline",
            "low_percentile": AGC_LOW_PERCENTILE,
            "high_percentile": AGC_HIGH_PERCENTILE,
            "compared_at": "the real thermal frame's resolution" if thermal else "the model's output size",
            "baseline": "8-bit luminance (OpenCV RGB2GRAY) of the network input: the RGB frame warped by the "
            "model's alignment, at the model's input size",
        },
        "counts": {
            "rgb_frames_in_bag": rgb.count,
            "planned": len(plan.frames),
            "read": len(rows),
            "synthesized": len(synthesized),
            "scored": len(scored),
            "paired": len(plan.thermal_for),
            "unpaired": len(synthesized) - len(scored),
            "rgb_rejected": int(counts["rgb_rejected"]),
            "thermal_rejected": int(counts["thermal_rejected"]),
            "mask_rejected": int(counts["mask_rejected"]),
            "thermal_frames_in_bag": thermal.count if thermal else 0,
            "first_rejections": reasons,
        },
        "drive_s": (max(stamps) - min(stamps)) / 1e9 if stamps else 0.0,
        "metrics": aggregate,
        "headline": list(scoring.HEADLINE),
        "timing": {
            **{k: round(v, 3) for k, v in timing.items()},
            "frames_per_s": len(rows) / evaluate_s if evaluate_s > 0 else None,
        },
        "write_bag": None,
    }
    if writer is not None:
        doc["write_bag"] = {
            "path": str(writer.out),
            "storage": writer.storage,
            "topics_added": ["/thermal_synth/image", "/thermal_synth/camera_info", "/thermal_synth/image_color"],
            "messages": dict(sorted(writer.counts.items())),
            "not_copied": writer.skipped_topics,
        }
    return doc
