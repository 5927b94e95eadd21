"""``thermal-synth align``: estimate and check the RGB -> thermal transform of a camera rig."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command, parse_size, positive_int
from thermal_synth_core.data.layouts import FORMATS

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

Examples:
  thermal-synth align estimate --root FLIR_ADAS_1_3 --format flir-v1 --out alignment.yaml
  thermal-synth align estimate --points picked.csv --rgb-size 1800x1600 --thermal-size 640x512 --out alignment.yaml
"""

CHECK = """\
Render alignment overlays for a sample of frames: an edge overlay (thermal
edges magenta, RGB edges green; they coincide when aligned) and a checkerboard
blend of warped RGB and thermal per frame, plus contact_sheet.png with all of
them and check.json with an edge-agreement score per frame.

Example:
  thermal-synth align check --root FLIR_ADAS_1_3 --format flir-v1 --alignment alignment.yaml --out align_check/
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(sub, "align", "estimate/check the RGB -> thermal alignment of a rig", DESCRIPTION, _need_action)
    actions = p.add_subparsers(dest="align_command", metavar="ACTION")
    est = add_command(actions, "estimate", "estimate one RGB -> thermal transform for a rig", ESTIMATE, run_estimate)
    est.add_argument("--root", default=None, metavar="DIR", help="dataset root (required unless --points with sizes)")
    est.add_argument("--format", default=None, metavar="FORMAT", help=f"dataset layout: {', '.join(FORMATS)}")
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

    chk = add_command(actions, "check", "render overlays to inspect an alignment", CHECK, run_check)
    chk.add_argument("--root", required=True, metavar="DIR", help="dataset root")
    chk.add_argument("--format", required=True, metavar="FORMAT", help=f"dataset layout: {', '.join(FORMATS)}")
    chk.add_argument("--alignment", required=True, metavar="FILE", help="alignment YAML from 'align estimate'")
    chk.add_argument("--out", required=True, metavar="DIR", help="folder for overlays and contact_sheet.png")
    chk.add_argument("--n", type=positive_int, default=12, metavar="N", help="frames to render")
    chk.add_argument("--seed", type=int, default=0, help="seed for the frame sample")


def _need_action(args: argparse.Namespace) -> int:
    from thermal_synth_core.errors import ThermalSynthError

    raise ThermalSynthError(
        "choose an action: 'thermal-synth align estimate ...' or 'thermal-synth align check ...' (see --help)"
    )


def _dataset_sizes(root: str, fmt: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Most common RGB size and the thermal size among a few pairs of the dataset."""
    from collections import Counter

    from thermal_synth_core.data.imageio import read_rgb, read_thermal
    from thermal_synth_core.data.layouts import scan_dataset
    from thermal_synth_core.errors import DataError

    sizes: Counter[tuple[tuple[int, int], tuple[int, int]]] = Counter()
    for rec in [r for r in scan_dataset(root, fmt) if r.paired][:20]:
        th_path = rec.thermal8 or rec.thermal16
        assert rec.rgb is not None and th_path is not None
        try:
            rgb, th = read_rgb(rec.rgb), read_thermal(th_path)
        except DataError:
            continue
        sizes[((rgb.shape[1], rgb.shape[0]), (th.shape[1], th.shape[0]))] += 1
    if not sizes:
        raise DataError(f"no readable frame pair under {root} to take the image sizes from")
    return sizes.most_common(1)[0][0]


def run_estimate(args: argparse.Namespace) -> int:
    """Handler: estimate (or fit to points) and write the alignment YAML."""
    from rich.markup import escape

    from thermal_synth_core.align.estimate import FrameFit, estimate_from_dataset
    from thermal_synth_core.align.points import alignment_from_points, read_points
    from thermal_synth_core.errors import AlignmentError, ThermalSynthError
    from thermal_synth_core.ui import console, summary

    if args.points is None and (args.root is None or args.format is None):
        raise ThermalSynthError("align estimate needs --root and --format (or --points with the sizes)")
    if args.points is not None:
        rgb_pts, th_pts = read_points(args.points)
        if args.rgb_size is None or args.thermal_size is None:
            if args.root is None or args.format is None:
                raise ThermalSynthError("with --points, give --rgb-size and --thermal-size, or --root and --format")
            rgb_size, thermal_size = _dataset_sizes(args.root, args.format)
        rgb_size = args.rgb_size or rgb_size
        thermal_size = args.thermal_size or thermal_size
        alignment = alignment_from_points(rgb_pts, th_pts, rgb_size, thermal_size, model=args.model)
        alignment.save(args.out)
        q = alignment.quality
        summary(
            f"align estimate: {args.model} from {int(q['points'])} points ({int(q['inliers'])} inliers), "
            f"rms {q['rms_px']:.2f} px, max {q['max_px']:.2f} px -> {args.out}"
        )
        return 0

    def report(fit: FrameFit) -> None:
        if fit.error:
            console.print(f"[yellow]{fit.key}: {fit.error}[/]")

    result = estimate_from_dataset(
        args.root, args.format, model=args.model, max_frames=args.max_frames, seed=args.seed, on_frame=report
    )
    a = result.alignment
    q = a.quality
    rejected = [f for f in result.frames if f.matrix is not None and not f.inlier]
    for f in rejected:
        console.print(f"[yellow]rejected {f.key}: residual {f.residual_px:.2f} px from the consensus[/]")
    for warning in result.warnings:
        console.print(f"[yellow]weak evidence: {escape(warning)}[/]")
    if args.strict and result.warnings:
        raise AlignmentError(
            f"align estimate --strict: the evidence is weak ({len(result.warnings)} warning(s) above); "
            f"{args.out} not written (run without --strict to write it anyway, then inspect it with 'align check')"
        )
    a.save(args.out)
    summary(
        f"align estimate: {a.rgb_size[0]}x{a.rgb_size[1]} RGB -> {a.thermal_size[0]}x{a.thermal_size[1]} thermal, "
        f"{q['rgb_px_per_thermal_px']:.3f} RGB px per thermal px; {int(q['frames_inliers'])}/{int(q['frames'])} "
        f"frames agree (residual median {q['residual_median_px']:.2f} px, max {q['residual_max_px']:.2f} px, "
        f"spread {q['residual_spread_px']:.2f} px)"
        + (f", {len(result.warnings)} weak-evidence warning(s)" if result.warnings else "")
        + f" -> {args.out}"
    )
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Handler: render overlays and the contact sheet."""
    from thermal_synth_core.align.check import check_alignment
    from thermal_synth_core.align.transform import Alignment
    from thermal_synth_core.ui import summary

    alignment = Alignment.load(args.alignment)
    result = check_alignment(args.root, args.format, alignment, Path(args.out), n=args.n, seed=args.seed)
    values = [v for v in result.scores.values() if not math.isnan(v)]
    median = sorted(values)[len(values) // 2] if values else float("nan")
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    summary(
        f"align check: {len(result.scores)} frames rendered{skipped}, median edge agreement {median:.2f} "
        f"-> {result.contact_sheet}"
    )
    return 0
