"""``thermal-synth infer``: RGB image files -> thermal PNGs."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, add_view_arguments
from thermal_synth_core.names import BACKENDS, COLORMAPS, PRECISIONS

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.infer:run"

DESCRIPTION = """\
Run a model on one RGB image or a folder of them (searched recursively; the
sub-folder layout is kept) and write thermal PNGs named after the inputs:
8-bit for mono8 models, 16-bit PNG for mono16 ones. With --colormap, a
colour-mapped copy NAME_<colormap>.png is written beside each.

Output view (--view, the same word as the node's `view` parameter):
  rig     warp the frame into the thermal view of the rig the alignment describes
          (the model's, or --alignment FILE): frames of that rig's RGB camera (its
          aspect ratio, any resolution); output at that thermal camera's size.
  camera  synthesise in the camera's own view, pixel-aligned with the RGB frame:
          the frame is resized to the model's angular scale (degrees per pixel of
          its training data), which needs the camera's field of view: from
          --camera-info (a camera_info.yaml), else --camera-hfov, else the model's
          own (a warning says so). Output size: --output-width.
  auto    rig for frames with the alignment reference's aspect ratio, else camera
          (the default; the choice is logged once per frame size).

A camera_info.yaml (the ROS camera_calibration_parsers layout) describing the
outputs is written to the output folder, or NAME_camera_info.yaml beside each
output when the frames do not all share one. An unreadable or unusable image is
reported and skipped; the command then exits with status 1.

Examples:
  thermal-synth infer --input frames/ --out thermal/ --colormap ironbow
  thermal-synth infer --input dashcam/ --out thermal/ --view camera --camera-hfov 90 --output-width input
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    backends = ["auto", *BACKENDS]
    colormaps = list(COLORMAPS)
    p = add_command(sub, "infer", "RGB images -> thermal PNGs", DESCRIPTION, HANDLER)
    p.add_argument(
        "--model", default="default", metavar="M", help="model file (.safetensors), or 'default' for the embedded model"
    )
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an RGB image or a folder of images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for thermal PNGs")
    p.add_argument(
        "--backend",
        default="auto",
        choices=backends,
        metavar="B",
        help=f"inference backend: {', '.join(backends)} (auto: TensorRT, else CUDA torch, else ONNX Runtime CPU)",
    )
    p.add_argument(
        "--colormap",
        default=None,
        choices=colormaps,
        metavar="C",
        help=f"also write colour-mapped PNGs: {', '.join(colormaps)}",
    )
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS, help="numeric precision of the backend")
    add_view_arguments(p)
