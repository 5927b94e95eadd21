"""The handler of ``thermal-synth align``: estimate and check the RGB -> thermal transform of a camera rig."""

from __future__ import annotations

import argparse
import contextlib
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rich.markup import escape

from thermal_synth_core.align.estimate import FrameFit
from thermal_synth_core.align.points import alignment_from_points, read_points
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.cli.handlers.prepare import drive_options
from thermal_synth_core.data.drive import sampled_pairs
from thermal_synth_core.data.imageio import read_rgb, read_thermal
from thermal_synth_core.data.layouts import scan_dataset
from thermal_synth_core.data.rig import check_alignment, estimate_from_dataset
from thermal_synth_core.errors import AlignmentError, DataError, ThermalSynthError
from thermal_synth_core.ui import console, summary


def need_action(args: argparse.Namespace) -> int:
    """Handler of a bare ``thermal-synth align``: say which actions there are."""
    raise ThermalSynthError(
        "choose an action: 'thermal-synth align estimate ...' or 'thermal-synth align check ...' (see --help)"
    )


@contextlib.contextmanager
def _frames_of(args: argparse.Namespace, n: int) -> Iterator[tuple[str, str]]:
    """``(root, format)`` of the frames to use: the dataset, or a sample of ``n`` pairs of the --bag drives."""
    if args.bag is not None and args.root is not None:
        raise ThermalSynthError("give --root (a dataset) or --bag (recorded drives), not both")
    if args.bag is None:
        if args.root is None or args.format is None:
            raise ThermalSynthError("give --root and --format (a dataset), or --bag with --rgb-topic/--thermal-topic")
        yield args.root, args.format
        return
    with sampled_pairs(drive_options(args), n) as root:
        yield str(root), "pairs"


def _dataset_sizes(root: str, fmt: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Most common RGB size and the thermal size among a few pairs of the dataset."""
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
    if args.points is None and args.bag is None and (args.root is None or args.format is None):
        raise ThermalSynthError("align estimate needs --root and --format, or --bag (or --points with the sizes)")
    if args.points is not None:
        rgb_pts, th_pts = read_points(args.points)
        if args.rgb_size is None or args.thermal_size is None:
            if args.bag is None and (args.root is None or args.format is None):
                raise ThermalSynthError(
                    "with --points, give --rgb-size and --thermal-size, or --root and --format, or --bag"
                )
            with _frames_of(args, 20) as (root, fmt):
                rgb_size, thermal_size = _dataset_sizes(root, fmt)
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

    with _frames_of(args, args.max_frames) as (root, fmt):
        result = estimate_from_dataset(
            root, fmt, model=args.model, max_frames=args.max_frames, seed=args.seed, on_frame=report
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
    alignment = Alignment.load(args.alignment)
    with _frames_of(args, args.n) as (root, fmt):
        result = check_alignment(root, fmt, alignment, Path(args.out), n=args.n, seed=args.seed)
    values = [v for v in result.scores.values() if not math.isnan(v)]
    median = sorted(values)[len(values) // 2] if values else float("nan")
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    summary(
        f"align check: {len(result.scores)} frames rendered{skipped}, median edge agreement {median:.2f} "
        f"-> {result.contact_sheet}"
    )
    return 0
