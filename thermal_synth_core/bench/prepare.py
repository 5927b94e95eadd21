"""``thermal-synth bench prepare``: prepare throughput with 1 and 2 workers."""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.bench import Benchmark
from thermal_synth_core.errors import NotAvailableYetError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _run(args: argparse.Namespace) -> dict[str, Any]:
    raise NotAvailableYetError(
        "'thermal-synth bench prepare' is not available yet in this version (tracked in issue #4)"
    )


BENCHMARK = Benchmark(
    name="prepare", help="prepare throughput with 1 and 2 workers", add_arguments=_add_arguments, run=_run
)
