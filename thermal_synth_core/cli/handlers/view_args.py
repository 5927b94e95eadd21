"""The Synthesizer's output-view options from the flags of :func:`thermal_synth_core.cli.common.add_view_arguments`."""

from __future__ import annotations

import argparse
from typing import TypedDict

from thermal_synth_core.infer.view import OutputWidth, parse_output_width

__all__ = ["ViewOptions", "view_options"]


class ViewOptions(TypedDict):
    """The Synthesizer's output-view keyword arguments."""

    view: str
    camera_hfov_deg: float | None
    output_width: OutputWidth
    alignment: str | None
    rig_hfov_deg: float | None


def view_options(args: argparse.Namespace) -> ViewOptions:
    """The Synthesizer keyword arguments of :func:`add_view_arguments`' flags (checked)."""
    return ViewOptions(
        view=args.view,
        camera_hfov_deg=args.camera_hfov,
        output_width=parse_output_width(args.output_width),
        alignment=args.alignment,
        rig_hfov_deg=args.rig_hfov,
    )
