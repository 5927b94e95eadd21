"""The handler of ``thermal-synth evaluate``: a model against real thermal on a recorded drive or a prepared dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermal_synth_core.cli.handlers.view_args import view_options
from thermal_synth_core.errors import ConfigError
from thermal_synth_core.eval import EvalOptions, EvalResult, evaluate
from thermal_synth_core.eval.dataset import evaluate_dataset
from thermal_synth_core.eval.outputs import REPORT_FILE
from thermal_synth_core.eval.schema import DatasetEvalOptions
from thermal_synth_core.eval.scoring import HEADLINE
from thermal_synth_core.ui import summary

#: Flags of a bag evaluation that a dataset evaluation refuses (flag -> its attribute and default).
_BAG_ONLY = {
    "--rgb-topic": ("rgb_topic", None),
    "--thermal-topic": ("thermal_topic", None),
    "--mask-topic": ("mask_topic", "auto"),
    "--write-bag": ("write_bag", None),
    "--write-storage": ("write_storage", "auto"),
    "--slop": ("slop", 0.05),
    "--view": ("view", "auto"),
    "--output-width": ("output_width", "working"),
    "--camera-info": ("camera_info", None),
    "--camera-hfov": ("camera_hfov", None),
    "--alignment": ("alignment", None),
    "--rig-hfov": ("rig_hfov", None),
}


def run(args: argparse.Namespace) -> int:
    """Evaluate (a bag or a prepared dataset) and print the one-line summary."""
    if args.dataset is not None:
        return _summary(_run_dataset(args), args)
    if not args.rgb_topic:
        raise ConfigError("evaluate --bag needs --rgb-topic (the RGB camera's topic)")
    return _summary(_run_bag(args), args)


def _run_dataset(args: argparse.Namespace) -> EvalResult:
    given = [flag for flag, (name, default) in _BAG_ONLY.items() if getattr(args, name, default) != default]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise ConfigError(f"{', '.join(given)} {verb} to --bag only, not to --dataset")
    options = DatasetEvalOptions(
        dataset=Path(args.dataset),
        out=Path(args.out),
        split=args.split,
        model=args.model,
        backend=args.backend,
        device=args.device,
        max_frames=args.max_frames,
        samples=max(0, args.samples),
        colormap=args.colormap,
    )
    return evaluate_dataset(options)


def _run_bag(args: argparse.Namespace) -> EvalResult:
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
    return evaluate(options)


def _objects_figures(result: EvalResult) -> str:
    """``; person visible model 40% vs grayscale 10% (real 100%)`` for an annotated dataset, else empty."""
    objects = result.summary.objects
    if objects is None:
        return ""
    person = {side: v.by_class.get("person") for side, v in (("m", objects.model), ("g", objects.baseline))}
    if person["m"] is None or person["m"].rate is None or person["g"] is None or person["g"].rate is None:
        return f"; {objects.objects} objects"
    return f"; person visible model {person['m'].rate:.0%} vs grayscale {person['g'].rate:.0%}"


def _summary(result: EvalResult, args: argparse.Namespace) -> int:
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
        f"{'; '.join(figures)}{_objects_figures(result)}; {fps:.1f} frames/s {where}"
    )
    return 0
