"""``thermal-synth evaluate``: a model against real thermal on a recorded drive or a prepared dataset."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, add_view_arguments, positive_float, positive_int
from thermal_synth_core.names import BACKENDS, COLORMAPS, OUTPUT_STORAGES

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.evaluate:run"

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

--dataset DIR (instead of --bag) evaluates a folder written by `prepare` on its
--split (default val): each pair's RGB, already warped into the thermal view,
runs through the model and is scored against its thermal frame, with the same
outputs. When the split has object annotations (DIR/<split>/annotations.json),
every box is also scored on the model's, the grayscale and the real frame
(visible: a box contrast of the real one's sign and at least half its size):
objects.csv (one row per object), an "objects" section in metrics.json, and in
the report a per-class table, visibility by box size and by day/night (the
manifest's tag, else the RGB brightness), and the worst-missed people. Bag
topics and --write-bag do not apply to a dataset.

Examples:
  thermal-synth evaluate --bag drive.mcap --model model.safetensors --rgb-topic /camera/rgb/image \\
      --thermal-topic /flir/image --out eval_drive/ --write-bag drive_synth
  thermal-synth evaluate --dataset data/flir_prepared --split val --model model.safetensors --out eval_val/
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    backends = ["auto", *BACKENDS]
    p = add_command(
        sub,
        "evaluate",
        "model vs. real thermal (and grayscale) on a bag or a prepared dataset",
        DESCRIPTION,
        HANDLER,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--bag", metavar="PATH", help="rosbag2 folder, .mcap/.db3 file, or ROS 1 .bag")
    source.add_argument("--dataset", metavar="DIR", help="a prepared dataset (written by 'thermal-synth prepare')")
    p.add_argument("--split", default="val", metavar="S", help="with --dataset: the split evaluated (default: val)")
    p.add_argument("--model", default="default", metavar="M", help="model file, or 'default' for the embedded model")
    p.add_argument(
        "--rgb-topic", default=None, metavar="T", help="RGB topic (sensor_msgs/Image or CompressedImage); with --bag"
    )
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
    p.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="stop after N RGB frames (or pairs)"
    )
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
        choices=list(COLORMAPS),
        metavar="C",
        help=f"colour map of the samples and /thermal_synth/image_color: {', '.join(list(COLORMAPS))}",
    )

    add_view_arguments(p)
