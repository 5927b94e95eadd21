"""``thermal-synth bench evaluate``: offline evaluation frames/s, our pipeline vs. the plain loop.

Both evaluate the same synthetic drive (``synth-data --layout bag``: RGB at the
bag's default 900x800, real thermal 640x512 mono16, warm masks) with the same
model and backend, and compute the same figures (model and grayscale baseline,
AGC-normalised, L1/PSNR/SSIM/warm IoU/warm contrast):

* **plain**: what one writes first: rosbags' ``AnyReader``, every real frame
  decoded into memory, then per RGB frame: deserialise, decode, one
  ``Synthesizer`` call, the grayscale warp, normalise and score, in turn;
* **ours**: :func:`thermal_synth_core.eval.evaluate` without the report (stamps
  read from the raw bytes, a reader thread decoding and preprocessing, batched
  network calls on their own ONNX Runtime threads, a scoring pool on the other
  cores).

The two alternate for ``--rounds`` rounds so they share the machine's noise; the
best and median frames/s (wall time) and the CPU time per frame of each, and
their ratios, are reported, plus one full ``evaluate`` run with samples and
report.html for the end-to-end figure, and the peak memory of both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict

import cv2
from rosbags.highlevel import AnyReader

from thermal_synth_core import imagemsg
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.bench import write_result
from thermal_synth_core.data.synth import BAG_TOPICS, GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.eval import EvalOptions, evaluate, open_synthesizer, scoring
from thermal_synth_core.eval.run import lanes
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.embedded import default_model_path, is_embedded
from thermal_synth_core.modelfile import ModelSpec, save_model
from thermal_synth_core.models import build_generator
from thermal_synth_core.sync import pair_nearest
from thermal_synth_core.ui import console, summary

#: The topics of ``synth-data --layout bag``: RGB, real thermal, warm masks.
TOPICS: Final = (BAG_TOPICS["rgb"], BAG_TOPICS["thermal"], BAG_TOPICS["mask"])


def _stand_in_model(path: Path, alignment: Alignment) -> Path:
    """A fast_unet of the embedded model's shape (random weights: speed does not depend on them)."""
    net = build_generator("fast_unet", ngf=16, norm="instance")
    spec = ModelSpec(
        arch="fast_unet",
        arch_kwargs={"ngf": 16, "norm": "instance"},
        input_size=(320, 256),
        output_size=alignment.thermal_size,
        alignment=alignment,
        provenance={"notes": "benchmark stand-in for the embedded model"},
    )
    return save_model(path, net, spec)


def plain_evaluate(
    bag: Path, synth: Synthesizer, *, rgb_topic: str, thermal_topic: str, mask_topic: str, slop: float
) -> int:
    """The straightforward loop (see the module docstring); returns the frames scored."""
    with AnyReader([bag]) as reader:
        # rosbags messages (untyped upstream) per topic
        by_topic: dict[str, list[Any]] = {rgb_topic: [], thermal_topic: [], mask_topic: []}
        for conn, _, raw in reader.messages(connections=[c for c in reader.connections if c.topic in by_topic]):
            by_topic[conn.topic].append(reader.deserialize(raw, conn.msgtype))
    thermal = [(imagemsg.stamp_ns(m.header), imagemsg.to_mono(m)) for m in by_topic[thermal_topic]]
    masks = {imagemsg.stamp_ns(m.header): imagemsg.to_mono(m) > 0 for m in by_topic[mask_topic]}
    rgb_stamps = [imagemsg.stamp_ns(m.header) for m in by_topic[rgb_topic]]
    pairs = {p.a: p.b for p in pair_nearest(rgb_stamps, [s for s, _ in thermal], slop, unique=True)}
    scored = 0
    for i, msg in enumerate(by_topic[rgb_topic]):
        rgb = imagemsg.to_rgb8(msg)
        synthetic = synth(rgb)
        if i not in pairs:
            continue
        stamp, real = thermal[pairs[i]]
        h, w = real.shape
        real01 = scoring.normalised(real)
        syn01 = scoring.normalised(scoring.to_size(synthetic, (w, h)))
        gray = cv2.cvtColor(synth.alignment.warp_rgb(rgb, synth.input_size), cv2.COLOR_RGB2GRAY)
        base01 = scoring.normalised(scoring.to_size(gray, (w, h)))
        mask = masks.get(stamp)
        scoring.score(syn01, real01, mask)
        scoring.score(base01, real01, mask)
        scored += 1
    return scored


