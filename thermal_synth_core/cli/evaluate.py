"""``thermal-synth evaluate``: a model against real thermal on a recorded drive."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command, add_view_arguments, positive_float, positive_int, view_options

DESCRIPTION = """\
Evaluate a model on a rosbag2 (sqlite3 or mcap) or ROS 1 bag, without a ROS
install. RGB frames (Image or CompressedImage) are paired with real thermal
frames (mono8/mono16/16UC1) by header stamp within --slop seconds; L1, PSNR,
SSIM and a warm-region score are computed per frame for the model and for the
grayscale baseline (RGB luminance warped into the thermal view like the
model's input), all AGC-normalised like the training data. With a warm-object
mask topic (auto-detected as /thermal/warm_mask), the warm contrast too.

Writes to --out: metrics.json (aggregate, model and bag provenance),
frames.csv (per frame), samples/*.png (RGB | synthetic | real | error) and a
self-contained report.html. --write-bag writes a new bag with the input topics
plus /thermal_synth/image, /thermal_synth/camera_info (the output's camera
model) and /thermal_synth/image_color (RGB stamps), written to a hidden
temporary folder and renamed when complete.

Output view (--view, as for `infer` and the node): rig warps RGB into the rig's
thermal view (the model's alignment, or --alignment for another vehicle), the
only view real thermal can be compared in; camera synthesises in the RGB
camera's own view at the model's angular scale (a camera without a thermal
rig; give its field of view with --camera-info or --camera-hfov); auto picks
rig for frames of the alignment's aspect ratio.

Without --thermal-topic the synthetic topics and samples are still written;
no metrics can be computed then. A bag that is damaged part-way keeps the
outputs of the frames read before the damage and exits with status 1.

Example:
  thermal-synth evaluate --bag drive.mcap --model model.safetensors --rgb-topic /camera/rgb/image \\
      --thermal-topic /flir/image --out eval_drive/ --write-bag drive_synth
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    from thermal_synth_core.eval.writebag import OUTPUT_STORAGES
    from thermal_synth_core.infer.backends import list_backends
    from thermal_synth_core.infer.colormap import list_colormaps

    backends = ["auto", *list_backends()]
    p = add_command(sub, "evaluate", "model vs. real thermal (and grayscale) on a bag", DESCRIPTION, run)
    p.add_argument("--bag", required=True, metavar="PATH", help="rosbag2 folder, .mcap/.db3 file, or ROS 1 .bag")
    p.add_argument("--model", default="default", metavar="M", help="model file, or 'default' for the embedded model")
    p.add_argument("--rgb-topic", required=True, metavar="T", help="RGB topic (sensor_msgs/Image or CompressedImage)")
    p.add_argument(
        "--thermal-topic", default=None, metavar="T", help="real thermal topic; without it no metrics are computed"
    )
    p.add_argument(
        "--mask-topic",
        default="auto",
        metavar="T",
        help="warm-object mask topic (mono8) for the warm contrast; 'auto' uses /thermal/warm_mask when the bag "
        "has it, 'none' disables it",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="output folder: metrics.json, frames.csv, samples/, report.html"
    )
    p.add_argument(
        "--write-bag",
        default=None,
        metavar="OUT",
        help="write a new rosbag2 folder OUT (never overwritten): the input topics plus /thermal_synth/image "
        "and /thermal_synth/image_color",
    )
    p.add_argument(
        "--write-storage",
        default="auto",
        choices=OUTPUT_STORAGES,
        help="storage of --write-bag: auto keeps the input's (mcap for ROS 1 input)",
    )
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="stop after N RGB frames")
    p.add_argument(
        "--backend",
        default="auto",
        choices=backends,
        metavar="B",
        help=f"inference backend: {', '.join(backends)} (auto: TensorRT, else CUDA torch, else ONNX Runtime CPU)",
    )
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--slop",
        type=positive_float,
        default=0.05,
        metavar="S",
        help="max stamp difference in seconds for an RGB/thermal pair",
    )
    p.add_argument("--samples", type=int, default=6, metavar="N", help="frames spread over the drive shown as samples")
    p.add_argument(
        "--colormap",
        default="ironbow",
        choices=list_colormaps(),
        metavar="C",
        help=f"colour map of the samples and /thermal_synth/image_color: {', '.join(list_colormaps())}",
    )

    add_view_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the one-line summary."""
    from thermal_synth_core.eval import EvalOptions, evaluate
    from thermal_synth_core.eval.outputs import REPORT_FILE
    from thermal_synth_core.eval.scoring import HEADLINE
    from thermal_synth_core.ui import summary

    mask = None if str(args.mask_topic).lower() == "none" else args.mask_topic
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
        **_view(args),
    )
    result = evaluate(options)
    doc = result.summary
    fps = doc["timing"].get("frames_per_s") or 0.0
    where = f"-> {Path(args.out) / REPORT_FILE}" + (f", bag {result.bag_out}" if result.bag_out else "")
    if not doc["has_metrics"]:
        summary(f"evaluate: {result.frames} frames synthesized; {doc['note']} ({fps:.1f} frames/s) {where}")
        return 0
    figures = []
    for key in HEADLINE:
        entry = result.aggregate.get(key)
        if entry:
            winner = {"model": "model better", "baseline": "grayscale better"}.get(entry["winner"], "tie")
            figures.append(
                f"{entry['label']} model {entry['model']['mean']:.3f} vs grayscale {entry['baseline']['mean']:.3f}"
                f" ({winner})"
            )
    summary(
        f"evaluate: {result.frames} frames, {result.scored} compared with real thermal; "
        f"{'; '.join(figures)}; {fps:.1f} frames/s {where}"
    )
    return 0


def _view(args: argparse.Namespace) -> dict[str, Any]:
    """The EvalOptions fields of the view flags."""
    chosen = view_options(args)
    return {
        "view": chosen["view"],
        "camera_hfov_deg": chosen["camera_hfov_deg"],
        "output_width": chosen["output_width"],
        "camera_info": Path(args.camera_info) if args.camera_info else None,
        "alignment": Path(args.alignment) if args.alignment else None,
        "rig_hfov_deg": chosen["rig_hfov_deg"],
    }
