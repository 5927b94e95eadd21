"""``thermal-synth align``: estimate and check the RGB -> thermal transform of a camera rig."""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_int

DESCRIPTION = """\
Estimate or check the RGB -> thermal alignment of a fixed camera rig.

  align estimate  one transform for the rig, from many frame pairs, automatically
                  (edges both cameras see, coarse-to-fine search, ECC refinement,
                  robust combination across frames), or from hand-picked points
  align check     overlays (edges, checkerboard blend) and a contact sheet to look at
"""

ESTIMATE = """\
Estimate one RGB -> thermal transform for a rig from many frame pairs.

Writes a YAML file with the 3x3 matrix, the RGB size it refers to, the thermal
size, the method used, and quality figures (per-frame residual spread, inliers).

Example:
  thermal-synth align estimate --root FLIR_ADAS_1_3 --format flir-v1 --out alignment.yaml
"""

CHECK = """\
Render alignment overlays for a sample of frames: an edge overlay and a
checkerboard blend of warped RGB and thermal per frame, plus one contact sheet.

Example:
  thermal-synth align check --root FLIR_ADAS_1_3 --format flir-v1 --alignment alignment.yaml --out align_check/
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(sub, "align", "estimate/check the RGB -> thermal alignment of a rig", DESCRIPTION, _need_action)
    actions = p.add_subparsers(dest="align_command", metavar="ACTION")
    est = add_command(
        actions,
        "estimate",
        "estimate one RGB -> thermal transform for a rig",
        ESTIMATE,
        not_available_yet("align estimate", 4),
    )
    est.add_argument("--root", required=True, metavar="DIR", help="dataset root")
    est.add_argument("--format", required=True, metavar="FORMAT", help="dataset layout: flir-v1, flir-v2 or pairs")
    est.add_argument("--out", required=True, metavar="FILE", help="alignment YAML to write")
    est.add_argument(
        "--model", choices=("homography", "affine", "similarity"), default="homography", help="transform model to fit"
    )
    est.add_argument(
        "--points",
        default=None,
        metavar="CSV",
        help="hand-picked correspondences (rgb_x,rgb_y,thermal_x,thermal_y) instead of automatic matching",
    )
    est.add_argument(
        "--max-frames", type=positive_int, default=60, metavar="N", help="frame pairs to sample for the estimate"
    )
    est.add_argument("--seed", type=int, default=0, help="seed for the frame sample")

    chk = add_command(
        actions, "check", "render overlays to inspect an alignment", CHECK, not_available_yet("align check", 4)
    )
    chk.add_argument("--root", required=True, metavar="DIR", help="dataset root")
    chk.add_argument("--format", required=True, metavar="FORMAT", help="dataset layout: flir-v1, flir-v2 or pairs")
    chk.add_argument("--alignment", required=True, metavar="FILE", help="alignment YAML from 'align estimate'")
    chk.add_argument("--out", required=True, metavar="DIR", help="folder for overlays and contact_sheet.png")
    chk.add_argument("--n", type=positive_int, default=12, metavar="N", help="frames to render")
    chk.add_argument("--seed", type=int, default=0, help="seed for the frame sample")


def _need_action(args: argparse.Namespace) -> int:
    from thermal_synth_core.errors import ThermalSynthError

    raise ThermalSynthError(
        "choose an action: 'thermal-synth align estimate ...' or 'thermal-synth align check ...' (see --help)"
    )
