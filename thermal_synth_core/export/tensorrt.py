"""TensorRT engines: built from the exported ONNX, cached by everything an engine depends on.

An engine only runs on the TensorRT version and GPU architecture it was built
for, and only for the graph, precision and input shapes it was built from. The
cache key holds exactly those: TensorRT version, GPU compute capability, ONNX
SHA-256, precision and the input shape profile. Each engine file has a JSON
sidecar with its key and the SHA-256 of the engine bytes; an engine whose
sidecar does not match (another GPU, another TensorRT), whose bytes do not
match the checksum (truncated, corrupted or replaced) or that TensorRT refuses
to deserialise is rebuilt, never crashed on. TensorRT only ever sees bytes
that this product built and checksummed.

TensorRT 10 and 11 differ in how reduced precision is asked for: 10 takes an
FP32 graph plus ``BuilderFlag.FP16`` (weak typing); 11 removed that flag, so FP16
must already be in the ONNX graph (our fp16 export: half weights and arithmetic,
FP32 inputs/outputs) and the network is strongly typed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypedDict

import torch

from thermal_synth_core.errors import BackendError, ExportError
from thermal_synth_core.export.onnx_export import INPUT_NAME
from thermal_synth_core.fileio import atomic_write_bytes, atomic_write_json
from thermal_synth_core.modelfile import file_sha256

__all__ = [
    "CHECKSUM_FIELD",
    "ENGINE_PRECISIONS",
    "EngineKey",
    "EngineKeyJson",
    "EngineSidecarJson",
    "ShapeProfile",
    "build_engine",
    "deserializer",
    "engine_cache_path",
    "engine_problem",
    "gpu_compute_capability",
    "load_or_build_engine",
    "make_key",
    "onnx_precision_for",
    "save_engine",
    "tensorrt_major",
    "tensorrt_module",
    "tensorrt_unavailable_reason",
]

log = logging.getLogger(__name__)

ENGINE_PRECISIONS: Final = ("fp32", "fp16")
WORKSPACE_BYTES: Final = 1 << 30

#: (min, opt, max) input shapes (N, C, H, W) of the engine's optimisation profile.
ShapeProfile = tuple[tuple[int, int, int, int], tuple[int, int, int, int], tuple[int, int, int, int]]


def tensorrt_module() -> ModuleType | None:
    """The real TensorRT Python module, or None.

    ``import tensorrt`` also succeeds when only ``tensorrt-stubs`` is installed (it
    leaves an empty namespace package), so look for an actual API class.
    """
    try:
        import tensorrt  # noqa: PLC0415 - optional (NVIDIA's index, GPU machines only): imported where it is used
    except ImportError:
        return None
    return tensorrt if hasattr(tensorrt, "Builder") and hasattr(tensorrt, "__version__") else None


def tensorrt_unavailable_reason() -> str | None:
    """Why the TensorRT backend cannot run here (None when it can)."""
    if tensorrt_module() is None:
        return "TensorRT is not installed (pip install tensorrt from NVIDIA's index; the stubs alone do not run)"
    if not torch.cuda.is_available():
        return "TensorRT needs a CUDA GPU, and none is visible to PyTorch"
    return None


def _require_tensorrt() -> ModuleType:
    trt = tensorrt_module()
    if trt is None:
        raise BackendError(tensorrt_unavailable_reason() or "TensorRT is not available")
    return trt


def tensorrt_major(version: str) -> int:
    """Major version number from a TensorRT version string such as ``10.13.0.35``."""
    try:
        return int(version.split(".", maxsplit=1)[0])
    except ValueError:
        raise BackendError(f"cannot parse TensorRT version {version!r}") from None


def onnx_precision_for(precision: str, trt_version: str) -> str:
    """Which ONNX export an engine of ``precision`` is built from under this TensorRT version."""
    if precision not in ENGINE_PRECISIONS:
        raise BackendError(f"TensorRT precision {precision!r} is not supported; valid: {', '.join(ENGINE_PRECISIONS)}")
    # TensorRT 11 has no FP16 builder flag: the half-precision graph carries the precision itself.
    return "fp16" if precision == "fp16" and tensorrt_major(trt_version) >= 11 else "fp32"


def gpu_compute_capability(device_index: int = 0) -> str:
    """The GPU's compute capability as ``major.minor`` (e.g. ``8.9``)."""
    major, minor = torch.cuda.get_device_capability(device_index)
    return f"{major}.{minor}"


