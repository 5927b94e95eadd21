"""The node's health figures and their ``/diagnostics`` message.

``diagnostic_updater`` is not available as a wheel, so :class:`FrameStats`
keeps the counters, rates, latency percentiles and running metrics itself
(thread-safe: the subscription callbacks and the worker update it at once), and
:func:`diagnostic_array` turns one :meth:`FrameStats.report` into a
``diagnostic_msgs/DiagnosticArray`` that ``rqt_runtime_monitor`` and Foxglove show.

:class:`DiagKey` is the one table of the keys of those values: the node writes
them and soak, demo, the benchmarks and the tests read them through it, so a
label's wording lives in one place. Everything here but :func:`diagnostic_array`
is importable without ROS 2 (the statistics are tested, and the keys read, on
machines without it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

__all__ = ["LEVEL_ERROR", "LEVEL_OK", "LEVEL_WARN", "DiagKey", "FrameStats", "Report", "diagnostic_array"]

LEVEL_OK, LEVEL_WARN, LEVEL_ERROR = 0, 1, 2


class DiagKey:
    """The keys of the node's ``/diagnostics`` values, in the order it publishes them.

    The strings are what monitors show (and what recorded bags hold): change one here and
    every writer and reader follows. Use the names, never the strings.
    """

    # Rates and timings over the report period / window.
    INPUT_RATE: Final = "input rate (Hz)"
    OUTPUT_RATE: Final = "output rate (Hz)"
    REAL_RATE: Final = "real thermal rate (Hz)"
    LATENCY_P50: Final = "latency p50 (ms)"
    LATENCY_P95: Final = "latency p95 (ms)"
    MODEL_TIME_P50: Final = "model time p50 (ms)"
    # Counters since the node started (one per name of FrameStats.counts()).
    RECEIVED: Final = "frames received"
    PUBLISHED: Final = "frames published"
    DROPPED: Final = "frames dropped (a newer frame arrived)"
    REJECTED: Final = "frames rejected (bad input)"
    FAILED: Final = "model failures"
    REAL_RECEIVED: Final = "real thermal received"
    REAL_REJECTED: Final = "real thermal rejected"
    PAIRED: Final = "frames paired with real thermal"
    INFO_REJECTED: Final = "camera_info rejected"
    # What the node runs (its ``info``), after the counters.
    BACKEND: Final = "backend"
    MODEL: Final = "model"
    ARCHITECTURE: Final = "architecture"
    OUTPUT: Final = "output"
    VIEW: Final = "view"
    OUTPUT_CAMERA_INFO: Final = "output camera_info"
    INPUT_TOPIC: Final = "input topic"
    COLORMAP: Final = "colormap"
    INPUT_LINK: Final = "input link"
    INPUT_PUBLISHERS: Final = "input publishers (matched/visible)"
    REAL_LINK: Final = "real thermal link"
    TRANSPORTS: Final = "transports"
    # Present only when there is something to say.
    L1: Final = "L1 vs real thermal (AGC, running)"
    SSIM: Final = "SSIM vs real thermal (AGC, running)"
    LAST_PROBLEM: Final = "last problem"
    INPUT_PROBLEM: Final = "input problem"

    @staticmethod
    def input_problem(index: int) -> str:
        """The key of the ``index``-th input problem (0: :attr:`INPUT_PROBLEM`, then "input problem 2", ...)."""
        return DiagKey.INPUT_PROBLEM if index == 0 else f"{DiagKey.INPUT_PROBLEM} {index + 1}"


#: FrameStats' counter names and the /diagnostics key each one is published under, in that order.
_COUNTERS: Final = {
    "received": DiagKey.RECEIVED,  # RGB frames that arrived
    "published": DiagKey.PUBLISHED,  # synthetic thermal frames published
    "dropped": DiagKey.DROPPED,  # RGB frames replaced by a newer one before the worker took them
    "rejected": DiagKey.REJECTED,  # RGB frames that could not be decoded (bad encoding, size, data)
    "failed": DiagKey.FAILED,  # frames on which the model raised
    "real_received": DiagKey.REAL_RECEIVED,  # real thermal frames that arrived
    "real_rejected": DiagKey.REAL_REJECTED,  # real thermal frames that could not be decoded
    "paired": DiagKey.PAIRED,  # synthetic frames that found a real thermal frame within sync_slop
    "info_rejected": DiagKey.INFO_REJECTED,  # CameraInfo messages that could not describe the frames (ignored)
}


@dataclass
class Report:
    """One snapshot: a level, a one-line message and ordered key/value pairs."""

    level: int
    message: str
    values: dict[str, str] = field(default_factory=dict)


class FrameStats:
    """Counters and sliding windows of the synthesis pipeline."""

    def __init__(self, window: int = 100, metrics_window: int = 30) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._last_report_counts = dict(self._counts)
        self._last_report_time = time.monotonic()
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._model_ms: deque[float] = deque(maxlen=window)
        self._l1: deque[float] = deque(maxlen=metrics_window)
        self._ssim: deque[float] = deque(maxlen=metrics_window)
        self._last_error = ""

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` (one of the names in ``counts()``)."""
        with self._lock:
            self._counts[name] += n

    def counts(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)

    def frame_done(self, latency_s: float, model_s: float) -> None:
        """Record one published frame: receive-to-publish latency and model time."""
        with self._lock:
            self._counts["published"] += 1
            self._latency_ms.append(latency_s * 1000.0)
            self._model_ms.append(model_s * 1000.0)

    def metrics(self, l1: float, ssim: float | None) -> None:
        """Record one comparison of synthetic and real thermal (both AGC-normalised)."""
        with self._lock:
            self._l1.append(l1)
            if ssim is not None:
                self._ssim.append(ssim)

    def error(self, text: str) -> None:
        """Remember the latest per-frame problem, shown in the next report."""
        with self._lock:
            self._last_error = text

    def latency_ms(self) -> tuple[float, float] | None:
        """(p50, p95) receive-to-publish latency over the window, or None before the first frame."""
        with self._lock:
            if not self._latency_ms:
                return None
            p50, p95 = np.percentile(np.fromiter(self._latency_ms, float), [50, 95])
            return float(p50), float(p95)

    def report(self, info: dict[str, str], link_problems: list[str] | None = None) -> Report:
        """Rates since the previous report, percentiles, counters and ``info`` (backend, model, ...).

        ``info`` is keyed by :class:`DiagKey` names too (:attr:`DiagKey.BACKEND`, ...).

        ``link_problems`` (from :class:`~thermal_synth_ros.link.LinkMonitor`) make the level WARN, the
        first one the message, all of them the "input problem" values.
        """
        now = time.monotonic()
        with self._lock:
            counts = dict(self._counts)
            delta = {k: counts[k] - self._last_report_counts[k] for k in counts}
            period = max(now - self._last_report_time, 1e-6)
            self._last_report_counts, self._last_report_time = counts, now
            lat = np.fromiter(self._latency_ms, float)
            model = np.fromiter(self._model_ms, float)
            l1 = np.fromiter(self._l1, float)
            ssim = np.fromiter(self._ssim, float)
            last_error, self._last_error = self._last_error, ""

        def pct(a: np.ndarray, q: float) -> str:
            return f"{np.percentile(a, q):.1f}" if a.size else "n/a"

        values = {
            DiagKey.INPUT_RATE: f"{delta['received'] / period:.1f}",
            DiagKey.OUTPUT_RATE: f"{delta['published'] / period:.1f}",
            DiagKey.REAL_RATE: f"{delta['real_received'] / period:.1f}",
            DiagKey.LATENCY_P50: pct(lat, 50),
            DiagKey.LATENCY_P95: pct(lat, 95),
            DiagKey.MODEL_TIME_P50: pct(model, 50),
            **{key: str(counts[name]) for name, key in _COUNTERS.items()},
            **info,
        }
        if l1.size:
            values[DiagKey.L1] = f"{l1.mean():.4f}"
        if ssim.size:
            values[DiagKey.SSIM] = f"{ssim.mean():.4f}"
        if last_error:
            values[DiagKey.LAST_PROBLEM] = last_error
        for i, problem in enumerate(link_problems or []):
            values[DiagKey.input_problem(i)] = problem

        problems = delta["rejected"] + delta["failed"] + delta["real_rejected"] + delta["info_rejected"]
        if delta["failed"] and not delta["published"]:
            level, message = LEVEL_ERROR, f"model failing: {delta['failed']} failures, nothing published"
        elif problems:
            level, message = (
                LEVEL_WARN,
                (
                    f"{delta['rejected']} bad input, {delta['real_rejected']} bad real thermal, "
                    f"{delta['info_rejected']} bad CameraInfo, {delta['failed']} model failures in the last "
                    f"{period:.1f} s"
                ),
            )
        elif link_problems:
            level, message = LEVEL_WARN, link_problems[0]
        elif not delta["received"]:
            level, message = LEVEL_WARN, "no RGB frames received"
        else:
            level, message = LEVEL_OK, f"publishing at {delta['published'] / period:.1f} Hz"
        return Report(level, message, values)


def diagnostic_array(report: Report, *, name: str, hardware_id: str, stamp: Any) -> Any:
    """A ``diagnostic_msgs/DiagnosticArray`` with one status built from ``report``."""
    # diagnostic_msgs comes with ROS 2: only this function needs it (the rest is used without ROS).
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue  # noqa: PLC0415

    status = DiagnosticStatus(
        level=bytes([report.level]),
        name=name,
        message=report.message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in report.values.items()],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
