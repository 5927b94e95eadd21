"""``thermal-synth bench prepare-bag``: ``prepare --bag`` pairs/s on a 30 Hz drive, 1 and 2 workers, vs. a plain script.

The drive is ``synth-data --layout bag`` at 30 Hz on both cameras (RGB rgb8
450x400, thermal mono16 320x256; ``--quick``: 225x200 and 160x128) with
CameraInfo topics and stops (frames that repeat but for sensor noise) so the
standstill test has work. It is turned into a dataset three ways, each into a
fresh folder, in ``--repeat`` rounds (each case once per round, so that all share
the machine's noise; the fastest run of each counts):

* **prepare --bag** (:func:`~thermal_synth_core.data.drive.prepare_drive`) end to end
  with the rig's known alignment (estimation not counted): pairing by stamp,
  standstill skipping, extraction (PNG writes on ``workers`` threads), then
  ``prepare``'s warp to the thermal view on ``workers`` processes and the manifest;
* **extraction only** (:func:`~thermal_synth_core.data.drive.extract_drive`), the part
  the plain script also does;
* **plain**: the script one writes without the product: rosbags' ``AnyReader``, every
  message of both topics deserialised into memory, each RGB frame paired with the
  nearest thermal frame within the slop, every pair decoded and written as PNG with
  ``cv2.imwrite`` (no stride, no standstill test, no atomic writes, no alignment).

Figures: pairs written per second and the drive's RGB frames consumed per second
(the same drive for all: their ratio is the time ratio), wall and CPU seconds (CPU
includes worker threads and processes), and the ratios 2 vs. 1 workers and ours vs.
plain. ``prepare --bag`` keeps fewer pairs than the plain script writes (the
standstill frames), which is part of what it is for.
"""

from __future__ import annotations

import argparse
import bisect
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NamedTuple, TypedDict

import cv2
from rosbags.highlevel import AnyReader

from thermal_synth_core import imagemsg
from thermal_synth_core.bench import write_result
from thermal_synth_core.data.drive import DriveOptions, Extraction, extract_drive, prepare_drive
from thermal_synth_core.data.prepare import PrepareOptions
from thermal_synth_core.data.synth import BAG_TOPICS, GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.sync import seconds_to_ns
from thermal_synth_core.ui import console, summary

#: Camera rate of the benchmark drive (Hz, both cameras).
RATE_HZ: Final = 30.0
#: Pairing tolerance (s), the ``prepare --bag`` default.
SLOP_S: Final = 0.05
#: (RGB, thermal) sizes of the drive, full and ``--quick``.
SIZES: Final = {"full": ((450, 400), (320, 256)), "quick": ((225, 200), (160, 128))}
#: (RGB frames, stops) of the ``--quick`` drive (4 s with one stop of about 1.7 s).
QUICK_DRIVE: Final = (120, 1)
#: The approaches timed, in the order of ``results``.
APPROACHES: Final = ("prepare --bag", "extraction only", "plain script")


class _Drive(TypedDict):
    rgb_size: list[int]
    thermal_size: list[int]
    rate_hz: float
    seconds: float
    rgb_frames: int
    thermal_frames: int
    stops: int
    storage: str


class _Selection(TypedDict):
    """What ``prepare --bag`` kept of the drive, and what the plain script wrote."""

    rgb_frames: int
    pairs_kept: int
    kept_fraction: float
    skipped_by_reason: dict[str, int]
    plain_pairs: int


class _Row(TypedDict):
    approach: str
    workers: int
    pairs: int
    seconds: float
    cpu_seconds: float
    pairs_per_s: float
    #: The drive's RGB frames consumed per second (the same drive for every row: comparable across rows).
    frames_per_s: float
    #: What the run wrote (PNGs and records; end to end: the extracted and the prepared pairs).
    output_mb: float


class PrepareBagBenchResult(TypedDict):
    """``prepare-bag.json`` (beside the benchmark name and the environment ``write_result`` adds)."""

    drive: _Drive
    selection: _Selection
    results: list[_Row]
    #: ``prepare --bag`` end to end, pairs/s with 2 workers over 1.
    speedup_2_vs_1_workers: float
    #: The extraction alone, pairs/s with 2 workers over 1.
    extraction_speedup_2_vs_1_workers: float
    #: Drive frames/s of ``prepare --bag`` end to end over the plain script's (1 and 2 workers).
    end_to_end_vs_plain_1_worker: float
    end_to_end_vs_plain_2_workers: float
    #: Drive frames/s of the extraction alone over the plain script's (1 and 2 workers).
    extraction_vs_plain_1_worker: float
    extraction_vs_plain_2_workers: float
    notes: str


