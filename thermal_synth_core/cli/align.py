"""``thermal-synth align``: estimate and check the RGB -> thermal transform of a camera rig."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, parse_size, positive_int
from thermal_synth_core.cli.prepare import BAG_HELP, add_bag_arguments
from thermal_synth_core.names import ALIGNMENT_MODELS, DATASET_FORMATS

HANDLERS = "thermal_synth_core.cli.handlers.align"

DESCRIPTION = """\
Estimate or check the RGB -> thermal alignment of a fixed camera rig.

  align estimate  one transform for the rig, from many frame pairs, automatically
                  (edge orientation both cameras see, coarse search, joint
                  refinement over all frames), or from hand-picked points
  align check     overlays (edges, checkerboard blend) and a contact sheet to look at
"""

ESTIMATE = """\
Estimate one RGB -> thermal transform for a rig from many frame pairs.

Works on structure both cameras see (gradient orientation after local contrast
normalisation, blind to which side of an edge is brighter): a search over
scale, small rotation and offset summed over several frames, then a joint
refinement in which every frame votes on the shift of each image region, coarse
to fine, and a check of each frame against the result (a frame agrees when its
own matched regions sit within 1 thermal px of it; frames far off are left out).
Perspective is kept only when the frames agree on it. Writes a YAML file with
the 3x3 matrix, the RGB size it refers to, the thermal size, the method, and
quality figures (frames used/agreeing, per-frame residual median/max/spread in
thermal pixels, correlation). Warns when the evidence is weak (few frames agree, a
flat search score, perspective above noise the frames do not agree on);
--strict turns those warnings into a failure.

With --points CSV (lines rgb_x,rgb_y,thermal_x,thermal_y, in pixels of the RGB
image at its full size and of the thermal image) the transform is fitted to
hand-picked correspondences instead; sizes come from the dataset (--root,
--format) or from --rgb-size and --thermal-size.

With --bag (instead of --root/--format) the frame pairs come from recorded
drives: paired by header stamp within --slop, an evenly spaced sample of
--max-frames pairs (cars standing still skipped).

Examples:
  thermal-synth align estimate --root FLIR_ADAS_1_3 --format flir-v1 --out alignment.yaml
  thermal-synth align estimate --bag drive1 --rgb-topic /camera/rgb/image_raw --thermal-topic /thermal/image_raw \
      --out alignment.yaml
  thermal-synth align estimate --points picked.csv --rgb-size 1800x1600 --thermal-size 640x512 --out alignment.yaml
"""

CHECK = """\
Render alignment overlays for a sample of frames: an edge overlay (thermal
edges magenta, RGB edges green; they coincide when aligned) and a checkerboard
blend of warped RGB and thermal per frame, plus contact_sheet.png with all of
them and check.json with an edge-agreement score per frame.

Frames come from a dataset (--root, --format) or from recorded drives (--bag
with --rgb-topic and --thermal-topic: an evenly spaced sample of --n pairs).

Example:
  thermal-synth align check --root FLIR_ADAS_1_3 --format flir-v1 --alignment alignment.yaml --out align_check/
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "align",
        "estimate/check the RGB -> thermal alignment of a rig",
        DESCRIPTION,
        f"{HANDLERS}:need_action",
    )
    actions = p.add_subparsers(dest="align_command", metavar="ACTION")
    est = add_command(
        actions,
        "estimate",
        "estimate one RGB -> thermal transform for a rig",
        ESTIMATE,
        f"{HANDLERS}:run_estimate",
    )
    est.add_argument("--root", default=None, metavar="DIR", help="dataset root (required unless --points with sizes)")
    est.add_argument("--bag", action="append", default=None, metavar="PATH", help=f"{BAG_HELP}, instead of --root")
    est.add_argument("--format", default=None, metavar="FORMAT", help=f"dataset layout: {', '.join(DATASET_FORMATS)}")
    est.add_argument("--out", required=True, metavar="FILE", help="alignment YAML to write")
    est.add_argument("--model", choices=ALIGNMENT_MODELS, default="homography", help="transform model to fit")
    est.add_argument(
        "--points",
        default=None,
        metavar="CSV",
        help="hand-picked correspondences (rgb_x,rgb_y,thermal_x,thermal_y) instead of automatic matching",
    )
    est.add_argument("--rgb-size", type=parse_size, default=None, metavar="WxH", help="RGB size the points refer to")
    est.add_argument(
        "--thermal-size", type=parse_size, default=None, metavar="WxH", help="thermal size the points refer to"
    )
    est.add_argument(
        "--max-frames", type=positive_int, default=60, metavar="N", help="frame pairs to sample for the estimate"
    )
    est.add_argument("--seed", type=int, default=0, help="seed for the frame sample")
    est.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1, nothing written) when the evidence is weak: few frames agree, a flat search score, "
        "or perspective the frames do not agree on",
    )
    add_bag_arguments(est, selection=False)

    chk = add_command(
        actions,
        "check",
        "render overlays to inspect an alignment",
        CHECK,
        f"{HANDLERS}:run_check",
    )
    chk.add_argument("--root", default=None, metavar="DIR", help="dataset root (or --bag)")
    chk.add_argument("--bag", action="append", default=None, metavar="PATH", help=f"{BAG_HELP}, instead of --root")
    chk.add_argument(
        "--format", default=None, metavar="FORMAT", help=f"dataset layout (with --root): {', '.join(DATASET_FORMATS)}"
    )
    chk.add_argument("--alignment", required=True, metavar="FILE", help="alignment YAML from 'align estimate'")
    chk.add_argument("--out", required=True, metavar="DIR", help="folder for overlays and contact_sheet.png")
    chk.add_argument("--n", type=positive_int, default=12, metavar="N", help="frames to render")
    chk.add_argument("--seed", type=int, default=0, help="seed for the frame sample")
    add_bag_arguments(chk, selection=False)
