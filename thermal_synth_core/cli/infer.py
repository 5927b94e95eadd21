"""``thermal-synth infer``: RGB image files -> thermal PNGs."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet

DESCRIPTION = """\
Run a model on one RGB image or a folder of them and write thermal PNGs
(16-bit PNG when the model outputs mono16), optionally colour-mapped.

Example:
  thermal-synth infer --model model.safetensors --input frames/ --out thermal/ --colormap ironbow
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(sub, "infer", "RGB images -> thermal PNGs", DESCRIPTION, not_available_yet("infer", 3))
    p.add_argument(
        "--model", default="default", metavar="M", help="model file (.safetensors), or 'default' for the embedded model"
    )
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an RGB image or a folder of images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for thermal PNGs")
    p.add_argument(
        "--backend", default="auto", metavar="B", help="inference backend: auto, torch, onnxruntime or tensorrt"
    )
    p.add_argument(
        "--colormap",
        default=None,
        metavar="C",
        help="also write colour-mapped PNGs: white-hot, black-hot, ironbow or inferno",
    )