def plain_extract(bag: Path, out: Path, *, rgb_topic: str, thermal_topic: str, slop: float) -> int:
    """The straightforward script (see the module docstring); returns the pairs written."""
    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.topic in (rgb_topic, thermal_topic)]
        # rosbags messages (untyped upstream) with their header stamps, per topic
        by_topic: dict[str, list[tuple[int, Any]]] = {rgb_topic: [], thermal_topic: []}
        for conn, _, raw in reader.messages(connections=conns):
            msg: Any = reader.deserialize(raw, conn.msgtype)  # a rosbags message (untyped upstream)
            by_topic[conn.topic].append((imagemsg.stamp_ns(msg.header), msg))
    thermal = sorted(by_topic[thermal_topic], key=lambda m: m[0])
    stamps = [t for t, _ in thermal]
    (out / "rgb").mkdir(parents=True, exist_ok=True)
    (out / "thermal16").mkdir(parents=True, exist_ok=True)
    written = 0
    for t, msg in by_topic[rgb_topic]:
        i = bisect.bisect_left(stamps, t)
        near = min((j for j in (i - 1, i) if 0 <= j < len(stamps)), key=lambda j: abs(stamps[j] - t), default=None)
        if near is None or abs(stamps[near] - t) > seconds_to_ns(slop):
            continue
        cv2.imwrite(str(out / "rgb" / f"{t}.png"), cv2.cvtColor(imagemsg.to_rgb8(msg), cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(out / "thermal16" / f"{t}.png"), imagemsg.to_mono(thermal[near][1]))
        written += 1
    return written


def _cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished children (the worker pools)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _Timing(NamedTuple):
    seconds: float
    cpu_seconds: float
    pairs: int
    megabytes: float  # what the run wrote (PNGs, manifests), MB


def _measure(fn: Callable[[Path], int], out: Path) -> _Timing:
    """One run of ``fn`` into the fresh folder ``out`` (removed once measured)."""
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    pairs = fn(out)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    shutil.rmtree(out)
    return _Timing(seconds, cpu, pairs, size)


def _row(approach: str, workers: int, timing: _Timing, frames: int) -> _Row:
    seconds, pairs = timing.seconds, timing.pairs
    console.print(
        f"{approach:<16} workers {workers}: {pairs} pairs in {seconds:.2f} s (CPU {timing.cpu_seconds:.2f} s) = "
        f"{pairs / seconds:.1f} pairs/s, {frames / seconds:.1f} drive frames/s; wrote {timing.megabytes:.0f} MB"
    )
    return {
        "approach": approach,
        "workers": workers,
        "pairs": pairs,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(timing.cpu_seconds, 3),
        "pairs_per_s": round(pairs / seconds, 2),
        "frames_per_s": round(frames / seconds, 2),
        "output_mb": round(timing.megabytes, 2),
    }


def _drive_options(bag: Path, stride_s: float) -> DriveOptions:
    return DriveOptions((bag,), BAG_TOPICS["rgb"], BAG_TOPICS["thermal"], slop=SLOP_S, stride_s=stride_s, block_s=2.0)


def _time_all(bag: Path, tmp: Path, repeat: int, stride_s: float, frames: int) -> tuple[list[_Row], Extraction]:
    """Every approach and worker count, in the order of :data:`APPROACHES`; the last extraction for its counts."""
    opts = _drive_options(bag, stride_s)
    alignment = str(bag / GROUND_TRUTH_FILE)
    extraction: list[Extraction] = []

    def ours(workers: int) -> Callable[[Path], int]:
        def run(out: Path) -> int:
            prep = PrepareOptions(root=Path(), fmt="pairs", out=out, alignment=alignment, workers=workers)
            return prepare_drive(opts, prep, show_progress=False).prepare.pairs

        return run

    def extract_only(workers: int) -> Callable[[Path], int]:
        def run(out: Path) -> int:
            extraction.append(extract_drive(opts, out, show_progress=False, workers=workers))
            return len(extraction[-1].pairs)

        return run

    def plain(out: Path) -> int:
        return plain_extract(bag, out, rgb_topic=BAG_TOPICS["rgb"], thermal_topic=BAG_TOPICS["thermal"], slop=SLOP_S)

    cases = [(APPROACHES[0], 1, ours(1)), (APPROACHES[0], 2, ours(2))]
    cases += [(APPROACHES[1], 1, extract_only(1)), (APPROACHES[1], 2, extract_only(2)), (APPROACHES[2], 1, plain)]
    best = [_Timing(float("inf"), 0.0, 0, 0.0)] * len(cases)
    for rep in range(repeat):
        for k, (_, workers, fn) in enumerate(cases):
            timing = _measure(fn, tmp / f"case{k}_w{workers}_{rep}")
            best[k] = min(best[k], timing, key=lambda t: t.seconds)
    rows = [_row(name, workers, timing, frames) for (name, workers, _), timing in zip(cases, best, strict=True)]
    return rows, extraction[-1]


def _faster(ours: _Row, other: _Row) -> float:
    """How many times faster ``ours`` turned the drive into its output than ``other`` (both timed on one drive)."""
    return round(other["seconds"] / ours["seconds"], 3)


def run(args: argparse.Namespace) -> PrepareBagBenchResult:
    """Time ``prepare --bag`` (1 and 2 workers), its extraction and the plain script; write ``prepare-bag.json``."""
    rgb_size, thermal_size = SIZES["quick" if args.quick else "full"]
    frames, stops = QUICK_DRIVE if args.quick else (int(args.frames), int(args.stops))
    repeat = 1 if args.quick else max(int(args.repeat), 1)
    with tempfile.TemporaryDirectory(prefix="bench-prepare-bag-") as tmp:
        bag = Path(tmp) / "drive"
        console.print(
            f"generating a {frames / RATE_HZ:.0f} s drive at {RATE_HZ:g} Hz ({frames} RGB frames "
            f"{rgb_size[0]}x{rgb_size[1]}, thermal {thermal_size[0]}x{thermal_size[1]}, {stops} stop(s)) ..."
        )
        synth = generate(
            bag,
            SynthOptions(
                layout="bag",
                n=frames,
                seed=0,
                rgb_size=rgb_size,
                thermal_size=thermal_size,
                rgb_rate=RATE_HZ,
                thermal_rate=RATE_HZ,
                stops=stops,
                camera_info=True,
            ),
        )
        rows, extraction = _time_all(bag, Path(tmp), repeat, float(args.stride_s), synth.rgb_frames)
    ours1, ours2, ext1, ext2, plain = rows
    result: PrepareBagBenchResult = {
        "drive": {
            "rgb_size": list(rgb_size),
            "thermal_size": list(thermal_size),
            "rate_hz": RATE_HZ,
            "seconds": round(frames / RATE_HZ, 3),
            "rgb_frames": synth.rgb_frames,
            "thermal_frames": synth.thermal_frames,
            "stops": stops,
            "storage": "sqlite3",
        },
        "selection": {
            "rgb_frames": synth.rgb_frames,
            "pairs_kept": len(extraction.pairs),
            "kept_fraction": round(len(extraction.pairs) / synth.rgb_frames, 3),
            "skipped_by_reason": dict(sorted(extraction.skipped_by_reason.items())),
            "plain_pairs": plain["pairs"],
        },
        "results": rows,
        "speedup_2_vs_1_workers": _faster(ours2, ours1),
        "extraction_speedup_2_vs_1_workers": _faster(ext2, ext1),
        "end_to_end_vs_plain_1_worker": _faster(ours1, plain),
        "end_to_end_vs_plain_2_workers": _faster(ours2, plain),
        "extraction_vs_plain_1_worker": _faster(ext1, plain),
        "extraction_vs_plain_2_workers": _faster(ext2, plain),
        "notes": (
            f"stride {float(args.stride_s):g} s, slop {SLOP_S:g} s, block 2 s, known alignment; end to end includes "
            "the prepare worker pool's start-up; ours writes every file atomically (fsync) with PNG compression 1, "
            "the plain script with cv2.imwrite's defaults and no fsync; CPU seconds include worker threads and "
            "processes"
        ),
    }
    path = write_result(args.out, "prepare-bag", result)
    summary(
        f"bench prepare-bag: {ours1['pairs_per_s']:.1f} pairs/s with 1 worker, {ours2['pairs_per_s']:.1f} with 2 "
        f"(x{result['speedup_2_vs_1_workers']:.2f}); extraction x{result['extraction_speedup_2_vs_1_workers']:.2f}; "
        f"drive frames/s vs. plain: x{result['end_to_end_vs_plain_2_workers']:.2f} end to end, "
        f"x{result['extraction_vs_plain_2_workers']:.2f} extraction; kept {len(extraction.pairs)} of "
        f"{synth.rgb_frames} frames -> {path}"
    )
    return result
