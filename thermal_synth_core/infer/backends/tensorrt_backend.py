"""The ``tensorrt`` backend: a TensorRT engine built from the cached ONNX graph, run with ``execute_async_v3``.

Inputs and outputs live in PyTorch CUDA tensors whose device pointers are handed
to the execution context, so no extra CUDA binding library is needed. The engine
comes from the engine cache (see :mod:`thermal_synth_core.export.tensorrt`): built
on first use for this TensorRT version, GPU, graph, precision and input shape.
A batch of another H x W (the ``camera`` view's working size) gets an engine of
its own, built from a graph fixed at that size on first use and kept (the last
few sizes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from thermal_synth_core.errors import BackendError
from thermal_synth_core.export.cache import cache_dir, cached_onnx
from thermal_synth_core.export.onnx_export import INPUT_NAME, OUTPUT_NAME
from thermal_synth_core.export.tensorrt import (
    ENGINE_PRECISIONS,
    EngineKey,
    ShapeProfile,
    build_engine,
    deserializer,
    engine_cache_path,
    load_or_build_engine,
    make_key,
    onnx_precision_for,
    tensorrt_module,
    tensorrt_unavailable_reason,
)
from thermal_synth_core.infer.backends.base import Backend, FloatArray, check_batch, resolve_device
from thermal_synth_core.modelfile import ModelSpec

if TYPE_CHECKING:
    import tensorrt

__all__ = ["EngineRunner", "TensorRTBackend", "engine_shapes"]

log = logging.getLogger(__name__)


class EngineRunner:
    """Runs a deserialised engine on one GPU stream with PyTorch CUDA tensors as I/O buffers."""

    def __init__(self, engine: tensorrt.ICudaEngine, device: torch.device, max_batch: int) -> None:
        self.engine = engine
        self.device = device
        self.max_batch = max_batch
        context = engine.create_execution_context()
        if context is None:
            raise BackendError("TensorRT could not create an execution context (out of GPU memory?)")
        self.context: tensorrt.IExecutionContext = context
        self.stream = torch.cuda.Stream(device=device)  # type: ignore[no-untyped-call]
        self.in_dtype = self._dtype(INPUT_NAME)
        self.out_dtype = self._dtype(OUTPUT_NAME)

    def _dtype(self, name: str) -> torch.dtype:
        import tensorrt  # noqa: PLC0415 - optional (GPU machines only); an engine exists, so it is installed

        found = self.engine.get_tensor_dtype(name)
        table: dict[Any, torch.dtype] = {
            tensorrt.DataType.FLOAT: torch.float32,
            tensorrt.DataType.HALF: torch.float16,
        }
        if found not in table:
            raise BackendError(f"engine tensor {name!r} has unsupported type {found}")
        return table[found]

    def run(self, batch: FloatArray) -> FloatArray:
        """Copy the batch to the GPU, execute on our stream, copy the result back."""
        outputs: list[FloatArray] = []
        for start in range(0, batch.shape[0], self.max_batch):
            chunk = np.ascontiguousarray(batch[start : start + self.max_batch], dtype=np.float32)
            with torch.cuda.stream(self.stream):
                x = torch.from_numpy(chunk).to(self.device, dtype=self.in_dtype, non_blocking=True)
                if not self.context.set_input_shape(INPUT_NAME, tuple(x.shape)):
                    raise BackendError(f"TensorRT rejected input shape {tuple(x.shape)}")
                dims = self.context.get_tensor_shape(OUTPUT_NAME)
                out_shape = tuple(int(dims[i]) for i in range(len(dims)))
                y = torch.empty(out_shape, dtype=self.out_dtype, device=self.device)
                self.context.set_tensor_address(INPUT_NAME, x.data_ptr())
                self.context.set_tensor_address(OUTPUT_NAME, y.data_ptr())
                if not self.context.execute_async_v3(self.stream.cuda_stream):
                    raise BackendError("TensorRT execution failed (execute_async_v3 returned False)")
                result = y.float().cpu()
            self.stream.synchronize()
            outputs.append(np.asarray(result.numpy(), dtype=np.float32))
        return np.concatenate(outputs)


class TensorRTBackend(Backend):
    """TensorRT 10/11 engine on a CUDA GPU."""

    name = "tensorrt"
    max_batch = 4

    @classmethod
    def unavailable_reason(cls, device: str = "auto") -> str | None:
        """TensorRT must be installed for real (not only its stubs), with a CUDA GPU, and device not 'cpu'."""
        if str(device).strip().lower() == "cpu":
            return "TensorRT runs on a GPU only, and device 'cpu' was requested"
        return tensorrt_unavailable_reason()

    def __init__(self, model_path: Path, spec: ModelSpec, device: str = "auto", precision: str = "fp32") -> None:
        reason = self.unavailable_reason(device)
        if reason:
            raise BackendError(f"tensorrt backend unavailable: {reason}")
        super().__init__(model_path, spec, resolve_device(device), precision)
        if precision not in ENGINE_PRECISIONS:
            raise BackendError(f"the tensorrt backend builds fp32 or fp16 engines, not {precision}")
        trt = tensorrt_module()
        assert trt is not None
        self._onnx_precision = onnx_precision_for(precision, str(trt.__version__))
        self._torch_device = torch.device(self.device)
        self._runners: dict[tuple[int, int], EngineRunner] = {}
        self.key: EngineKey  # of the engine at the model's input size (set by the first _runner_for)
        self.engine_path: Path
        self.runner = self._runner_for(spec.input_size)

    def _runner_for(self, size: tuple[int, int]) -> EngineRunner:
        """The engine runner for inputs of ``size`` (W, H), loaded or built on first use."""
        runner = self._runners.pop(size, None)
        if runner is None:
            index = self._torch_device.index or 0
            onnx_path = cached_onnx(self.model_path, self._onnx_precision, size)
            shapes = engine_shapes(self.spec, self.max_batch, size)
            with torch.cuda.device(index):
                key = make_key(onnx_path, self.precision, shapes, index)
                path = engine_cache_path(key, cache_dir())
                engine = load_or_build_engine(
                    key, path, lambda: build_engine(onnx_path, self.precision, shapes), deserializer()
                )
                runner = EngineRunner(engine, self._torch_device, self.max_batch)
            if size == tuple(self.spec.input_size):
                self.key, self.engine_path = key, path
            while len(self._runners) >= self.max_sizes:
                self._runners.pop(next(iter(self._runners)))
        self._runners[size] = runner
        return runner

    def run(self, batch: FloatArray) -> FloatArray:
        """Run the batch through the engine for its H x W."""
        size = check_batch(batch, self.spec)
        return self._runner_for(size).run(batch)

    def describe(self) -> str:
        """Backend, GPU, precision, TensorRT version."""
        key = self.key
        return f"tensorrt {key.tensorrt_version} on {self.device} ({self.precision}, sm {key.compute_capability})"


def engine_shapes(spec: ModelSpec, max_batch: int, size: tuple[int, int] | None = None) -> ShapeProfile:
    """The optimisation profile at ``size`` (W, H; default: the model's input size), batch 1 to ``max_batch``."""
    w, h = size or spec.input_size
    c = spec.input_nc
    return ((1, c, h, w), (1, c, h, w), (max_batch, c, h, w))
