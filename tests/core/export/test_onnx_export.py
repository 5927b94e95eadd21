"""ONNX export: every generator exports with dynamic N/H/W, carries its metadata, and matches PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tests.core.models.factory import make_model
from thermal_synth_core.cli import main
from thermal_synth_core.errors import ExportError
from thermal_synth_core.export import INPUT_NAME, OUTPUT_NAME, export_onnx, min_side, verify_onnx
from thermal_synth_core.modelfile import SPEC_KEY, ModelSpec
from thermal_synth_core.models import build_generator, list_generators, load_generator


@pytest.mark.parametrize("arch", list_generators())
def test_export_matches_pytorch_within_1e4(arch: str, tmp_path: Path) -> None:
    # A model input size the dynamic graph takes (sides above half the architecture's multiple).
    low = min_side(build_generator(arch, ngf=1))
    path, _, spec = make_model(
        tmp_path / "m.safetensors", arch, ngf=4, input_size=(max(64, low + 16), max(48, low + 8))
    )
    net, _ = load_generator(path)
    out = export_onnx(net, spec, tmp_path / "m.onnx", precision="fp32", dynamic_hw=True)
    report = verify_onnx(out, net, spec, precision="fp32", dynamic_hw=True)
    assert report.ok, report.line()
    assert report.max_abs < 1e-4
    assert len(report.sizes) == 2  # the input size and an odd one (dynamic padding)

    model = onnx.load(str(out))
    meta = {p.key: p.value for p in model.metadata_props}
    assert ModelSpec.from_dict(json.loads(meta[SPEC_KEY])) == spec
    assert meta["thermal_synth.precision"] == "fp32"
    assert meta["thermal_synth.dynamic_hw"] == "true"
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.HasField("dim_value") for d in dims] == [False, True, False, False]  # N, C fixed, H, W

    # Batch and size are dynamic: three frames of yet another size.
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    w, h = spec.input_size[0] + 7, spec.input_size[1] + 5
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, h, w)).astype(np.float32)
    (y,) = session.run([OUTPUT_NAME], {INPUT_NAME: x})
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)).numpy()
    assert y.shape == (3, 1, h, w)
    assert np.abs(y - ref).max() < 1e-4


def test_small_input_sizes_fall_back_to_a_fixed_size_graph(tmp_path: Path) -> None:
    _path, net, spec = make_model(tmp_path / "m.safetensors", "unet_256", ngf=2, input_size=(64, 48))
    out = export_onnx(net, spec, tmp_path / "m.onnx", dynamic_hw=True)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["thermal_synth.dynamic_hw"] == "false"
    assert verify_onnx(out, net, spec, dynamic_hw=False).ok


def test_fixed_size_export_for_the_inference_cache(tmp_path: Path) -> None:
    _path, net, spec = make_model(tmp_path / "m.safetensors", input_size=(96, 64))
    out = export_onnx(net, spec, tmp_path / "m.onnx", dynamic_hw=False)
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [3, 64, 96]
    assert verify_onnx(out, net, spec, dynamic_hw=False).ok


def test_fp16_graph_keeps_float32_io(tmp_path: Path) -> None:
    _path, net, spec = make_model(tmp_path / "m.safetensors")
    out = export_onnx(net, spec, tmp_path / "m16.onnx", precision="fp16", dynamic_hw=False)
    model = onnx.load(str(out))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    weights = [i for i in model.graph.initializer if len(i.dims) == 4]
    assert weights
    assert all(w.data_type == onnx.TensorProto.FLOAT16 for w in weights)
    assert next(iter(net.parameters())).dtype == torch.float32  # the caller's network is untouched
    report = verify_onnx(out, net, spec, precision="fp16", dynamic_hw=False)
    assert report.ok, report.line()


def test_train_bn_models_are_not_exported(tmp_path: Path) -> None:
    _path, net, spec = make_model(tmp_path / "m.safetensors", run_mode="train-bn")
    with pytest.raises(ExportError, match=r"train-bn.*torch backend.*--mode eval"):
        export_onnx(net, spec, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_unknown_precision(tmp_path: Path) -> None:
    _path, net, spec = make_model(tmp_path / "m.safetensors")
    with pytest.raises(ExportError, match=r"unknown export precision 'int8'"):
        export_onnx(net, spec, tmp_path / "m.onnx", precision="int8")


def test_export_cli_verifies_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors", "unet_128", ngf=4, input_size=(128, 96))
    out = tmp_path / "out" / "m.onnx"
    assert main(["export", "--model", str(path), "--onnx", str(out), "--verify"]) == 0
    captured = capsys.readouterr()
    assert out.is_file()
    assert "max abs error" in captured.err
    assert captured.out.startswith("export: unet_128 -> ")
    assert "verified (ONNX Runtime max err" in captured.out


def test_export_cli_engine_needs_tensorrt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from thermal_synth_core.export.tensorrt import tensorrt_unavailable_reason

    if tensorrt_unavailable_reason() is None:
        pytest.skip("TensorRT is available here")
    path, _, _ = make_model(tmp_path / "m.safetensors")
    argv = ["export", "--model", str(path), "--onnx", str(tmp_path / "m.onnx"), "--engine", str(tmp_path / "m.engine")]
    assert main(argv) == 1
    assert "--engine needs TensorRT on a GPU" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_export_cli_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.safetensors").write_bytes(b"junk")
    assert main(["export", "--model", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    assert "not a model file" in capsys.readouterr().err
