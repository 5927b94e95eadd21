"""The handler of ``thermal-synth export``: model file -> ONNX (and TensorRT engine), verified."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from thermal_synth_core.errors import ExportError
from thermal_synth_core.export import TOLERANCE, export_onnx, verify_onnx
from thermal_synth_core.export.tensorrt import (
    build_engine,
    deserializer,
    make_key,
    save_engine,
    tensorrt_unavailable_reason,
)
from thermal_synth_core.infer.backends.tensorrt_backend import EngineRunner, TensorRTBackend, engine_shapes
from thermal_synth_core.models import load_generator
from thermal_synth_core.ui import console, progress, summary


def run(args: argparse.Namespace) -> int:
    """Export, check, optionally build the engine, optionally verify; one summary line."""
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

    shapes = engine_shapes(spec, TensorRTBackend.max_batch)
    data = build_engine(onnx_path, precision, shapes)
    save_engine(engine_path, data, make_key(onnx_path, precision, shapes))
    return data


def _verify_engine(data: bytes, net: Any, spec: Any, precision: str) -> tuple[str, bool]:

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
