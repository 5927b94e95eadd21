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

from thermal_synth_core.bench import Benchmark, evaluate, infer, prepare, train
from thermal_synth_core.cli._common import add_command
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.ui import console, summary

log = logging.getLogger(__name__)

PLUGIN_GROUP = "thermal_synth.benchmarks"

CORE_BENCHMARKS: tuple[Benchmark, ...] = (infer.BENCHMARK, train.BENCHMARK, prepare.BENCHMARK, evaluate.BENCHMARK)

DESCRIPTION = """\
Benchmarks of the hot paths, each compared with the plain approach in the same run:

  infer     latency/FPS per backend and resolution; ONNX Runtime vs. torch eager, fast vs. unet_256
  train     iterations/s vs. a plain eager loop written like the original implementation
  prepare   aligned pairs/s with 1 and 2 workers
  evaluate  frames/s of offline bag evaluation
  node      end-to-end ROS 2 latency vs. the in-process Synthesizer (needs ROS 2)
  startup   fresh node + camera processes: time to the first frame, per Fast DDS transport choice (ROS 2)
  transports  which Fast DDS transport choices carry 6 MB frames to which, and how many arrive (ROS 2)
  all       every benchmark above, one after the other

Results go to --out as JSON (one file per benchmark).
"""


def benchmarks() -> list[Benchmark]:
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


def _runner(bench: Benchmark) -> Any:
    def handler(args: argparse.Namespace) -> int:
        bench.run(args)
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
            bench.run(bench_args)
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
