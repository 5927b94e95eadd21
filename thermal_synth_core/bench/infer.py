"""``thermal-synth bench infer``: inference latency per backend/resolution/architecture.

Each cell is the whole :class:`~thermal_synth_core.infer.Synthesizer` call a
node makes per frame (preprocess, network, postprocess) on an RGB frame of the
given resolution, with a model whose input size is that resolution (random
weights: speed does not depend on them). Ratios are taken within this run:
ONNX Runtime vs. torch eager per cell, and fast_unet vs. unet_256 per backend
and resolution. Exported graphs go to a temporary cache, not the user's.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypedDict

import numpy as np
import numpy.typing as npt
import torch
from rich.table import Table

from thermal_synth_core.bench import Timing, write_result
from thermal_synth_core.export.tensorrt import tensorrt_unavailable_reason
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.modelfile import ModelSpec, save_model
from thermal_synth_core.models import build_generator, count_macs
from thermal_synth_core.ui import console, progress, summary

ARCHS: Final = ("unet_256", "resnet_9blocks", "fast_unet")
RESOLUTIONS: Final = ((256, 256), (640, 512), (1280, 1024))
QUICK_RESOLUTIONS: Final = ((256, 256), (640, 512))
#: Targets on the 2-core development CPU (see issue #3).
TARGET_ORT_SPEEDUP: Final = 1.3  # ONNX Runtime / torch eager, unet_256 at 256x256
TARGET_FAST_FPS: Final = 15.0  # fast_unet at 640x512, best CPU backend

Size = tuple[int, int]


class CellResult(TypedDict):
    """One timed cell: an architecture at a resolution on a backend and device (``results`` in the JSON)."""

    arch: str
    resolution: str  # "WxH"
    backend: str
    device: str
    #: The backend's own description (provider, precision, threads).
    runs_on: str
    gmacs: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    n: int
    fps: float
    #: The fastest call.
    min_ms: float


class Ratios(TypedDict):
    """Speed-ups measured within the run, each keyed by cell, with one value per :data:`RATIO_STATS` label."""

    onnxruntime_over_torch_eager: dict[str, dict[str, float]]  # "arch@WxH"
    fast_unet_over_unet_256: dict[str, dict[str, float]]  # "backend(device)@WxH"
    #: The same figures as printed.
    lines: list[str]


#: A target of issue #3 and whether this run met it ("pass" is a keyword, hence the functional form).
_TargetRequired = TypedDict("_TargetRequired", {"name": str, "value": float, "needs": float, "pass": bool})


class Target(_TargetRequired, total=False):
    """A target, its measured value, and whether it passed; ``p50_value`` where the value is a best-of-n."""

    p50_value: float


class InferBenchResult(TypedDict):
    """``bench/results/infer.json`` (after ``benchmark`` and ``environment``, which every benchmark writes)."""

    quick: bool
    budget_s_per_cell: float
    method: str
    results: list[CellResult]
    ratios: Ratios
    targets: list[Target]


METHOD: Final = (
    "end-to-end Synthesizer call per frame; backends timed in alternating blocks so they share the "
    "machine's noise; 'best' is the fastest call (timeit's advice on a shared machine), p50/p95 the "
    "median and 95th percentile"
)


@dataclass(frozen=True)
class _Plan:
    """What one run times: its settings, read from the command line."""

    quick: bool
    archs: tuple[str, ...]
    resolutions: tuple[Size, ...]
    budget_s: float
    cells: tuple[tuple[str, str], ...]  # (backend, device)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> _Plan:
        quick = bool(args.quick)
        return cls(
            quick=quick,
            archs=tuple(args.archs),
            resolutions=QUICK_RESOLUTIONS if quick else RESOLUTIONS,
            budget_s=args.seconds if args.seconds else (1.5 if quick else 6.0),
            cells=tuple(_cells(list(args.backends or ["torch", "onnxruntime", "tensorrt"]))),
        )


@contextlib.contextmanager
def _scratch_cache() -> Iterator[Path]:
    """Point the ONNX/engine cache at a temporary folder for the run."""
    old = os.environ.get("THERMAL_SYNTH_CACHE")
    with tempfile.TemporaryDirectory(prefix="thermal-synth-bench-") as tmp:
        os.environ["THERMAL_SYNTH_CACHE"] = str(Path(tmp) / "cache")
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("THERMAL_SYNTH_CACHE", None)
            else:
                os.environ["THERMAL_SYNTH_CACHE"] = old


def _cells(backends: list[str]) -> list[tuple[str, str]]:
    """(backend, device) pairs to time."""
    cells: list[tuple[str, str]] = []
    for name in backends:
        if name == "torch":
            cells.append(("torch", "cpu"))
            if torch.cuda.is_available():
                cells.append(("torch", "cuda"))
        elif name == "onnxruntime":
            cells.append(("onnxruntime", "cpu"))
        elif name == "tensorrt" and tensorrt_unavailable_reason() is None:
            cells.append(("tensorrt", "cuda"))
    return cells


def _interleaved(
    calls: dict[str, Callable[[], object]], budget_s: float, block_s: float = 0.5
) -> tuple[dict[str, Timing], dict[str, float]]:
    """Time several callables in alternating blocks so that they share the machine's noise.

    The machine is shared, so load comes and goes; timing one backend for a while and
    then the other would bias their ratio. Each round runs every callable for about
    ``block_s`` (after a short pause and one untimed call, so the previous backend's spinning
    threads have gone idle), until each has had about ``budget_s`` in all and at least 3 timed calls.
    Returns the timings and each callable's fastest call (ms).
    """
    one: dict[str, float] = {}
    for name, fn in calls.items():
        fn()  # warm-up: lazy initialisation, caches
        t0 = time.perf_counter()
        fn()
        one[name] = max(time.perf_counter() - t0, 1e-4)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    spent = dict.fromkeys(calls, 0.0)
    while any(spent[n] < budget_s or len(samples[n]) < 3 for n in calls):
        for name, fn in calls.items():
            if spent[name] >= budget_s and len(samples[name]) >= 3:
                continue
            time.sleep(0.05)  # let the previous backend's spinning worker threads go idle
            if one[name] < block_s:
                fn()  # and re-warm this backend's caches (untimed)
            per_block = max(1, int(block_s / one[name]))
            for _ in range(per_block):
                t0 = time.perf_counter()
                fn()
                dt = time.perf_counter() - t0
                samples[name].append(dt * 1000.0)
                spent[name] += dt
    return {name: Timing.of(values) for name, values in samples.items()}, {n: min(v) for n, v in samples.items()}


def run(args: argparse.Namespace) -> InferBenchResult:
    """Write the models, time every cell, print and write the result (``infer.json``); returns it."""
    plan = _Plan.from_args(args)
    rng = np.random.default_rng(0)
    results: list[CellResult] = []
    with _scratch_cache() as tmp:
        models = _write_models(tmp, plan)
        for model in progress(models, total=len(models), desc="bench infer", unit="model"):
            w, h = model.size
            rgb = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            results.extend(_time_model(model, rgb, plan))
    ratios = _ratios(results)
    targets = _targets(results, ratios)
    _print(results, ratios, targets)
    result: InferBenchResult = {
        "quick": plan.quick,
        "budget_s_per_cell": plan.budget_s,
        "method": METHOD,
        "results": results,
        "ratios": ratios,
        "targets": targets,
    }
    path = write_result(args.out, "infer", result)
    passed = sum(t["pass"] for t in targets)
    summary(f"bench infer: {len(results)} cells, targets {passed}/{len(targets)} met, results in {path}")
    return result


@dataclass(frozen=True)
class _BenchModel:
    """A model file written for the run: one architecture at one resolution (random weights)."""

    arch: str
    size: Size
    path: Path
    macs: int


def _write_models(tmp: Path, plan: _Plan) -> list[_BenchModel]:
    """One model file per architecture and resolution under ``tmp``, architecture by architecture."""
    models: list[_BenchModel] = []
    for arch in plan.archs:
        net = build_generator(arch)
        for w, h in plan.resolutions:
            spec = ModelSpec(arch=arch, input_size=(w, h), output_size=(w, h), provenance={"notes": "benchmark"})
            path = save_model(tmp / f"{arch}-{w}x{h}.safetensors", net, spec)
            models.append(_BenchModel(arch, (w, h), path, count_macs(net, (1, 3, h, w))))
    return models


def _time_model(model: _BenchModel, rgb: npt.NDArray[np.uint8], plan: _Plan) -> list[CellResult]:
    """Time every (backend, device) cell of the plan on one model, interleaved; one result per cell."""
    w, h = model.size
    synths = {
        f"{backend}|{device}": Synthesizer(model.path, backend=backend, device=device) for backend, device in plan.cells
    }
    calls: dict[str, Callable[[], object]] = {key: functools.partial(synth, rgb) for key, synth in synths.items()}
    timings, fastest = _interleaved(calls, plan.budget_s)
    results: list[CellResult] = []
    for key, synth in synths.items():
        backend, device = key.split("|")
        timing = timings[key]
        results.append(
            {
                "arch": model.arch,
                "resolution": f"{w}x{h}",
                "backend": backend,
                "device": device,
                "runs_on": synth.backend.describe(),
                "gmacs": model.macs / 1e9,
                "p50_ms": timing.p50_ms,
                "p95_ms": timing.p95_ms,
                "mean_ms": timing.mean_ms,
                "n": timing.n,
                "fps": timing.fps,
                "min_ms": fastest[key],
            }
        )
        synth.close()
    return results


def _print(results: Sequence[CellResult], ratios: Ratios, targets: Sequence[Target]) -> None:
    """The table of cells, the ratios and the targets, on the console."""
    table = Table(title="thermal-synth bench infer (end-to-end Synthesizer call, ms)")
    for col in ("arch", "resolution", "backend", "GMACs", "best", "p50", "p95", "FPS"):
        table.add_column(col, justify="left" if col in ("arch", "backend") else "right")
    for r in results:
        table.add_row(
            r["arch"],
            r["resolution"],
            f"{r['backend']} ({r['device']})",
            f"{r['gmacs']:.2f}",
            f"{r['min_ms']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['fps']:.1f}",
        )
    console.print(table)
    for line in ratios["lines"]:
        console.print(line)
    for t in targets:
        verdict = "PASS" if t["pass"] else "MISS"
        console.print(f"target {t['name']}: {t['value']:.2f} (needs >= {t['needs']}) {verdict}")


def _ms(results: Sequence[CellResult], cell: tuple[str, str, str, str], stat: str) -> float | None:
    """``stat`` (a :data:`RATIO_STATS` value) of the result for (arch, resolution, backend, device), if measured."""
    for r in results:
        if (r["arch"], r["resolution"], r["backend"], r["device"]) == cell:
            return _stat(r, stat)
    return None


def _stat(result: CellResult, stat: str) -> float:
    """One of the :data:`RATIO_STATS` latencies of a cell."""
    return result["p50_ms"] if stat == "p50_ms" else result["min_ms"]


#: Statistics ratios are given for: the median, and the best call (what the code can do when no other
#: process interferes, which is why timeit reports the minimum; this machine is shared).
RATIO_STATS: Final = {"p50": "p50_ms", "best": "min_ms"}


def _ratios(results: Sequence[CellResult]) -> Ratios:
    """ONNX Runtime / torch eager speed-ups, and fast_unet / unet_256 speed-ups, from this run."""
    ort_vs_torch: dict[str, dict[str, float]] = {}
    fast_vs_unet: dict[str, dict[str, float]] = {}
    lines: list[str] = []
    for arch, res in sorted({(r["arch"], r["resolution"]) for r in results}):
        entry: dict[str, float] = {}
        for label, stat in RATIO_STATS.items():
            torch_ms = _ms(results, (arch, res, "torch", "cpu"), stat)
            ort_ms = _ms(results, (arch, res, "onnxruntime", "cpu"), stat)
            if torch_ms and ort_ms:
                entry[label] = torch_ms / ort_ms
        if entry:
            ort_vs_torch[f"{arch}@{res}"] = entry
            p50, best = entry["p50"], entry["best"]
            lines.append(f"ONNX Runtime / torch eager  {arch:>15} @ {res:>9}: {p50:5.2f}x (p50), {best:5.2f}x (best)")
    for r in results:
        if r["arch"] != "fast_unet":
            continue
        entry = {}
        for label, stat in RATIO_STATS.items():
            unet_ms = _ms(results, ("unet_256", r["resolution"], r["backend"], r["device"]), stat)
            if unet_ms:
                entry[label] = unet_ms / _stat(r, stat)
        if entry:
            key = f"{r['backend']}({r['device']})@{r['resolution']}"
            fast_vs_unet[key] = entry
            lines.append(f"fast_unet / unet_256  {key:>28}: {entry['p50']:6.1f}x (p50), {entry['best']:6.1f}x (best)")
    return {"onnxruntime_over_torch_eager": ort_vs_torch, "fast_unet_over_unet_256": fast_vs_unet, "lines": lines}


def _targets(results: Sequence[CellResult], ratios: Ratios) -> list[Target]:
    """The issue #3 targets this run measured, met or missed."""
    targets: list[Target] = []
    speedup = ratios["onnxruntime_over_torch_eager"].get("unet_256@256x256")
    if speedup is not None:
        targets.append(
            {
                "name": "ONNX Runtime / torch eager, unet_256 @ 256x256 (CPU), best-of-n",
                "value": speedup["best"],
                "p50_value": speedup["p50"],
                "needs": TARGET_ORT_SPEEDUP,
                "pass": speedup["best"] >= TARGET_ORT_SPEEDUP,
            }
        )
    cpu_fast = [
        r["fps"] for r in results if r["arch"] == "fast_unet" and r["resolution"] == "640x512" and r["device"] == "cpu"
    ]
    if cpu_fast:
        best = max(cpu_fast)
        targets.append(
            {
                "name": "fast_unet FPS @ 640x512, best CPU backend, at p50 latency",
                "value": best,
                "needs": TARGET_FAST_FPS,
                "pass": best >= TARGET_FAST_FPS,
            }
        )
    return targets
