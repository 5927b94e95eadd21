"""The Synthesizer's output-view options from the flags of :func:`thermal_synth_core.cli.common.add_view_arguments`."""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.infer.view import parse_output_width

__all__ = ["view_options"]


def view_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Synthesizer keyword arguments of :func:`add_view_arguments`' flags (checked)."""
    return {
        "view": args.view,
        "camera_hfov_deg": args.camera_hfov,
        "output_width": parse_output_width(args.output_width),
        "alignment": args.alignment,
        "rig_hfov_deg": args.rig_hfov,
    }
