"""``thermal-synth import-reference``: original pytorch-CycleGAN-and-pix2pix checkpoint -> model file."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, parse_size, positive_int
from thermal_synth_core.names import REFERENCE_ARCHS

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.import_reference:run"

DESCRIPTION = """\
Turn a generator checkpoint saved by the original pytorch-CycleGAN-and-pix2pix
code (e.g. latest_net_G.pth: a plain state_dict, possibly with a 'module.'
prefix from DataParallel) into a thermal-synth model file (.safetensors with
metadata). The checkpoint is read with torch.load(weights_only=True): no
arbitrary code runs. Keys or shapes that do not match the chosen architecture
are listed in the error.

--mode eval      inference as usual: batch-norm running statistics, dropout off.
                 Deterministic; exportable to ONNX/TensorRT.
--mode train-bn  how the original test.py runs pix2pix unless given --eval: batch
                 statistics of each input frame and dropout on. Outputs then depend
                 on the frame's own statistics and vary from run to run; only the
                 torch backend reproduces it. Use it when eval mode looks washed out
                 (a sign the running statistics were never representative).

Dropout: pix2pix U-Nets are trained with dropout, CycleGAN ResNets without (the
original defaults). In ResNet blocks dropout shifts layer numbers, so a wrong
choice shows up as mismatched keys: flip --dropout/--no-dropout.

Field of view: the model file records the horizontal field of view of the
thermal frames the checkpoint was trained on (--thermal-hfov), so inference can
reproduce their angular scale on other cameras. Without it, 45 deg is recorded:
the FLIR ADAS thermal camera (Tau2, 13 mm), which most reference thermal models
were trained on.

Example:
  thermal-synth import-reference --checkpoint latest_net_G.pth --out flir_p2p.safetensors \\
      --arch unet_256 --ngf 64 --norm batch --input-nc 3 --output-nc 1
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "import-reference",
        "original pix2pix/CycleGAN checkpoint -> model file",
        DESCRIPTION,
        HANDLER,
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="PATH",
        help="generator state_dict (.pth) from the original implementation",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="model file (.safetensors) to write")
    p.add_argument(
        "--arch",
        required=True,
        choices=REFERENCE_ARCHS,
        metavar="NAME",
        help=f"generator architecture (--netG of the original): {', '.join(REFERENCE_ARCHS)}",
    )
    p.add_argument("--ngf", type=positive_int, default=64, help="generator filters in the first layer")
    p.add_argument(
        "--norm",
        choices=("batch", "instance", "none"),
        default="batch",
        help="normalisation layers the checkpoint was trained with (pix2pix: batch, CycleGAN: instance)",
    )
    p.add_argument("--input-nc", type=positive_int, default=3, help="input channels")
    p.add_argument("--output-nc", type=positive_int, default=1, help="output channels (1 for thermal)")
    drop = p.add_mutually_exclusive_group()
    drop.add_argument(
        "--no-dropout",
        dest="dropout",
        action="store_false",
        default=None,
        help="the checkpoint was trained without dropout (default for resnet_*)",
    )
    drop.add_argument(
        "--dropout",
        dest="dropout",
        action="store_true",
        help="the checkpoint was trained with dropout (default for unet_*)",
    )
    p.add_argument(
        "--mode", choices=("eval", "train-bn"), default="eval", help="how the imported model runs (see above)"
    )
    p.add_argument(
        "--input-size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="size the model runs at (default: the architecture's nominal square, e.g. 256x256 for unet_256)",
    )
    p.add_argument(
        "--output-size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="thermal output size, e.g. 640x512 (default: the input size)",
    )
    p.add_argument(
        "--output-bits", type=int, choices=(8, 16), default=8, help="thermal output bit depth (mono8/mono16)"
    )
    p.add_argument(
        "--thermal-hfov",
        type=float,
        default=None,
        metavar="DEG",
        help="horizontal field of view in degrees (0-180) of the full thermal frames the checkpoint was trained "
        "on (default: 45, the FLIR ADAS thermal camera)",
    )
