"""``thermal-synth export``: model file -> ONNX (and TensorRT engine), verified."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.export:run"

DESCRIPTION = """\
Export a model file to ONNX in eval mode, check it with onnx.checker, copy the
model metadata into the ONNX metadata_props, and optionally build a TensorRT
engine. Batch, height and width are dynamic: the padding every architecture
needs is part of the graph, so any frame size works (sides should be at least
half the architecture's multiple, e.g. 128 for unet_256).

--fp16 keeps float32 inputs/outputs and runs half precision inside (the form
TensorRT 11 needs; TensorRT 10 is additionally given its FP16 builder flag).

--verify runs the exported graph (ONNX Runtime here; the TensorRT engine too
when one is built) against PyTorch on random inputs at the model's input size
and at an odd size, prints the max/mean absolute error, and fails above the
tolerance (1e-4 in fp32, 1e-2 in fp16; outputs span [-1, 1]).

--engine writes the engine plus OUT.json, its cache key (TensorRT version, GPU
compute capability, ONNX SHA-256, precision, input shapes): an engine only runs
where that key matches. The Synthesizer builds and caches engines by itself;
--engine is for shipping a prebuilt one.

Example:
  thermal-synth export --model model.safetensors --onnx model.onnx --verify
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "export",
        "model file -> ONNX / TensorRT, with verification",
        DESCRIPTION,
        HANDLER,
    )
    p.add_argument("--model", required=True, metavar="M", help="model file (.safetensors)")
    p.add_argument("--onnx", required=True, metavar="OUT", help="ONNX file to write")
    p.add_argument("--fp16", action="store_true", help="export/build in half precision (float32 inputs/outputs)")
    p.add_argument(
        "--engine", default=None, metavar="OUT", help="also build a TensorRT engine here (needs TensorRT and a GPU)"
    )
    p.add_argument("--verify", action="store_true", help="compare against PyTorch and print max/mean error")
