"""``thermal-synth import-reference``: original pytorch-CycleGAN-and-pix2pix checkpoint -> model file."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_int

DESCRIPTION = """\
Turn a generator checkpoint saved by the original pytorch-CycleGAN-and-pix2pix
code (e.g. latest_net_G.pth: a plain state_dict, possibly with a 'module.'
prefix from DataParallel) into a thermal-synth model file (.safetensors with
metadata). The checkpoint is read with torch.load(weights_only=True): no
arbitrary code runs. Keys or shapes that do not match the chosen architecture
are listed in the error.

--mode eval      inference as usual: batch-norm running statistics, dropout off.
--mode train-bn  how the original test.py often ran pix2pix: batch statistics of
                 each input and dropout on. Outputs then depend on the batch.

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
        not_available_yet("import-reference", 3),
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="PATH",
        help="generator state_dict (.pth) from the original implementation",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="model file (.safetensors) to write")
    p.add_argument(
        "--arch", required=True, metavar="NAME", help="generator architecture, e.g. unet_256 or resnet_9blocks"
    )
    p.add_argument("--ngf", type=positive_int, default=64, help="generator filters in the first layer")
    p.add_argument(
        "--norm",
        choices=("batch", "instance", "none"),
        default="batch",
        help="normalisation layers the checkpoint was trained with",
    )
    p.add_argument("--input-nc", type=positive_int, default=3, help="input channels")
    p.add_argument("--output-nc", type=positive_int, default=1, help="output channels (1 for thermal)")
    p.add_argument("--no-dropout", action="store_true", help="the checkpoint was trained without dropout")
    p.add_argument(
        "--mode", choices=("eval", "train-bn"), default="eval", help="how the imported model runs (see above)"
    )
