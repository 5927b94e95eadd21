"""``thermal-synth bench evaluate``: offline evaluation frames/s."""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.bench import Benchmark
from thermal_synth_core.errors import NotAvailableYetError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _run(args: argparse.Namespace) -> dict[str, Any]:
    raise NotAvailableYetError(
        "'thermal-synth bench evaluate' is not available yet in this version (tracked in issue #7)"
    )


BENCHMARK = Benchmark(
    name="evaluate",
    help="offline evaluation frames/s",
    add_arguments=_add_arguments,
    run=_run,
)
