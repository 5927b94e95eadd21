"""``python -m training.train``: train Pix2Pix or CycleGAN generators from a YAML config.

Usage:
  python -m training.train --config training/configs/pix2pix.yaml data.root=data/flir out_dir=runs/p2p

Overrides are dotted ``key=value`` pairs, type-checked against the config;
unknown keys are rejected before any training starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.markup import escape

from thermal_synth_core.errors import NotAvailableYetError, ThermalSynthError
from thermal_synth_core.ui import console


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m training.train``."""
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", required=True, metavar="YAML", help="training config, e.g. training/configs/pix2pix.yaml"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. steps=1000 data.root=DIR"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and train; returns the exit code."""
    build_parser().parse_args(argv)
    try:
        raise NotAvailableYetError(
            "training is not available yet in this version (tracked in issue #5); nothing was done"
        )
    except ThermalSynthError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
