"""``thermal-synth bench``: benchmarks of every hot path, as ratios measured in one run.

Each benchmark writes JSON under ``--out`` (default ``bench/results``) and
prints a table. Figures on a CPU stand in for GPU figures; each JSON records
the device it ran on.
"""

from __future__ import annotations

import argparse
import logging
from importlib.metadata import entry_points
from typing import Any

from rich.markup import escape

from thermal_synth_core.argtypes import non_negative_int, positive_int
from thermal_synth_core.cli.common import BenchmarkSpec, add_command
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.names import INFER_BENCH_ARCHS, TRAIN_MODES
from thermal_synth_core.ui import console, summary

log = logging.getLogger(__name__)

PLUGIN_GROUP = "thermal_synth.benchmarks"


DESCRIPTION = """\
Benchmarks of the hot paths, each compared with the plain approach in the same run:

  infer     latency/FPS per backend and resolution; ONNX Runtime vs. torch eager, fast vs. unet_256
  train     iterations/s vs. a plain eager loop written like the original implementation
  prepare   aligned pairs/s with 1 and 2 workers
  prepare-bag  prepare --bag pairs/s on a 30 Hz drive, 1 and 2 workers, vs. a plain extraction script
  evaluate  frames/s of offline bag evaluation
  node      end-to-end ROS 2 latency vs. the in-process Synthesizer (needs ROS 2)
  startup   fresh node + camera processes: time to the first frame, per Fast DDS transport choice (ROS 2)
  transports  which Fast DDS transport choices carry 6 MB frames to which, and how many arrive (ROS 2)
  all       every benchmark above, one after the other

Results go to --out as JSON (one file per benchmark).
"""


def _infer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archs",
        nargs="+",
        default=list(INFER_BENCH_ARCHS),
        metavar="ARCH",
        help="generators to time (default: %(default)s)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        default=None,
        metavar="B",
        help="backends to time (default: torch and onnxruntime on the CPU, plus tensorrt/torch-cuda when present)",
    )
    parser.add_argument(
        "--seconds", type=float, default=None, metavar="S", help="timing budget per cell (default 6, quick 1.5)"
    )


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", choices=[*TRAIN_MODES, "all"], default="all", help="which GAN to time")
    parser.add_argument("--size", type=positive_int, default=256, metavar="N", help="square crop side in pixels")
    parser.add_argument("--batch", type=positive_int, default=1, metavar="N", help="images per iteration (both loops)")
    parser.add_argument(
        "--iters",
        type=positive_int,
        default=None,
        metavar="N",
        help="timed iterations per loop (default: pix2pix 20, cyclegan 4; with --quick 3 and 2)",
    )
    parser.add_argument(
        "--warmup",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="untimed iterations per loop after the first (default 1; 2 with --compile)",
    )
    parser.add_argument("--compile", action="store_true", help="ours with torch.compile (compile time is reported)")
    parser.add_argument(
        "--device", choices=["cpu", "cuda", "auto"], default="auto", help="where to train (auto: CUDA when present)"
    )
    parser.add_argument(
        "--threads", type=non_negative_int, default=0, metavar="N", help="CPU threads (default 0: PyTorch's default)"
    )
    parser.add_argument("--ngf", type=positive_int, default=64, metavar="N", help="generator width (the configs' 64)")
    parser.add_argument(
        "--ndf", type=positive_int, default=64, metavar="N", help="discriminator width (the configs' 64)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="N", help="weights and data seed")


def _prepare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=40, metavar="N", help="synthetic FLIR v1 frames to prepare")
    parser.add_argument("--repeat", type=int, default=2, metavar="N", help="runs per worker count (best counts)")


