"""The ``onnxruntime`` backend: the exported graph on ONNX Runtime's CPU or CUDA execution provider.

The graph comes from the ONNX cache (exported on first use of a model file,
keyed by the file's hash), so constructing a Synthesizer again is quick. Graphs
are fixed-size (faster to export and to run than dynamic ones); a batch of
another H x W (the ``camera`` view's working size) gets a graph and session of
its own, exported on first use of that size and kept (the last few sizes). Session
options are set for a small multi-core CPU: all graph optimisations (Conv+BN+ReLU
fusion and the blocked NCHWc layout), one intra-op thread per usable core, no
inter-op parallelism (the graphs are a single chain).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from thermal_synth_core.errors import BackendError
from thermal_synth_core.export.cache import cached_onnx, invalidate
from thermal_synth_core.export.onnx_export import INPUT_NAME, OUTPUT_NAME
from thermal_synth_core.infer.backends.base import Backend, FloatArray, check_batch, resolve_device
from thermal_synth_core.modelfile import ModelSpec

__all__ = ["OnnxRuntimeBackend", "usable_cpus"]

log = logging.getLogger(__name__)


def usable_cpus() -> int:
    """CPU cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime with the CPU or CUDA execution provider."""

    name = "onnxruntime"

    def __init__(
        self,
        model_path: Path,
        spec: ModelSpec,
        device: str = "auto",
        precision: str = "fp32",
        threads: int | None = None,
    ) -> None:
        wanted = str(device).strip().lower()
        # 'auto' means the CUDA provider only when onnxruntime-gpu is installed and a GPU is visible.
        if wanted == "auto":
            resolved = resolve_device("auto")
            if resolved != "cpu" and "CUDAExecutionProvider" not in ort.get_available_providers():
                resolved = "cpu"
        else:
            resolved = resolve_device(device)
        super().__init__(model_path, spec, resolved, precision)
        if precision == "bf16":
            raise BackendError("the onnxruntime backend runs fp32 or fp16 graphs; use fp32, fp16, or the torch backend")
        self.providers: list[Any]
        if resolved == "cpu":
            self.providers = ["CPUExecutionProvider"]
        else:
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendError(
                    "ONNX Runtime has no CUDA execution provider here (install onnxruntime-gpu); use device 'cpu'"
                )
            index = int(resolved.split(":")[1])
            self.providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
        self.threads = threads or usable_cpus()
        self._sessions: dict[tuple[int, int], tuple[Path, Any]] = {}
        self.onnx_path, self.session = self._session_for(spec.input_size)

    def _session_for(self, size: tuple[int, int]) -> tuple[Path, Any]:
        """The (graph, session) for inputs of ``size`` (W, H), exported and loaded on first use."""
        found = self._sessions.pop(size, None)
        if found is None:
            path = cached_onnx(self.model_path, self.precision, size)
            try:
                found = (path, self._new_session(path))
            except Exception as exc:  # a damaged cache file: export again once
                log.warning("cached ONNX graph %s failed to load (%s); exporting again", path, exc)
                invalidate(path)
                path = cached_onnx(self.model_path, self.precision, size)
                try:
                    found = (path, self._new_session(path))
                except Exception as exc2:
                    raise BackendError(f"ONNX Runtime cannot load {path}: {exc2}") from exc2
            while len(self._sessions) >= self.max_sizes:
                self._sessions.pop(next(iter(self._sessions)))  # the least recently used size
        self._sessions[size] = found  # most recently used last
        return found

    def _new_session(self, path: Path) -> Any:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the provider fallback notes are noise here
        return ort.InferenceSession(str(path), sess_options=options, providers=self.providers)

    def run(self, batch: FloatArray) -> FloatArray:
        """Run the batch through the session for its H x W."""
        size = check_batch(batch, self.spec)
        _, session = self._session_for(size)
        x = np.ascontiguousarray(batch, dtype=np.float32)
        try:
            (y,) = session.run([OUTPUT_NAME], {INPUT_NAME: x})
        except Exception as exc:  # onnxruntime's own exception types
            raise BackendError(f"ONNX Runtime failed on a batch of shape {x.shape}: {exc}") from exc
        return np.asarray(y, dtype=np.float32)

    def describe(self) -> str:
        """Backend, provider, precision, threads."""
        provider = self.session.get_providers()[0]
        return f"onnxruntime {provider} ({self.precision}, {self.threads} threads)"
