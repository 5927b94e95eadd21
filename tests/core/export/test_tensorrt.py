"""TensorRT engines: cache key, stale/foreign engine handling (no GPU needed), and real builds (gpu)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.models.factory import make_model
from thermal_synth_core.errors import BackendError
from thermal_synth_core.export.tensorrt import (
    EngineKey,
    engine_cache_path,
    engine_problem,
    load_or_build_engine,
    onnx_precision_for,
    save_engine,
    tensorrt_module,
    tensorrt_unavailable_reason,
)

SHAPES = ((1, 3, 512, 640), (1, 3, 512, 640), (4, 3, 512, 640))
KEY = EngineKey("10.13.0.35", "8.9", "ab" * 32, "fp16", SHAPES)


def test_stubs_alone_do_not_count_as_tensorrt() -> None:
    import importlib.util

    if importlib.util.find_spec("tensorrt") is None or tensorrt_module() is not None:
        pytest.skip("needs tensorrt-stubs without the real TensorRT")
    reason = tensorrt_unavailable_reason()
    assert reason is not None
    assert "not installed" in reason


def test_key_digest_depends_on_every_field() -> None:
    variants = [
        EngineKey("10.14.0.1", "8.9", "ab" * 32, "fp16", SHAPES),
        EngineKey("10.13.0.35", "8.6", "ab" * 32, "fp16", SHAPES),
        EngineKey("10.13.0.35", "8.9", "cd" * 32, "fp16", SHAPES),
        EngineKey("10.13.0.35", "8.9", "ab" * 32, "fp32", SHAPES),
        EngineKey("10.13.0.35", "8.9", "ab" * 32, "fp16", ((1, 3, 256, 256),) * 3),
    ]
    digests = {KEY.digest(), *(v.digest() for v in variants)}
    assert len(digests) == 6
    assert EngineKey.from_dict(json.loads(json.dumps(KEY.to_dict()))) == KEY


def test_mismatch_says_what_differs() -> None:
    other_gpu = EngineKey("10.13.0.35", "8.6", "ab" * 32, "fp16", SHAPES)
    assert KEY.mismatch(KEY) is None
    assert KEY.mismatch(other_gpu) == "built for GPU compute capability 8.6, this GPU is 8.9"
    other_trt = EngineKey("10.4.0.26", "8.9", "ab" * 32, "fp32", SHAPES)
    assert KEY.mismatch(other_trt) == "built with TensorRT 10.4.0.26, this is 10.13.0.35; built in fp32, fp16 requested"


def test_precision_lives_in_the_graph_from_tensorrt_11() -> None:
    assert onnx_precision_for("fp16", "10.13.0.35") == "fp32"  # TensorRT 10: FP16 builder flag
    assert onnx_precision_for("fp16", "11.1.0.7") == "fp16"  # TensorRT 11: strongly typed
    assert onnx_precision_for("fp32", "11.1.0.7") == "fp32"
    with pytest.raises(BackendError, match=r"precision 'bf16' is not supported"):
        onnx_precision_for("bf16", "10.13.0.35")


class _Fake:
    """Stands in for the TensorRT builder and runtime."""

    def __init__(self, loads: bool = True) -> None:
        self.built = 0
        self.loads = loads

    def build(self) -> bytes:
        self.built += 1
        return b"engine-%d" % self.built

    def deserialize(self, data: bytes) -> object | None:
        return ("engine", data) if self.loads and data.startswith(b"engine") else None


def test_first_use_builds_then_reuses(tmp_path: Path) -> None:
    fake = _Fake()
    path = engine_cache_path(KEY, tmp_path)
    assert load_or_build_engine(KEY, path, fake.build, fake.deserialize) == ("engine", b"engine-1")
    assert load_or_build_engine(KEY, path, fake.build, fake.deserialize) == ("engine", b"engine-1")
    assert fake.built == 1
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    assert sidecar == {**KEY.to_dict(), "engine_sha256": hashlib.sha256(b"engine-1").hexdigest()}


def test_engine_for_another_gpu_is_rebuilt_not_crashed_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "shipped.engine"
    save_engine(path, b"engine-from-an-orin", EngineKey("10.13.0.35", "8.7", "ab" * 32, "fp16", SHAPES))
    assert engine_problem(path, KEY) == "built for GPU compute capability 8.7, this GPU is 8.9"
    fake = _Fake()
    with caplog.at_level(logging.WARNING):
        engine = load_or_build_engine(KEY, path, fake.build, fake.deserialize)
    assert engine == ("engine", b"engine-1")
    assert "rebuilding TensorRT engine" in caplog.text
    assert "compute capability 8.7" in caplog.text
    assert engine_problem(path, KEY) is None


def test_engine_tensorrt_refuses_is_rebuilt(tmp_path: Path) -> None:
    path = engine_cache_path(KEY, tmp_path)
    save_engine(path, b"garbage", KEY)  # sidecar matches, bytes do not deserialise
    fake = _Fake()
    assert load_or_build_engine(KEY, path, fake.build, fake.deserialize) == ("engine", b"engine-1")

    def explode(data: bytes) -> object:
        if data == b"garbage":
            raise RuntimeError("Serialization assertion failed (magic tag)")
        return fake.deserialize(data)

    save_engine(path, b"garbage", KEY)
    assert load_or_build_engine(KEY, path, fake.build, explode) == ("engine", b"engine-2")


def test_engine_without_key_or_with_broken_key(tmp_path: Path) -> None:
    path = tmp_path / "m.engine"
    path.write_bytes(b"engine-x")
    assert "no key file" in (engine_problem(path, KEY) or "")
    path.with_name("m.engine.json").write_text("{")
    assert "unreadable key file" in (engine_problem(path, KEY) or "")


def test_engine_names_and_sidecars_stay_as_written_before() -> None:
    # Engines already in users' caches are found by this digest and checked against this sidecar layout.
    assert KEY.digest() == "17071cb4f767565dacb46d324738c0f0"
    assert json.dumps(KEY.to_dict()) == (
        '{"tensorrt_version": "10.13.0.35", "compute_capability": "8.9", "onnx_sha256": "' + "ab" * 32 + '", '
        '"precision": "fp16", "shapes": [[1, 3, 512, 640], [1, 3, 512, 640], [4, 3, 512, 640]]}'
    )


@pytest.mark.parametrize(
    "shapes",
    [
        [[1, 3, 512, 640], [4, 3, 512, 640]],  # two shapes
        [[1, 3, 512, 640], [1, 3, 512], [4, 3, 512, 640]],  # a 3-D one
        [[1, 3, 512, 640], [1, 3, 512, 640], ["x", 3, 512, 640]],  # not a number
        "1,3,512,640",
        None,
    ],
)
def test_a_key_file_with_malformed_shapes_is_unreadable(shapes: object, tmp_path: Path) -> None:
    path = tmp_path / "m.engine"
    path.write_bytes(b"engine-x")
    path.with_name("m.engine.json").write_text(json.dumps({**KEY.to_dict(), "shapes": shapes}))
    assert "unreadable key file" in (engine_problem(path, KEY) or "")


def test_a_build_that_cannot_load_is_an_error(tmp_path: Path) -> None:
    fake = _Fake(loads=False)
    with pytest.raises(BackendError, match=r"could not load the engine it just built"):
        load_or_build_engine(KEY, engine_cache_path(KEY, tmp_path), fake.build, fake.deserialize)


def _needs_tensorrt() -> None:
    if tensorrt_unavailable_reason() is not None:
        pytest.skip(f"needs TensorRT: {tensorrt_unavailable_reason()}")


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_backend_matches_pytorch(precision: str, tmp_path: Path) -> None:
    _needs_tensorrt()
    from thermal_synth_core.infer.backends.tensorrt_backend import TensorRTBackend

    path, net, spec = make_model(tmp_path / "m.safetensors", input_size=(128, 96))
    backend = TensorRTBackend(path, spec, "cuda", precision)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 96, 128)).astype(np.float32)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    got = backend.run(x)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < (1e-4 if precision == "fp32" else 1e-2)
    # Built once, then loaded from the cache.
    again = TensorRTBackend(path, spec, "cuda", precision)
    assert again.engine_path == backend.engine_path


@pytest.mark.gpu
def test_tensorrt_rebuilds_an_engine_for_another_gpu(tmp_path: Path) -> None:
    _needs_tensorrt()
    from thermal_synth_core.infer.backends.tensorrt_backend import TensorRTBackend

    path, _, spec = make_model(tmp_path / "m.safetensors", input_size=(64, 64))
    backend = TensorRTBackend(path, spec, "cuda", "fp32")
    sidecar = backend.engine_path.with_name(backend.engine_path.name + ".json")
    data = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**data, "compute_capability": "1.0"}))
    backend.engine_path.write_bytes(b"not an engine")
    rebuilt = TensorRTBackend(path, spec, "cuda", "fp32")
    assert rebuilt.run(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 1, 64, 64)
    assert json.loads(sidecar.read_text())["compute_capability"] != "1.0"
