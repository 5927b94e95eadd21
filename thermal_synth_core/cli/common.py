"""What every command's parser is built with, and the plug-in API of ``thermal-synth``.

A command module (``thermal_synth_core.cli.<name>`` or a plug-in such as
``thermal_synth_ros.cli``) builds its parser from light modules only and names
its handler as ``"package.module:function"``: :func:`add_command` wraps that in
a :class:`LazyHandler`, which imports the module when the command runs. So
listing the commands or printing a command's ``--help`` imports neither torch
nor OpenCV, ONNX Runtime or rclpy.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from thermal_synth_core.argtypes import non_negative_int, parse_size, positive_float, positive_int
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.names import VIEWS

__all__ = [
    "BenchmarkSpec",
    "Handler",
    "LazyHandler",
    "Registrar",
    "SubParsers",
    "add_command",
    "add_view_arguments",
    "non_negative_int",
    "parse_size",
    "positive_float",
    "positive_int",
    "register_unavailable",
]

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace], int]
Registrar: TypeAlias = Callable[[Any], None]


@dataclass(frozen=True)
class LazyHandler:
    """A handler named ``"package.module:function"``, imported when the command runs (not when it is listed)."""

    target: str

    def __post_init__(self) -> None:
        module, sep, function = self.target.partition(":")
        if not sep or not module or not function:
            raise ValueError(f"handler {self.target!r} is not of the form 'package.module:function'")

    def resolve(self) -> Handler:
        """Import the module and return the handler function."""
        module, _, function = self.target.partition(":")
        handler: Handler = getattr(importlib.import_module(module), function)
        return handler

    def __call__(self, args: argparse.Namespace) -> int:
        """Run the handler."""
        return self.resolve()(args)


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark of ``thermal-synth bench``: its flags, and its run function named lazily.

    Core benchmarks are listed in :mod:`thermal_synth_core.cli.bench`; ROS 2 ones plug in
    through the ``thermal_synth.benchmarks`` entry-point group (``thermal_synth_ros.cli``).
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: ``"package.module:function"``: ``args -> result`` (the result is also written as JSON by the benchmark).
    run: str

    def __post_init__(self) -> None:
        LazyHandler(self.run)  # checks the form of the name

    def resolve(self) -> Callable[[argparse.Namespace], object]:
        """Import the benchmark's module and return its run function."""
        module, _, function = self.run.partition(":")
        run: Callable[[argparse.Namespace], object] = getattr(importlib.import_module(module), function)
        return run


def add_command(
    sub: Any, name: str, help_text: str, description: str, handler: Handler | str
) -> argparse.ArgumentParser:
    """Add one subcommand whose ``--help`` shows ``description`` verbatim and defaults.

    Args:
        sub: the subparsers to add to.
        name: the command's name.
        help_text: one line for the command list.
        description: the command's ``--help`` text, kept as written.
        handler: ``args -> exit code``, or its ``"package.module:function"`` name, imported when the command runs.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=_HelpFormatter,
    )
    parser.set_defaults(handler=LazyHandler(handler) if isinstance(handler, str) else handler)
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
