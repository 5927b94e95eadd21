"""Inference backends in one registry: ``torch``, ``onnxruntime``, ``tensorrt``, plus ``auto``.

``auto`` picks TensorRT when it is installed with a CUDA GPU, else PyTorch on
CUDA, else ONNX Runtime on the CPU (the fastest CPU path), and logs the choice.
Models that must run in ``train-bn`` mode always get the torch backend.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from thermal_synth_core.errors import BackendError
from thermal_synth_core.infer.backends.base import (
    DEVICES,
    PRECISIONS,
    Backend,
    check_precision,
    cuda_available,
    resolve_device,
)
from thermal_synth_core.infer.backends.onnxruntime_backend import OnnxRuntimeBackend
from thermal_synth_core.infer.backends.tensorrt_backend import TensorRTBackend
from thermal_synth_core.infer.backends.torch_backend import TorchBackend
from thermal_synth_core.modelfile import ModelSpec

__all__ = [
    "BACKENDS",
    "DEVICES",
    "PRECISIONS",
    "Backend",
    "OnnxRuntimeBackend",
    "TensorRTBackend",
    "TorchBackend",
    "choose_backend",
    "create_backend",
    "list_backends",
    "resolve_device",
]

log = logging.getLogger(__name__)

BACKENDS: Final[dict[str, type[Backend]]] = {
    "torch": TorchBackend,
    "onnxruntime": OnnxRuntimeBackend,
    "tensorrt": TensorRTBackend,
}


def list_backends() -> list[str]:
    """Registered backend names (``auto`` is accepted too)."""
    return list(BACKENDS)


def choose_backend(spec: ModelSpec, device: str = "auto") -> tuple[str, str]:
    """The backend ``auto`` picks for this model and device, and why."""
    dev = str(device).strip().lower()
    if spec.run_mode == "train-bn":
        return "torch", "the model runs in train-bn mode, which only PyTorch reproduces"
    if dev != "cpu":
        reason = TensorRTBackend.unavailable_reason(dev)
        if reason is None:
            return "tensorrt", "TensorRT and a CUDA GPU are available"
        if cuda_available():
            return "torch", f"CUDA GPU without TensorRT ({reason})"
    return "onnxruntime", "no CUDA GPU" if dev != "cpu" else "device 'cpu' requested"


def create_backend(
    name: str, model_path: str | Path, spec: ModelSpec, device: str = "auto", precision: str = "fp32"
) -> Backend:
    """Instantiate a backend by name (or ``auto``) for a model file."""
    if name == "auto":
        name, why = choose_backend(spec, device)
        log.info("backend auto: chose %s (%s)", name, why)
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; valid: auto, {', '.join(BACKENDS)}")
    check_precision(precision)  # before a backend is chosen or built: the name is wrong everywhere
    if spec.run_mode == "train-bn" and name != "torch":
        raise BackendError(
            f"this model runs in train-bn mode (batch statistics, dropout), which {name} cannot reproduce; "
            "use backend 'torch', or re-import it with --mode eval"
        )
    cls = BACKENDS[name]
    reason = cls.unavailable_reason(device)
    if reason:
        raise BackendError(f"backend {name} is unavailable: {reason}")
    return cls(Path(model_path), spec, device, precision)