def _traced_peak_mb(fn: Callable[[], object]) -> float:
    """Peak memory allocated through Python and numpy while ``fn`` runs, in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class RunStats(TypedDict):
    """Frames/s and CPU time per frame of one contender over the rounds."""

    best_fps: float
    median_fps: float
    cpu_ms_per_frame_median: float
    runs_fps: list[float]
    runs_cpu_ms_per_frame: list[float]


class Speedup(TypedDict):
    """Ours over plain: frames/s ratios, and plain's CPU time per frame over ours."""

    best_fps: float
    median_fps: float
    cpu_per_frame: float


@dataclass(frozen=True)
class _Drive:
    """The synthetic drive and the model both contenders evaluate it with."""

    bag: Path
    synth: Synthesizer
    model_note: str


@dataclass(frozen=True)
class _Measured:
    """(frames/s, CPU ms/frame) per round and contender, the full run's frames/s, the peak memory of each."""

    runs: dict[str, list[tuple[float, float]]]
    full_fps: float
    peak_mb: dict[str, float]


def _drive(tmp: Path, frames: int, model_arg: str, backend: str) -> _Drive:
    """Generate the drive under ``tmp`` and open the model (a stand-in when the embedded one is missing)."""
    bag = tmp / "drive"
    console.print(f"generating a {frames}-frame synthetic drive (900x800 RGB, 640x512 mono16 thermal) ...")
    generate(bag, SynthOptions(layout="bag", n=frames, seed=0, storage="sqlite3"))
    if is_embedded(model_arg) and not default_model_path().is_file():
        model: Path | str = _stand_in_model(tmp / "stand_in.safetensors", Alignment.load(bag / GROUND_TRUTH_FILE))
        note = "stand-in fast_unet (ngf 16, 320x256 input): the embedded model is not installed"
    else:
        model = model_arg
        note = "embedded default model" if is_embedded(model_arg) else str(model_arg)
    return _Drive(bag, open_synthesizer(model, backend=backend, device="cpu"), note)


def _measure(drive: _Drive, tmp: Path, frames: int, rounds: int) -> _Measured:
    """Alternate plain and ours for ``rounds`` rounds, then one full evaluate, then the peak memory of each."""

    def ours(report: bool = False) -> None:
        options = EvalOptions(
            bag=drive.bag,
            rgb_topic=TOPICS[0],
            thermal_topic=TOPICS[1],
            mask_topic=TOPICS[2],
            out=tmp / f"out_{time.monotonic_ns()}",
            samples=6 if report else 0,
            report=report,
            show_progress=False,
        )
        evaluate(options, drive.synth)

    def plain() -> None:
        plain_evaluate(
            drive.bag, drive.synth, rgb_topic=TOPICS[0], thermal_topic=TOPICS[1], mask_topic=TOPICS[2], slop=0.05
        )

    ours()  # warm-up: lazy initialisation, page cache
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "ours": []}
    for r in range(rounds):
        for name, fn in (("plain", plain), ("ours", ours)):
            runs[name].append(_timed(fn, frames))
        console.print(
            f"round {r + 1}: "
            + ", ".join(f"{n} {v[-1][0]:.1f} frames/s ({v[-1][1]:.1f} CPU ms/frame)" for n, v in runs.items())
        )
    full_fps, _ = _timed(lambda: ours(report=True), frames)
    # Memory: the plain loop holds the whole drive decoded; ours streams. numpy reports its buffers to
    # tracemalloc, so its peak is the images held at once (the network's own buffers are not counted).
    peak_mb = {"plain": _traced_peak_mb(plain), "ours": _traced_peak_mb(ours)}
    return _Measured(runs, full_fps, peak_mb)


