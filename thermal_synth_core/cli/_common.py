"""Pieces shared by the CLI command modules: types, argument parsers, the unavailable-plug-in handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

from thermal_synth_core.argtypes import non_negative_int, parse_size, positive_float, positive_int
from thermal_synth_core.errors import ThermalSynthError

__all__ = [
    "Handler",
    "Registrar",
    "SubParsers",
    "add_command",
    "add_view_arguments",
    "non_negative_int",
    "parse_size",
    "positive_float",
    "positive_int",
    "register_unavailable",
    "view_options",
]

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace], int]
Registrar: TypeAlias = Callable[[Any], None]


def add_command(sub: Any, name: str, help_text: str, description: str, handler: Handler) -> argparse.ArgumentParser:
    """Add one subcommand whose ``--help`` shows ``description`` verbatim and defaults."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=_HelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep hand-written descriptions as written; show a flag's default when it has a real one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default in (None, False, argparse.SUPPRESS) or "default" in text or action.option_strings == []:
            return text
        return f"{text} (default: {default})"


def register_unavailable(sub: Any, name: str, error: BaseException) -> None:
    """Register a plug-in command that failed to import, so that using it explains why."""

    def handler(args: argparse.Namespace) -> int:
        raise ThermalSynthError(
            f"'thermal-synth {name}' needs the ROS 2 part of the package, which failed to import: {error}. "
            "Install the ROS 2 Python packages (pip install -e '.[ros]' or source a ROS 2 install)."
        )

    add_command(sub, name, f"(unavailable: {error})", f"'{name}' could not be loaded: {error}", handler)


def add_view_arguments(p: argparse.ArgumentParser) -> None:
    """--view, --camera-hfov, --camera-info, --output-width, --alignment, --rig-hfov (shared with evaluate)."""
    from thermal_synth_core.infer.view import VIEWS

    g = p.add_argument_group("output view")
    g.add_argument("--view", default="auto", choices=VIEWS, help="rig, camera or auto (see the description)")
    g.add_argument(
        "--camera-hfov",
        type=positive_float,
        default=None,
        metavar="DEG",
        help="the RGB camera's horizontal field of view in degrees (camera view; --camera-info wins)",
    )
    g.add_argument(
        "--camera-info",
        default=None,
        metavar="YAML",
        help="the RGB camera's camera_info.yaml (camera_calibration_parsers layout; a rescale of the frames is fine)",
    )
    g.add_argument(
        "--output-width",
        default="working",
        metavar="W",
        help="camera view output width: working (the network's working size), input (the frame's), or pixels",
    )
    g.add_argument(
        "--alignment",
        default=None,
        metavar="YAML",
        help="an alignment (thermal-synth align estimate) replacing the model's: rig view on another vehicle's rig",
    )
    g.add_argument(
        "--rig-hfov",
        type=positive_float,
        default=None,
        metavar="DEG",
        help="with --alignment: that rig's thermal horizontal field of view (default: the model's)",
    )


def view_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Synthesizer keyword arguments of :func:`add_view_arguments`' flags (checked)."""
    from thermal_synth_core.infer.view import parse_output_width

    return {
        "view": args.view,
        "camera_hfov_deg": args.camera_hfov,
        "output_width": parse_output_width(args.output_width),
        "alignment": args.alignment,
        "rig_hfov_deg": args.rig_hfov,
    }
