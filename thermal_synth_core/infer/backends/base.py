"""The inference backend interface and its registry.

A backend runs a model file's generator on a batch already preprocessed by the
:class:`~thermal_synth_core.infer.Synthesizer`: float32 (N, 3, H, W) in [-1, 1]
in, float32 (N, 1, H, W) in [-1, 1] out. H x W is the model's input size in the
``rig`` view and the camera's working size in the ``camera`` view; backends
that compile for one shape (ONNX Runtime graphs, TensorRT engines) keep one
compiled form per size seen. Everything
else (colour order, warping, bit depth) is the Synthesizer's job, so backends
are interchangeable and tested against each other.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
import torch

from thermal_synth_core.errors import BackendError
from thermal_synth_core.modelfile import MAX_SIZE_SIDE, ModelSpec
from thermal_synth_core.names import PRECISIONS

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "Backend",
    "FloatArray",
    "check_batch",
    "check_precision",
    "cuda_available",
    "resolve_device",
]

log = logging.getLogger(__name__)

DEVICES: Final = ("auto", "cpu", "cuda")

FloatArray = npt.NDArray[np.float32]


def cuda_available() -> bool:
    """Whether PyTorch sees a CUDA GPU."""
    return bool(torch.cuda.is_available())


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda:0`` when a GPU is visible, else ``cpu``; checks ``cpu``/``cuda``/``cuda:N``."""
    text = str(device).strip().lower()
    if text == "auto":
        return "cuda:0" if cuda_available() else "cpu"
    if text == "cpu":
        return "cpu"
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not cuda_available():
            raise BackendError(f"device {device!r} requested, but no CUDA GPU is visible; use device 'cpu' or 'auto'")
        return "cuda:0" if text == "cuda" else text
    raise BackendError(f"unknown device {device!r}; valid: auto, cpu, cuda, cuda:N")


def check_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`PRECISIONS` (what ``--precision`` and the node accept), else raise.

    The one check of a precision name; what each backend can run of them (fp16 needs
    a GPU with torch, TensorRT builds no bf16 engines, ...) the backend says itself.
    """
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    return precision


class Backend(ABC):
    """One way of running a generator. Subclasses register in ``BACKENDS`` under :attr:`name`."""

    name: ClassVar[str]
    #: Largest batch handed to :meth:`run` at once (the Synthesizer splits bigger batches).
    max_batch: int = 8

    def __init__(self, model_path: Path, spec: ModelSpec, device: str, precision: str) -> None:
        self.precision = check_precision(precision)
        self.model_path = model_path
        self.spec = spec
        self.device = device

    @classmethod
    def unavailable_reason(cls, device: str = "auto") -> str | None:
        """Why this backend cannot run here on ``device`` (None when it can)."""
        return None

    #: How many compiled forms (one per input size) a shape-specialised backend keeps.
    max_sizes: int = 4

    @abstractmethod
    def run(self, batch: FloatArray) -> FloatArray:
        """(N, C, H, W) float32 in [-1, 1] -> (N, 1, H, W) float32 in [-1, 1]."""

    def describe(self) -> str:
        """One line naming the backend, device and precision (for logs and benchmark tables)."""
        return f"{self.name} on {self.device} ({self.precision})"

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to release
        """Release what the backend holds (sessions, GPU memory)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def check_batch(batch: Any, spec: ModelSpec) -> tuple[int, int]:
    """(W, H) of ``batch``, or BackendError unless it is a float32-convertible (N, C, H, W) array of sane size.

    H and W may be any size (the ``camera`` view runs at the camera's working size);
    the generator pads to its multiple and crops back.
    """
    shape = getattr(batch, "shape", None)
    if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1] != spec.input_nc:
        raise BackendError(f"backend input must be (N, {spec.input_nc}, H, W) float32, got {shape}")
    n, _, h, w = batch.shape
    if n < 1 or not (0 < h <= MAX_SIZE_SIDE and 0 < w <= MAX_SIZE_SIDE):
        raise BackendError(f"backend input of shape {shape} has no frames or sides outside 1..{MAX_SIZE_SIDE}")
    return int(w), int(h)
