"""``thermal-synth export``: model file -> ONNX (and TensorRT engine), verified."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet

DESCRIPTION = """\
Export a model file to ONNX in eval mode, check it with onnx.checker, copy the
model metadata into the ONNX metadata_props, and optionally build a TensorRT
engine. Height and width are dynamic where the architecture allows.

--verify runs the exported graph (ONNX Runtime here; TensorRT where present)
against PyTorch on random inputs and prints the max/mean absolute error; it fails
above the stated tolerance (1e-4 in fp32, 1e-2 in fp16).

Example:
  thermal-synth export --model model.safetensors --onnx model.onnx --verify
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub, "export", "model file -> ONNX / TensorRT, with verification", DESCRIPTION, not_available_yet("export", 3)
    )
    p.add_argument("--model", required=True, metavar="M", help="model file (.safetensors)")
    p.add_argument("--onnx", required=True, metavar="OUT", help="ONNX file to write")
    p.add_argument("--fp16", action="store_true", help="export/build in half precision")
    p.add_argument(
        "--engine", default=None, metavar="OUT", help="also build a TensorRT engine here (needs TensorRT and a GPU)"
    )
    p.add_argument("--verify", action="store_true", help="compare against PyTorch and print max/mean error")
