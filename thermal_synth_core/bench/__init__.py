"""Benchmarks of the hot paths (``thermal-synth bench``, ``make bench``).

Each benchmark compares our path with the plain approach *in the same run* and
reports the ratio; absolute figures depend on the machine. Results are JSON
files under ``bench/results/`` that record the machine they ran on (CPU figures
stand in for GPU ones here; the JSON says which).

Each benchmark module has a ``run(args)`` that writes and returns its typed
result document; its flags and name live in a light
:class:`~thermal_synth_core.cli.common.BenchmarkSpec` (core ones in
:mod:`thermal_synth_core.cli.bench`, ROS 2 ones in :mod:`thermal_synth_ros.cli`
through the ``thermal_synth.benchmarks`` entry-point group), so listing the
benchmarks imports none of them.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypedDict

import torch

from thermal_synth_core.fileio import atomic_write_json

__all__ = ["BenchEnvironment", "Timing", "environment", "measure", "write_result"]


@dataclass(frozen=True)
class Timing:
    """Latency statistics of repeated calls, in milliseconds."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    n: int

    @property
    def fps(self) -> float:
        """Calls per second at the median latency."""
        return 1000.0 / self.p50_ms if self.p50_ms > 0 else float("inf")

    def to_dict(self) -> dict[str, float]:
        """Plain values for JSON, FPS included."""
        return {**asdict(self), "fps": self.fps}

    @classmethod
    def of(cls, samples_ms: list[float]) -> Timing:
        """The statistics of ``samples_ms`` (at least one sample, in any order)."""
        ordered = sorted(samples_ms)
        p95_index = min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
        return cls(
            p50_ms=statistics.median(ordered),
            p95_ms=ordered[p95_index],
            mean_ms=statistics.fmean(ordered),
            n=len(ordered),
        )


def measure(fn: Callable[[], object], repeat: int, warmup: int = 2, min_seconds: float = 0.0) -> Timing:
    """Time ``fn`` ``repeat`` times (at least ``min_seconds`` in all) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < repeat or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return Timing.of(samples)


class BenchEnvironment(TypedDict):
    """What the figures were measured on: the ``environment`` entry of every benchmark's JSON."""

    timestamp: str
    platform: str
    processor: str
    cpu_count: int | None
    python: str
    torch: str
    torch_threads: int
    #: The CUDA device's name, or ``cpu``.
    device: str
    figures_are: str


def environment() -> BenchEnvironment:
    """What the figures were measured on."""
    timestamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "timestamp": timestamp,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "figures_are": "GPU" if device != "cpu" else "CPU (standing in for GPU figures)",
    }


def write_result(out_dir: str | Path, name: str, result: Mapping[str, object]) -> Path:
    """Write ``result`` plus the environment to ``out_dir/name.json`` atomically; returns the path.

    The file is ``{"benchmark": name, "environment": ..., **result}``; each benchmark types its ``result``.
    """
    path = Path(out_dir) / f"{name}.json"
    atomic_write_json(path, {"benchmark": name, "environment": environment(), **result})
    return path