class EngineKeyJson(TypedDict):
    """:class:`EngineKey` as written in an engine's JSON sidecar."""

    tensorrt_version: str
    compute_capability: str
    onnx_sha256: str
    precision: str
    #: (min, opt, max) input shapes, each [N, C, H, W].
    shapes: list[list[int]]


class EngineSidecarJson(EngineKeyJson):
    """The JSON sidecar beside an engine file: its key and the SHA-256 of the engine bytes."""

    engine_sha256: str


@dataclass(frozen=True)
class EngineKey:
    """Everything a TensorRT engine depends on; equal keys mean the engine can be reused."""

    tensorrt_version: str
    compute_capability: str
    onnx_sha256: str
    precision: str
    shapes: ShapeProfile

    def digest(self) -> str:
        """A short stable hash of the key (the engine's file name)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> EngineKeyJson:
        """Plain values for the JSON sidecar."""
        return {
            "tensorrt_version": self.tensorrt_version,
            "compute_capability": self.compute_capability,
            "onnx_sha256": self.onnx_sha256,
            "precision": self.precision,
            "shapes": [list(s) for s in self.shapes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineKey:
        """Read a sidecar (free-form JSON until checked here); ValueError/KeyError/TypeError on a malformed one."""
        shapes = [_shape(s) for s in data["shapes"]]
        if len(shapes) != 3:
            raise ValueError("shapes must be three 4-D shapes")
        low, opt, high = shapes
        return cls(
            tensorrt_version=str(data["tensorrt_version"]),
            compute_capability=str(data["compute_capability"]),
            onnx_sha256=str(data["onnx_sha256"]),
            precision=str(data["precision"]),
            shapes=(low, opt, high),
        )

    def mismatch(self, other: EngineKey) -> str | None:
        """How ``other`` (an engine's key) differs from this one, in words; None when they are equal."""
        if other == self:
            return None
        reasons = []
        if other.compute_capability != self.compute_capability:
            reasons.append(
                f"built for GPU compute capability {other.compute_capability}, this GPU is {self.compute_capability}"
            )
        if other.tensorrt_version != self.tensorrt_version:
            reasons.append(f"built with TensorRT {other.tensorrt_version}, this is {self.tensorrt_version}")
        if other.onnx_sha256 != self.onnx_sha256:
            reasons.append("built from another ONNX graph")
        if other.precision != self.precision:
            reasons.append(f"built in {other.precision}, {self.precision} requested")
        if other.shapes != self.shapes:
            reasons.append(f"built for input shapes {other.shapes}, {self.shapes} requested")
        return "; ".join(reasons)


def _shape(values: Any) -> tuple[int, int, int, int]:
    """One 4-D input shape of a sidecar; ValueError unless it has four integers."""
    found = [int(v) for v in values]
    if len(found) != 4:
        raise ValueError("shapes must be three 4-D shapes")
    n, c, h, w = found
    return n, c, h, w


def engine_cache_path(key: EngineKey, root: Path) -> Path:
    """Where the engine for ``key`` lives in the cache under ``root``."""
    return root / "engines" / f"{key.digest()}.engine"


def _sidecar(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.name + ".json")


#: Sidecar entry holding the SHA-256 of the engine bytes (not part of the key: it identifies one build;
#: :class:`EngineSidecarJson`'s last field).
CHECKSUM_FIELD: Final = "engine_sha256"


def _sidecar_problem(engine_path: Path, key: EngineKey) -> tuple[str | None, str]:
    """(why the sidecar rules the engine out or None, the engine SHA-256 it records)."""
    if not engine_path.is_file() or engine_path.stat().st_size == 0:
        return "no engine file", ""
    sidecar = _sidecar(engine_path)
    if not sidecar.is_file():
        return f"no key file {sidecar.name} beside it (unknown TensorRT version/GPU)", ""
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        found = EngineKey.from_dict(data)
        digest = data.get(CHECKSUM_FIELD)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        return f"unreadable key file {sidecar.name}: {exc}", ""
    mismatch = key.mismatch(found)
    if mismatch is not None:
        return mismatch, ""
    if not isinstance(digest, str) or len(digest) != 64:
        return f"key file {sidecar.name} has no engine checksum (written by an older thermal-synth)", ""
    return None, digest


def _checksum_problem(data: bytes, digest: str) -> str | None:
    if hashlib.sha256(data).hexdigest() != digest:
        return "the engine bytes do not match the checksum in its key file (truncated, corrupted or replaced)"
    return None


def engine_problem(engine_path: Path, key: EngineKey) -> str | None:
    """Why the engine file at ``engine_path`` cannot be used for ``key`` (None when key and checksum match)."""
    problem, digest = _sidecar_problem(engine_path, key)
    if problem is not None:
        return problem
    return _checksum_problem(engine_path.read_bytes(), digest)


def save_engine(engine_path: Path, data: bytes, key: EngineKey) -> None:
    """Write an engine and its key sidecar with the engine's checksum (each atomically, engine first)."""
    atomic_write_bytes(engine_path, data)
    sidecar: EngineSidecarJson = {**key.to_dict(), "engine_sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_json(_sidecar(engine_path), sidecar)


def load_or_build_engine(
    key: EngineKey,
    engine_path: Path,
    build: Callable[[], bytes],
    deserialize: Callable[[bytes], Any],
) -> Any:
    """A deserialised engine for ``key``: the one at ``engine_path`` if it matches and loads, else a fresh build.

    A mismatching key (another GPU or TensorRT version, another graph), engine bytes
    that do not match the recorded checksum, or an engine TensorRT refuses to load is
    logged and rebuilt in place.
    """
    problem, digest = _sidecar_problem(engine_path, key)
    if problem is None:
        # Checksum and deserialise the same bytes: nothing can swap the file in between.
        data = engine_path.read_bytes()
        problem = _checksum_problem(data, digest)
    if problem is None:
        try:
            engine = deserialize(data)
        except Exception as exc:  # TensorRT raises plain RuntimeError/TypeError on foreign plans
            engine, problem = None, f"TensorRT could not load it: {exc}"
        else:
            if engine is None:
                problem = "TensorRT could not deserialise it (corrupt, or from another TensorRT/GPU)"
        if engine is not None:
            log.info("loaded TensorRT engine %s", engine_path)
            return engine
    if problem != "no engine file":
        log.warning("rebuilding TensorRT engine %s: %s", engine_path, problem)
    else:
        log.info("building TensorRT engine %s (first use; this takes a while)", engine_path)
    data = build()
    save_engine(engine_path, data, key)
    engine = deserialize(data)
    if engine is None:
        raise BackendError(f"TensorRT could not load the engine it just built ({engine_path})")
    return engine


def make_key(onnx_path: Path, precision: str, shapes: ShapeProfile, device_index: int = 0) -> EngineKey:
    """The cache key of an engine built here, now, from ``onnx_path``."""
    trt = _require_tensorrt()
    return EngineKey(
        tensorrt_version=str(trt.__version__),
        compute_capability=gpu_compute_capability(device_index),
        onnx_sha256=file_sha256(onnx_path),
        precision=precision,
        shapes=shapes,
    )


def build_engine(onnx_path: Path, precision: str, shapes: ShapeProfile) -> bytes:
    """Build a serialised TensorRT engine from an ONNX file (see the module docstring on precision)."""
    _require_tensorrt()
    import tensorrt  # noqa: PLC0415 - optional dependency, present here (checked just above)

    major = tensorrt_major(str(tensorrt.__version__))
    logger = tensorrt.Logger(tensorrt.Logger.WARNING)
    builder = tensorrt.Builder(logger)
    # Flags 0: explicit batch is the only mode since TensorRT 10, and 11 is always strongly typed.
    network = builder.create_network(0)
    parser = tensorrt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(tensorrt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16" and major < 11:
        config.set_flag(tensorrt.BuilderFlag.FP16)
    tf32 = getattr(tensorrt.BuilderFlag, "TF32", None)
    if precision == "fp32" and tf32 is not None:
        # TF32 (on by default for Ampere and later) would cost fp32 parity ~1e-3; fp32 means fp32 here.
        config.clear_flag(tf32)
    profile = builder.create_optimization_profile()
    low, opt, high = (tensorrt.Dims(list(s)) for s in shapes)
    profile.set_shape(INPUT_NAME, low, opt, high)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)")
    return bytes(memoryview(serialized))


def deserializer() -> Callable[[bytes], Any]:
    """A function bytes -> ICudaEngine (or None) bound to one TensorRT runtime."""
    _require_tensorrt()
    import tensorrt  # noqa: PLC0415 - optional dependency, present here (checked just above)

    runtime = tensorrt.Runtime(tensorrt.Logger(tensorrt.Logger.WARNING))

    def deserialize(data: bytes) -> Any:
        return runtime.deserialize_cuda_engine(data)

    # Keep the runtime alive as long as the function (engines must not outlive their runtime).
    deserialize.runtime = runtime  # type: ignore[attr-defined]
    return deserialize
