"""``thermal-synth export``: model file -> ONNX (and TensorRT engine), verified."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command

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
    p = add_command(sub, "export", "model file -> ONNX / TensorRT, with verification", DESCRIPTION, run)
    p.add_argument("--model", required=True, metavar="M", help="model file (.safetensors)")
    p.add_argument("--onnx", required=True, metavar="OUT", help="ONNX file to write")
    p.add_argument("--fp16", action="store_true", help="export/build in half precision (float32 inputs/outputs)")
    p.add_argument(
        "--engine", default=None, metavar="OUT", help="also build a TensorRT engine here (needs TensorRT and a GPU)"
    )
    p.add_argument("--verify", action="store_true", help="compare against PyTorch and print max/mean error")


def run(args: argparse.Namespace) -> int:
    """Export, check, optionally build the engine, optionally verify; one summary line."""
    from thermal_synth_core.errors import ExportError
    from thermal_synth_core.export import export_onnx, verify_onnx
    from thermal_synth_core.export.tensorrt import tensorrt_unavailable_reason
    from thermal_synth_core.modelfile import load_generator
    from thermal_synth_core.ui import console, progress, summary

    precision = "fp16" if args.fp16 else "fp32"
    if args.engine:
        reason = tensorrt_unavailable_reason()
        if reason:
            raise ExportError(f"--engine needs TensorRT on a GPU: {reason}. Export the ONNX here without --engine")
    steps = ["load", "export", *(["engine"] if args.engine else []), *(["verify"] if args.verify else [])]
    onnx_path = Path(args.onnx)
    verdicts: list[str] = []
    failed: list[str] = []
    net: Any = None
    spec: Any = None
    engine_data: bytes | None = None
    for step in progress(steps, total=len(steps), desc="export", unit="step"):
        if step == "load":
            net, spec = load_generator(args.model)
        elif step == "export":
            export_onnx(net, spec, onnx_path, precision=precision, dynamic_hw=True)
        elif step == "engine":
            engine_data = _build_engine(onnx_path, Path(args.engine), precision, spec)
        elif step == "verify":
            report = verify_onnx(onnx_path, net, spec, precision=precision, dynamic_hw=True)
            console.print(report.line())
            verdicts.append(f"ONNX Runtime max err {report.max_abs:.2g}")
            if not report.ok:
                failed.append(report.line())
            if engine_data is not None:
                line, ok = _verify_engine(engine_data, net, spec, precision)
                console.print(line)
                verdicts.append("TensorRT " + ("OK" if ok else "FAILED"))
                if not ok:
                    failed.append(line)
    if failed:
        raise ExportError("verification failed: " + " | ".join(failed))
    extra = f", engine {args.engine}" if args.engine else ""
    checked = f", verified ({'; '.join(verdicts)})" if verdicts else ""
    summary(f"export: {spec.arch} -> {onnx_path} ({precision}, dynamic N/H/W){extra}{checked}")
    return 0


def _build_engine(onnx_path: Path, engine_path: Path, precision: str, spec: Any) -> bytes:
    from thermal_synth_core.export.tensorrt import build_engine, make_key, save_engine
    from thermal_synth_core.infer.backends.tensorrt_backend import TensorRTBackend, engine_shapes

    shapes = engine_shapes(spec, TensorRTBackend.max_batch)
    data = build_engine(onnx_path, precision, shapes)
    save_engine(engine_path, data, make_key(onnx_path, precision, shapes))
    return data


def _verify_engine(data: bytes, net: Any, spec: Any, precision: str) -> tuple[str, bool]:
    import numpy as np
    import torch

    from thermal_synth_core.errors import ExportError
    from thermal_synth_core.export import TOLERANCE
    from thermal_synth_core.export.tensorrt import deserializer
    from thermal_synth_core.infer.backends.tensorrt_backend import EngineRunner, TensorRTBackend

    engine = deserializer()(data)
    if engine is None:
        raise ExportError("TensorRT could not load the engine it just built")
    runner = EngineRunner(engine, torch.device("cuda:0"), TensorRTBackend.max_batch)
    w, h = spec.input_size
    x = torch.rand(1, spec.input_nc, h, w, generator=torch.Generator().manual_seed(1)) * 2 - 1
    net.eval()
    with torch.inference_mode():
        ref = net.float().to("cpu")(x).numpy()
    got = runner.run(x.numpy())
    diff = np.abs(got.astype(np.float64) - ref)
    tol = TOLERANCE[precision]
    ok = float(diff.max()) <= tol
    line = (
        f"TensorRT vs PyTorch at {w}x{h}: max abs error {diff.max():.3g}, mean {diff.mean():.3g} "
        f"(tolerance {tol:g}) {'OK' if ok else 'FAILED'}"
    )
    return line, ok
