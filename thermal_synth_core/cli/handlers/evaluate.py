"""The handler of ``thermal-synth evaluate``: a model against real thermal on a recorded drive."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermal_synth_core.cli.handlers.view_args import view_options
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_core.eval.outputs import REPORT_FILE
from thermal_synth_core.eval.scoring import HEADLINE
from thermal_synth_core.ui import summary


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the one-line summary."""
    mask = None if str(args.mask_topic).lower() == "none" else args.mask_topic
    view = view_options(args)  # checked before any work
    options = EvalOptions(
        bag=Path(args.bag),
        rgb_topic=args.rgb_topic,
        out=Path(args.out),
        model=args.model,
        backend=args.backend,
        device=args.device,
        thermal_topic=args.thermal_topic,
        mask_topic=mask,
        write_bag=Path(args.write_bag) if args.write_bag else None,
        write_storage=args.write_storage,
        max_frames=args.max_frames,
        slop=args.slop,
        samples=max(0, args.samples),
        colormap=args.colormap,
        view=view["view"],
        camera_hfov_deg=view["camera_hfov_deg"],
        output_width=view["output_width"],
        camera_info=Path(args.camera_info) if args.camera_info else None,
        alignment=Path(args.alignment) if args.alignment else None,
        rig_hfov_deg=view["rig_hfov_deg"],
    )
    result = evaluate(options)
    doc = result.summary
    fps = doc.timing.frames_per_s or 0.0
    where = f"-> {Path(args.out) / REPORT_FILE}" + (f", bag {result.bag_out}" if result.bag_out else "")
    if not doc.has_metrics:
        summary(f"evaluate: {result.frames} frames synthesized; {doc.note} ({fps:.1f} frames/s) {where}")
        return 0
    figures = []
    for key in HEADLINE:
        entry = result.aggregate.get(key)
        if entry:
            winner = {"model": "model better", "baseline": "grayscale better"}.get(entry["winner"] or "tie", "tie")
            figures.append(
                f"{entry['label']} model {entry['model']['mean']:.3f} vs grayscale {entry['baseline']['mean']:.3f}"
                f" ({winner})"
            )
    summary(
        f"evaluate: {result.frames} frames, {result.scored} compared with real thermal; "
        f"{'; '.join(figures)}; {fps:.1f} frames/s {where}"
    )
    return 0
