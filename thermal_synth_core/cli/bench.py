"""``thermal-synth bench``: benchmarks of every hot path, as ratios measured in one run.

Each benchmark writes JSON under ``--out`` (default ``bench/results``) and
prints a table. Figures on a CPU stand in for GPU figures; each JSON records
the device it ran on.
"""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet

DESCRIPTION = """\
Benchmarks of the hot paths, each compared with the plain approach in the same run:

  infer     latency/FPS per backend and resolution; ONNX Runtime vs. torch eager, fast vs. unet_256
  train     iterations/s vs. a plain eager loop written like the original implementation
  prepare   aligned pairs/s with 1 and 2 workers
  evaluate  frames/s of offline bag evaluation
  node      end-to-end ROS 2 latency vs. the in-process Synthesizer (needs ROS 2)
  all       every benchmark above, one after the other

Results go to --out as JSON (one file per benchmark).
"""

BENCHMARKS: dict[str, tuple[str, int]] = {
    "infer": ("inference latency per backend/resolution/architecture", 3),
    "train": ("training iterations/s vs. the plain loop", 5),
    "prepare": ("prepare throughput with 1 and 2 workers", 4),
    "evaluate": ("offline evaluation frames/s", 7),
    "node": ("ROS 2 node end-to-end latency vs. in-process", 6),
}


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(sub, "bench", "benchmarks (JSON under bench/results)", DESCRIPTION, _need_target)
    targets = p.add_subparsers(dest="bench_target", metavar="TARGET")
    for name, (help_text, issue) in BENCHMARKS.items():
        t = add_command(targets, name, help_text, help_text, not_available_yet(f"bench {name}", issue))
        t.add_argument("--out", default="bench/results", metavar="DIR", help="folder for the JSON results")
        t.add_argument("--quick", action="store_true", help="fewer repetitions (for smoke tests)")
    a = add_command(
        targets, "all", "run every benchmark", "Run every benchmark in turn.", not_available_yet("bench all", 3)
    )
    a.add_argument("--out", default="bench/results", metavar="DIR", help="folder for the JSON results")
    a.add_argument("--quick", action="store_true", help="fewer repetitions (for smoke tests)")


def _need_target(args: argparse.Namespace) -> int:
    from thermal_synth_core.errors import ThermalSynthError

    raise ThermalSynthError(
        "choose a benchmark: thermal-synth bench {infer,train,prepare,evaluate,node,all} (see --help)"
    )
