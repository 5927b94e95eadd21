"""ONNX export with verification built in: eval mode, ``onnx.checker``, metadata, parity with PyTorch.

The graph takes ``rgb`` (N, input_nc, H, W) float32 normalised to [-1, 1] and
returns ``thermal`` (N, output_nc, H, W) float32 in [-1, 1]. Padding to the
architecture's multiple is part of the graph, so H and W can be dynamic. In
``fp16`` the weights and arithmetic are half precision but the inputs and
outputs stay float32 (casts at the edges): the form TensorRT 11 requires for
reduced precision (strongly typed networks) and the one ONNX Runtime CUDA runs.
The model file's metadata travels in ``metadata_props`` so the ONNX file alone
says how to feed it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from thermal_synth_core.errors import ExportError
from thermal_synth_core.fileio import atomic_path
from thermal_synth_core.modelfile import FORMAT_KEY, SPEC_KEY, ModelSpec

__all__ = [
    "EXPORT_VERSION",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "PRECISIONS",
    "TOLERANCE",
    "ParityReport",
    "export_onnx",
    "min_side",
    "onnx_metadata",
    "verify_onnx",
]

log = logging.getLogger(__name__)

INPUT_NAME: Final = "rgb"
OUTPUT_NAME: Final = "thermal"
#: Bumped when the exported graph changes, so cached ONNX files from an older version are re-exported.
EXPORT_VERSION: Final = 1
PRECISIONS: Final = ("fp32", "fp16")
#: Largest max-abs difference from PyTorch (outputs in [-1, 1]) that verification accepts.
TOLERANCE: Final = {"fp32": 1e-4, "fp16": 1e-2}


class _HalfWithFloatIO(nn.Module):
    """Run a network in half precision behind float32 inputs and outputs."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x.half())
        return out.float()


def onnx_metadata(
    spec: ModelSpec, precision: str, dynamic_hw: bool, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The ``metadata_props`` written into an exported graph."""
    meta = dict(spec.to_metadata())
    meta.pop("format", None)
    meta.update(
        {
            "thermal_synth.export_version": str(EXPORT_VERSION),
            "thermal_synth.precision": precision,
            "thermal_synth.input": f"{INPUT_NAME}: float32 N x {spec.input_nc} x H x W in [-1, 1] (RGB order)",
            "thermal_synth.output": f"{OUTPUT_NAME}: float32 N x {spec.output_nc} x H x W in [-1, 1]",
            "thermal_synth.dynamic_hw": "true" if dynamic_hw else "false",
            "thermal_synth.torch_version": torch.__version__,
        }
    )
    meta.update(extra or {})
    assert SPEC_KEY in meta and FORMAT_KEY in meta
    return meta


def _example_size(net: nn.Module, spec: ModelSpec, dynamic_hw: bool) -> tuple[int, int]:
    """(H, W) to trace with: the model's input size, or, for dynamic H/W, one that exercises padding."""
    if not dynamic_hw:
        return spec.input_size[1], spec.input_size[0]
    m = _multiple(net)
    # Not a multiple (so the padding path is traced) and larger than the multiple (so reflection applies);
    # H != W so the exporter never ties the two dimensions together.
    base = max(m, 64)
    return base + 2, base + m + 2


def export_onnx(
    net: nn.Module,
    spec: ModelSpec,
    out: str | Path,
    *,
    precision: str = "fp32",
    dynamic_hw: bool = True,
    extra_metadata: dict[str, str] | None = None,
) -> Path:
    """Export ``net`` (eval mode) to ``out`` atomically, check it, and attach the model metadata.

    Batch is always dynamic; H and W are dynamic when ``dynamic_hw`` (otherwise fixed
    at ``spec.input_size``, the form the inference cache uses: it exports faster).
    """
    import onnx  # noqa: PLC0415 - a 1.5 s import, needed only to write graphs (inference loads cached ones)

    if precision not in PRECISIONS:
        raise ExportError(f"unknown export precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if spec.run_mode != "eval":
        raise ExportError(
            f"this model runs in {spec.run_mode!r} mode (batch statistics, dropout on), which ONNX/TensorRT "
            "graphs do not reproduce; run it with the torch backend, or re-import it with --mode eval"
        )
    out = Path(out)
    if dynamic_hw and min(spec.input_size) < min_side(net):
        # The graph's padding reflects, which needs sides above half the multiple; the model's own
        # input size must run, so fall back to a graph fixed at that size (padding traced as is).
        log.warning(
            "%s input size %dx%d is below the %d pixels a dynamic-size graph needs; exporting a fixed-size graph",
            spec.arch,
            *spec.input_size,
            min_side(net),
        )
        dynamic_hw = False
    was_training = net.training
    module: nn.Module = net
    try:
        net.eval()
        if precision == "fp16":
            # A half copy, so the caller's network stays float32.
            module = _HalfWithFloatIO(_cpu_copy(net)).eval()
        h, w = _example_size(net, spec, dynamic_hw)
        device = next(iter(module.parameters())).device  # a network trained on the GPU exports from there
        example = torch.zeros(2, spec.input_nc, h, w, device=device)
        dim = torch.export.Dim.DYNAMIC
        dynamic_shapes = ({0: dim, 2: dim, 3: dim} if dynamic_hw else {0: dim},)
        with atomic_path(out) as tmp, _quiet_exporter():
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=dynamic_shapes,
                optimize=True,
                verbose=False,
            )
            if program is None:  # pragma: no cover - dynamo export always returns a program
                raise ExportError("torch.onnx.export returned no program")
            model = program.model_proto
            extra = {"thermal_synth.min_side": str(min_side(net) if dynamic_hw else 0), **(extra_metadata or {})}
            meta = onnx_metadata(spec, precision, dynamic_hw, extra)
            del model.metadata_props[:]
            for key, value in meta.items():
                prop = model.metadata_props.add()
                prop.key, prop.value = key, value
            model.doc_string = f"thermal-synth {spec.arch} generator, {precision}"
            onnx.checker.check_model(model, full_check=True)
            onnx.save_model(model, str(tmp))
    except ExportError:
        raise
    except Exception as exc:  # the exporter raises many unrelated types; say which model failed
        raise ExportError(f"ONNX export of {spec.arch} to {out} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        net.train(was_training)
    log.debug("exported %s (%s) to %s", spec.arch, precision, out)
    return out


def _cpu_copy(net: nn.Module) -> nn.Module:
    return copy.deepcopy(net).to("cpu")


@contextlib.contextmanager
def _quiet_exporter() -> Any:
    """The exporter prints progress lines and warnings meant for its developers; keep them off the user's screen."""
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")]
        previous = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, previous, strict=True):
                lg.setLevel(level)


@dataclass(frozen=True)
class ParityReport:
    """Differences between an exported graph and PyTorch on the same inputs (outputs in [-1, 1])."""

    max_abs: float
    mean_abs: float
    tolerance: float
    sizes: tuple[tuple[int, int], ...]  # (W, H) checked
    runtime: str

    @property
    def ok(self) -> bool:
        """Whether the largest difference is within tolerance."""
        return self.max_abs <= self.tolerance

    def line(self) -> str:
        """One line for the user."""
        sizes = ", ".join(f"{w}x{h}" for w, h in self.sizes)
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"{self.runtime} vs PyTorch at {sizes}: max abs error {self.max_abs:.3g}, mean {self.mean_abs:.3g} "
            f"(tolerance {self.tolerance:g}) {verdict}"
        )


