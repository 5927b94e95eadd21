"""``thermal-synth bench prepare``: prepare throughput (aligned pairs/s) with 1 and 2 workers.

Runs on synthetic FLIR ADAS v1 at full RGB resolution (1800x1600 JPEG RGB,
640x512 thermal with 16-bit TIFFs and masks), generated into a temporary folder,
with the known alignment (so estimation time is not counted). Each worker count
prepares the same frames into its own output folder; the best of the repetitions
counts. The ratio of the two is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TypedDict

from thermal_synth_core.bench import write_result
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.data.synth import GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.ui import console, summary


class _Row(TypedDict):
    workers: int
    pairs: int
    seconds: float
    pairs_per_s: float


class _Dataset(TypedDict):
    layout: str
    rgb_size: list[int]
    thermal_size: list[int]
    frames: int
    pairs: int


class PrepareBenchResult(TypedDict):
    """``prepare.json`` (beside the benchmark name and the environment ``write_result`` adds)."""

    dataset: _Dataset
    results: list[_Row]
    speedup_2_vs_1_workers: float
    notes: str


def _best_seconds(src: Path, tmp: Path, workers: int, repeat: int) -> tuple[float, int]:
    """The fastest of ``repeat`` prepare runs with ``workers`` (seconds) and the pairs it wrote."""
    best = float("inf")
    pairs = 0
    for rep in range(repeat):
        out = tmp / f"out_w{workers}_{rep}"
        t0 = time.perf_counter()
        result = prepare_dataset(
            PrepareOptions(root=src, fmt="flir-v1", out=out, alignment=str(src / GROUND_TRUTH_FILE), workers=workers),
            show_progress=False,
        )
        best = min(best, time.perf_counter() - t0)
        pairs = result.pairs
    return best, pairs


def run(args: argparse.Namespace) -> PrepareBenchResult:
    """Prepare one synthetic FLIR v1 dataset with 1 and 2 workers, print the figures, write ``prepare.json``."""
    frames = 12 if args.quick else int(args.frames)
    repeat = 1 if args.quick else max(int(args.repeat), 1)
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        src = Path(tmp) / "flir_v1"
        console.print(f"generating {frames} synthetic FLIR v1 frames at 1800x1600 ...")
        synth = generate(src, SynthOptions(layout="flir-v1", n=frames, seed=0, workers=2))
        rows: list[_Row] = []
        for workers in (1, 2):
            best, pairs = _best_seconds(src, Path(tmp), workers, repeat)
            rows.append(
                {"workers": workers, "pairs": pairs, "seconds": round(best, 3), "pairs_per_s": round(pairs / best, 2)}
            )
            console.print(f"workers {workers}: {pairs} pairs in {best:.2f} s = {pairs / best:.2f} pairs/s")
    speedup = rows[1]["pairs_per_s"] / rows[0]["pairs_per_s"]
    result_json: PrepareBenchResult = {
        "dataset": {
            "layout": "flir-v1 (synthetic)",
            "rgb_size": [1800, 1600],
            "thermal_size": [640, 512],
            "frames": frames,
            "pairs": synth.pairs,
        },
        "results": rows,
        "speedup_2_vs_1_workers": round(speedup, 3),
        "notes": "includes process start-up of the worker pool; output 640x512 8-bit PNG pairs + masks",
    }
    path = write_result(args.out, "prepare", result_json)
    summary(
        f"bench prepare: {rows[0]['pairs_per_s']:.2f} pairs/s with 1 worker, {rows[1]['pairs_per_s']:.2f} with 2 "
        f"(x{speedup:.2f}) -> {path}"
    )
    return result_json
