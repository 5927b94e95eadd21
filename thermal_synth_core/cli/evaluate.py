"""``thermal-synth evaluate``: a model against real thermal on a recorded drive."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_float, positive_int

DESCRIPTION = """\
Evaluate a model on a rosbag2 (sqlite3 or mcap) or ROS 1 bag, without a ROS
install. RGB frames (Image or CompressedImage) are paired with real thermal
frames (mono8/mono16/16UC1) by header stamp within --slop seconds; L1, PSNR,
SSIM and a warm-region score are computed per frame for the model and for the
grayscale baseline (RGB luminance), both AGC-normalised like the training data.

Writes to --out: metrics.json, frames.csv, sample PNGs and a self-contained
report.html. --write-bag adds thermal_synth/image and thermal_synth/image_color
to a copy of the input topics.

Example:
  thermal-synth evaluate --bag drive.mcap --model model.safetensors --rgb-topic /camera/rgb/image \\
      --thermal-topic /flir/image --out eval_drive/
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "evaluate",
        "model vs. real thermal (and grayscale) on a bag",
        DESCRIPTION,
        not_available_yet("evaluate", 7),
    )
    p.add_argument("--bag", required=True, metavar="PATH", help="rosbag2 directory/file or ROS 1 .bag")
    p.add_argument("--model", default="default", metavar="M", help="model file, or 'default' for the embedded model")
    p.add_argument("--rgb-topic", required=True, metavar="T", help="RGB topic (sensor_msgs/Image or CompressedImage)")
    p.add_argument(
        "--thermal-topic", default=None, metavar="T", help="real thermal topic; without it no metrics are computed"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for the report")
    p.add_argument(
        "--write-bag", default=None, metavar="OUT", help="write a bag with the input topics plus the synthetic topics"
    )
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="stop after N RGB frames")
    p.add_argument(
        "--backend", default="auto", metavar="B", help="inference backend: auto, torch, onnxruntime or tensorrt"
    )
    p.add_argument(
        "--slop",
        type=positive_float,
        default=0.05,
        metavar="S",
        help="max stamp difference in seconds for an RGB/thermal pair",
    )