def _stats(runs: dict[str, list[tuple[float, float]]]) -> dict[str, RunStats]:
    stats: dict[str, RunStats] = {}
    for name, values in runs.items():
        fps = [f for f, _ in values]
        cpu = [c for _, c in values]
        stats[name] = RunStats(
            best_fps=max(fps),
            median_fps=statistics.median(fps),
            cpu_ms_per_frame_median=statistics.median(cpu),
            runs_fps=[round(f, 2) for f in fps],
            runs_cpu_ms_per_frame=[round(c, 2) for c in cpu],
        )
    return stats


def run(args: argparse.Namespace) -> EvaluateBenchResult:
    """Alternate the plain loop and ours on one synthetic drive, print the figures, write ``evaluate.json``."""
    frames = 20 if args.quick else max(int(args.frames), 4)
    load = os.getloadavg()  # the machine is shared: say how busy it was
    rounds = 1 if args.quick else max(int(args.rounds), 1)
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp_name:
        tmp = Path(tmp_name)
        drive = _drive(tmp, frames, args.model, args.backend)
        measured = _measure(drive, tmp, frames, rounds)
        backend = drive.synth.backend.describe()
        net_threads, workers = lanes(EvalOptions(bag=drive.bag, rgb_topic="", out=tmp))
    stats = _stats(measured.runs)
    ours_s, plain_s = stats["ours"], stats["plain"]
    speedup = Speedup(
        best_fps=round(ours_s["best_fps"] / plain_s["best_fps"], 3),
        median_fps=round(ours_s["median_fps"] / plain_s["median_fps"], 3),
        cpu_per_frame=round(plain_s["cpu_ms_per_frame_median"] / ours_s["cpu_ms_per_frame_median"], 3),
    )
    result: EvaluateBenchResult = {
        "quick": bool(args.quick),
        "drive": {"frames": frames, "rgb_size": [900, 800], "thermal_size": [640, 512], "storage": "sqlite3"},
        "model": drive.model_note,
        "backend": backend,
        "ours_lanes": f"network on {net_threads} ONNX Runtime thread(s), {workers} scoring thread(s), 1 reader thread",
        "load_average_at_start": [round(x, 2) for x in load],
        "method": METHOD,
        "results": stats,
        "speedup_ours_over_plain": speedup,
        "full_evaluate_with_report_fps": round(measured.full_fps, 2),
        "peak_traced_memory_mb": {k: round(v, 1) for k, v in measured.peak_mb.items()},
    }
    path = write_result(args.out, "evaluate", result)
    peak_mb = measured.peak_mb
    summary(
        f"bench evaluate: ours {ours_s['best_fps']:.1f} frames/s vs plain {plain_s['best_fps']:.1f} "
        f"(x{speedup['best_fps']:.2f} best, x{speedup['median_fps']:.2f} median; "
        f"{ours_s['cpu_ms_per_frame_median']:.1f} vs {plain_s['cpu_ms_per_frame_median']:.1f} CPU ms/frame); "
        f"with report {measured.full_fps:.1f} frames/s; peak memory {peak_mb['ours']:.0f} vs {peak_mb['plain']:.0f} "
        f"MiB -> {path}"
    )
    return result


class EvaluateBenchResult(TypedDict):
    """``evaluate.json``."""

    quick: bool
    drive: dict[str, int | str | list[int]]
    model: str
    backend: str
    ours_lanes: str
    load_average_at_start: list[float]
    method: str
    results: dict[str, RunStats]
    speedup_ours_over_plain: Speedup
    full_evaluate_with_report_fps: float
    peak_traced_memory_mb: dict[str, float]


#: How the figures were taken (written into the result).
METHOD: Final = (
    "plain and ours alternate per round on the same bag, model and backend, computing the same figures "
    "(ours writes metrics.json, frames.csv and the best/worst strips, no report); frames/s is wall time "
    "over the whole run including reading the bag; CPU ms/frame is the process's CPU time, which other "
    "load on a shared machine disturbs far less than wall time; 'full' is one complete evaluate with "
    "samples and report.html"
)


def _timed(fn: Callable[[], object], frames: int) -> tuple[float, float]:
    """(frames per second of wall time, process CPU milliseconds per frame) of one call of ``fn``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return frames / (time.perf_counter() - wall), (time.process_time() - cpu) * 1000.0 / frames