def _prepare_bag_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--frames", type=positive_int, default=300, metavar="N", help="RGB frames of the 30 Hz synthetic drive"
    )
    parser.add_argument(
        "--stops", type=non_negative_int, default=2, metavar="N", help="standstills in the drive (frames that repeat)"
    )
    parser.add_argument(
        "--stride-s", type=float, default=0.0, metavar="S", help="prepare --bag --stride-s (default 0: every pair)"
    )
    parser.add_argument("--repeat", type=positive_int, default=2, metavar="N", help="runs per case (best counts)")


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=60, metavar="N", help="RGB frames in the synthetic drive")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="alternating rounds (plain, ours)")
    parser.add_argument(
        "--model", default="default", metavar="M", help="model file, or 'default' (embedded; a stand-in if absent)"
    )
    parser.add_argument("--backend", default="onnxruntime", metavar="B", help="inference backend (CPU figures)")


#: The core benchmarks; their modules (torch and all) are imported only when one runs.
CORE_BENCHMARKS: tuple[BenchmarkSpec, ...] = (
    BenchmarkSpec(
        "infer",
        "inference latency per backend/resolution/architecture",
        _infer_arguments,
        "thermal_synth_core.bench.infer:run",
    ),
    BenchmarkSpec(
        "train",
        "training iterations/s vs. a plain loop written like the original",
        _train_arguments,
        "thermal_synth_core.bench.train:run",
    ),
    BenchmarkSpec(
        "prepare",
        "prepare throughput with 1 and 2 workers",
        _prepare_arguments,
        "thermal_synth_core.bench.prepare:run",
    ),
    BenchmarkSpec(
        "prepare-bag",
        "prepare --bag pairs/s on a 30 Hz drive with 1 and 2 workers vs. a plain extraction script",
        _prepare_bag_arguments,
        "thermal_synth_core.bench.prepare_bag:run",
    ),
    BenchmarkSpec(
        "evaluate",
        "offline evaluation frames/s: pipelined evaluate vs. the plain per-frame loop",
        _evaluate_arguments,
        "thermal_synth_core.bench.evaluate:run",
    ),
)


def benchmarks() -> list[BenchmarkSpec]:
    """Core benchmarks followed by plug-ins (e.g. the ROS 2 node benchmark)."""
    found = list(CORE_BENCHMARKS)
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            found.append(ep.load())
        except ImportError as exc:
            log.warning("benchmark %r unavailable: %s", ep.name, exc)
    return found


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="bench/results", metavar="DIR", help="folder for the JSON results")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and sizes (smoke runs)")


def register(sub: Any) -> None:
    """Add ``thermal-synth bench`` and one subcommand per benchmark."""
    p = add_command(sub, "bench", "benchmarks (JSON under bench/results)", DESCRIPTION, _need_target)
    targets = p.add_subparsers(dest="bench_target", metavar="TARGET")
    all_benchmarks = benchmarks()
    for bench in all_benchmarks:
        t = add_command(targets, bench.name, bench.help, bench.help, _runner(bench))
        _add_common(t)
        bench.add_arguments(t)
    a = add_command(targets, "all", "run every benchmark", "Run every benchmark in turn.", _run_all)
    _add_common(a)


def _runner(bench: BenchmarkSpec) -> Any:
    def handler(args: argparse.Namespace) -> int:
        bench.resolve()(args)
        return 0

    return handler


def _run_all(args: argparse.Namespace) -> int:
    """Every benchmark in turn; one that stops with an error is reported, the others still run."""
    failed: list[str] = []
    done: list[str] = []
    for bench in benchmarks():
        parser = argparse.ArgumentParser()
        _add_common(parser)
        bench.add_arguments(parser)
        bench_args = parser.parse_args(["--out", args.out, *(["--quick"] if args.quick else [])])
        console.rule(f"bench {bench.name}")
        try:
            bench.resolve()(bench_args)
            done.append(bench.name)
        except ThermalSynthError as exc:
            console.print(f"[bold red]bench {bench.name} failed:[/] {escape(str(exc))}", soft_wrap=True)
            failed.append(bench.name)
    ran, broke = ", ".join(done) or "none", ", ".join(failed) or "none"
    summary(f"bench all: {len(done)} ran ({ran}), {len(failed)} failed ({broke})")
    return 1 if failed else 0


def _need_target(args: argparse.Namespace) -> int:
    names = ", ".join(b.name for b in benchmarks())
    raise ThermalSynthError(f"choose a benchmark: thermal-synth bench {{{names}, all}} (see --help)")