def _multiple(net: nn.Module) -> int:
    multiple_of = getattr(net, "multiple", None)
    return int(multiple_of()) if callable(multiple_of) else 1


def min_side(net: nn.Module) -> int:
    """Smallest H or W the exported graph takes: its reflection padding must stay inside the image."""
    return _multiple(net) // 2 + 1


def _parity_sizes(net: nn.Module, spec: ModelSpec, dynamic_hw: bool) -> list[tuple[int, int]]:
    sizes = [spec.input_size]
    if dynamic_hw:
        # Another size, odd (so padding happens) and large enough for the graph's reflection padding.
        w, h = spec.input_size
        low = min_side(net)
        sizes.append((max(w // 2, low) | 1, max(h // 2 + 2, low + 2) | 1))
    return sizes


def verify_onnx(
    onnx_path: str | Path,
    net: nn.Module,
    spec: ModelSpec,
    *,
    precision: str = "fp32",
    dynamic_hw: bool = True,
    providers: list[str] | None = None,
    seed: int = 0,
) -> ParityReport:
    """Run the graph with ONNX Runtime and the network with PyTorch (eval, fp32) on random inputs; compare."""
    available = ort.get_available_providers()
    chosen = providers or (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else [])
    chosen = [p for p in chosen if p in available] + ["CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(onnx_path), providers=chosen)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ExportError(f"ONNX Runtime cannot load {onnx_path}: {exc}") from exc
    gen = torch.Generator().manual_seed(seed)
    was_training = net.training
    net.eval()
    device = next(iter(net.parameters())).device
    max_abs, sum_abs, count = 0.0, 0.0, 0
    sizes = _parity_sizes(net, spec, dynamic_hw)
    try:
        for w, h in sizes:
            x = torch.rand(1, spec.input_nc, h, w, generator=gen) * 2 - 1
            with torch.inference_mode():
                ref = net(x.to(device)).float().cpu().numpy()
            got = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
            if got.shape != ref.shape:
                raise ExportError(f"{onnx_path}: output shape {got.shape} differs from PyTorch's {ref.shape}")
            diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
            max_abs = max(max_abs, float(diff.max()))
            sum_abs += float(diff.sum())
            count += diff.size
    finally:
        net.train(was_training)
    return ParityReport(
        max_abs=max_abs,
        mean_abs=sum_abs / max(count, 1),
        tolerance=TOLERANCE[precision],
        sizes=tuple(sizes),
        runtime=f"ONNX Runtime ({session.get_providers()[0]})",
    )
