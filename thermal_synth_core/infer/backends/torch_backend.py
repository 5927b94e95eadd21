"""The ``torch`` backend: the generator in PyTorch, eager, on the CPU or a CUDA GPU.

On a GPU it runs channels-last with fp16/bf16 autocast when asked; on the CPU
fp32 or bf16 autocast. It is also the only backend that reproduces ``train-bn``
models (batch statistics, dropout on), which it runs one frame at a time like
the original test script with batch size 1.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from thermal_synth_core.errors import BackendError
from thermal_synth_core.infer.backends.base import Backend, FloatArray, check_batch, resolve_device
from thermal_synth_core.modelfile import ModelSpec
from thermal_synth_core.models import load_generator

__all__ = ["TorchBackend"]

_AUTOCAST = {"fp16": torch.float16, "bf16": torch.bfloat16}


class TorchBackend(Backend):
    """PyTorch eager execution."""

    name = "torch"

    def __init__(self, model_path: Path, spec: ModelSpec, device: str = "auto", precision: str = "fp32") -> None:
        super().__init__(model_path, spec, resolve_device(device), precision)
        self.torch_device = torch.device(self.device)
        is_cuda = self.torch_device.type == "cuda"
        if precision == "fp16" and not is_cuda:
            raise BackendError("fp16 with the torch backend needs a CUDA GPU; on the CPU use fp32 or bf16")
        self.net, _ = load_generator(model_path, device=self.torch_device)
        if is_cuda:
            # Convolutions run fastest in NHWC on tensor cores.
            self.net = self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.per_frame = spec.run_mode == "train-bn"
        if self.per_frame:
            self.max_batch = 1

    def _autocast(self) -> Any:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.torch_device.type, dtype=_AUTOCAST[self.precision])

    def run(self, batch: FloatArray) -> FloatArray:
        """Run the batch; train-bn models frame by frame (their output depends on the batch)."""
        check_batch(batch, self.spec)
        if self.per_frame and batch.shape[0] > 1:
            return np.concatenate([self.run(batch[i : i + 1]) for i in range(batch.shape[0])])
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.torch_device)
        if self.torch_device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        try:
            with torch.inference_mode(), self._autocast():
                y = self.net(x)
        except RuntimeError as exc:  # e.g. CUDA out of memory: a per-frame failure the caller may count and drop
            raise BackendError(f"PyTorch failed on a batch of shape {tuple(x.shape)}: {exc}") from exc
        return np.asarray(y.float().cpu().numpy(), dtype=np.float32)

    def describe(self) -> str:
        """Backend, device, precision, and the CPU thread count where it matters."""
        threads = f", {torch.get_num_threads()} threads" if self.torch_device.type == "cpu" else ""
        return f"torch eager on {self.device} ({self.precision}{threads})"
