"""The ``thermal-synth`` command line (also ``python -m thermal_synth_core``).

Each subcommand lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``handler`` (``args -> exit code``). Commands
that need ROS 2 (``replay``, ``demo``) live in ``thermal_synth_ros`` and plug
in through the ``thermal_synth.commands`` entry-point group, so this package
never imports rclpy.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from rich.markup import escape

from thermal_synth_core import __version__
from thermal_synth_core.cli import (
    align,
    bench,
    evaluate,
    export,
    import_reference,
    infer,
    prepare,
    synth_data,
)
from thermal_synth_core.cli.common import Registrar, register_unavailable
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.ui import console, setup_logging

__all__ = ["build_parser", "main"]

log = logging.getLogger(__name__)

PLUGIN_GROUP = "thermal_synth.commands"

CORE_COMMANDS: tuple[Registrar, ...] = (
    prepare.register,
    align.register,
    synth_data.register,
    import_reference.register,
    export.register,
    infer.register,
    evaluate.register,
    bench.register,
)

DESCRIPTION = """\
Synthetic thermal camera: learn RGB -> thermal translation, export it, run it, evaluate it.

Typical flow:
  thermal-synth align estimate --root FLIR_ADAS_1_3 --format flir-v1 --out alignment.yaml
  thermal-synth prepare --root FLIR_ADAS_1_3 --format flir-v1 --alignment alignment.yaml --out data/flir
  python -m training.train --config training/configs/pix2pix.yaml data.root=data/flir out_dir=runs/p2p
  thermal-synth export --model runs/p2p/model.safetensors --onnx p2p.onnx --verify
  thermal-synth evaluate --bag drive.mcap --model runs/p2p/model.safetensors --rgb-topic /cam/rgb --out eval/
"""


def _plugin_registrars() -> list[Registrar]:
    found: list[Registrar] = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            found.append(ep.load())
        except ImportError as exc:  # e.g. thermal_synth_ros missing from this install
            found.append(functools.partial(register_unavailable, name=ep.name, error=exc))
    return found


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser, core commands first, then plug-ins."""
    parser = argparse.ArgumentParser(
        prog="thermal-synth",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"thermal-synth {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log detail (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in CORE_COMMANDS:
        register(sub)
    for register_plugin in _plugin_registrars():
        register_plugin(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 error, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        code = args.handler(args)
    except ThermalSynthError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
