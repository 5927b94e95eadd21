"""The Synthesizer: every backend and encoding, alignment warps, batch calls, and bad inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.models.factory import make_model
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import AlignmentError, BackendError, DataError, ModelFileError
from thermal_synth_core.export import cache as export_cache
from thermal_synth_core.infer import Synthesizer, choose_backend, embedded, list_backends, preprocess
from thermal_synth_core.infer.imaging import model_alignment

BACKENDS = ["torch", "onnxruntime", pytest.param("tensorrt", marks=pytest.mark.gpu)]
ALIGN = Alignment.from_matrix([[0.52, 0.0, -4.0], [0.0, 0.52, 3.0], [0.0, 0.0, 1.0]], (320, 256), (160, 128), "ecc")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "mono8": make_model(root / "mono8.safetensors", input_size=(64, 48))[0],
        "mono16": make_model(
            root / "mono16.safetensors", input_size=(64, 48), output_size=(160, 128), output_bits=16, alignment=ALIGN
        )[0],
    }


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8), (w, h))
    return np.asarray(img, dtype=np.uint8)


def _available(backend: str) -> None:
    if backend == "tensorrt":
        from thermal_synth_core.export.tensorrt import tensorrt_unavailable_reason

        if tensorrt_unavailable_reason():
            pytest.skip(str(tensorrt_unavailable_reason()))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "case",
    [("mono8", (48, 64), np.uint8, (48, 64)), ("mono16", (256, 320), np.uint16, (128, 160))],
    ids=["mono8", "mono16"],
)
def test_every_backend_and_encoding(
    models: dict[str, Path], backend: str, case: tuple[str, tuple[int, int], type, tuple[int, int]]
) -> None:
    encoding, rgb_shape, dtype, out_shape = case
    _available(backend)
    synth = Synthesizer(models[encoding], backend=backend)
    assert synth.backend_name == backend
    assert synth.output_encoding == encoding
    assert synth.output_size == (out_shape[1], out_shape[0])
    out = synth(_rgb(*rgb_shape))
    assert out.shape == out_shape
    assert out.dtype == dtype
    assert int(out.max()) > int(out.min())  # a real image, not a constant


@pytest.mark.parametrize("encoding", ["mono8", "mono16"])
def test_backends_agree(models: dict[str, Path], encoding: str) -> None:
    rgb = _rgb(256, 320, seed=3) if encoding == "mono16" else _rgb(192, 256, seed=3)
    a = Synthesizer(models[encoding], backend="torch")(rgb).astype(np.int64)
    b = Synthesizer(models[encoding], backend="onnxruntime")(rgb).astype(np.int64)
    lsb = 1 if encoding == "mono8" else 8  # fp32 rounding may flip the last bit (of 8 or ~13 used)
    assert np.abs(a - b).max() <= lsb


def test_bgr_equals_rgb_reversed(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono8"], backend="torch")
    rgb = _rgb(48, 64)
    assert np.array_equal(synth(rgb), synth(np.ascontiguousarray(rgb[:, :, ::-1]), channel_order="bgr"))
    with pytest.raises(DataError, match=r"unknown channel order 'rgba'; valid: rgb, bgr"):
        synth(rgb, channel_order="rgba")


def test_preprocess_warps_straight_to_the_model_input(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono16"], backend="torch")
    rgb = _rgb(256, 320)
    x = synth.preprocess(rgb)
    assert x.shape == (1, 3, 48, 64)
    assert x.dtype == np.float32
    expected = ALIGN.warp_rgb(rgb, out_size=(64, 48)).astype(np.float32) / 127.5 - 1.0
    assert np.abs(x[0].transpose(1, 2, 0) - expected).max() < 1e-5


def test_rgb_of_another_resolution_same_aspect_is_scaled(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono16"], backend="torch")
    full = synth.preprocess(_rgb(256, 320))
    half = _rgb(256, 320)[::2, ::2].copy()
    x_half = synth.preprocess(half)
    assert x_half.shape == full.shape
    assert np.abs(x_half - full).mean() < 0.05  # same scene, same field of view
    assert synth(half).shape == (128, 160)


def test_rgb_of_another_aspect_ratio_is_an_alignment_error_in_rig_view(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono16"], backend="torch", view="rig")
    with pytest.raises(AlignmentError, match=r"view 'rig' needs the RGB camera of the rig .* this frame is 320x180"):
        synth(_rgb(180, 320))
    with pytest.raises(AlignmentError, match=r"RGB image of 320x180 has another aspect ratio"):
        preprocess(_rgb(180, 320), synth.spec, synth.alignment)  # the rig-only function keeps its own error


def test_models_without_alignment_rescale_with_area_averaging(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono8"], backend="torch")
    rgb = _rgb(192, 256)
    expected = cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1.0
    assert np.abs(synth.preprocess(rgb)[0].transpose(1, 2, 0) - expected).max() < 1e-5
    assert model_alignment(synth.spec).method.startswith("none")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((48, 64, 4), np.uint8), r"must have 3 channels .*got shape \(48, 64, 4\) \(4 channel\(s\)\)"),
        (np.zeros((48, 64), np.uint8), r"must have 3 channels .*\(1 channel\(s\)\)"),
        (np.zeros((0, 64, 3), np.uint8), r"RGB image is empty \(shape \(0, 64, 3\)\)"),
        (np.zeros((0,), np.uint8), r"RGB image is empty"),
        (np.zeros((48, 64, 3), np.float32), r"must be 8-bit \(uint8\), got float32"),
        ([[1, 2, 3]], r"must be a NumPy array, got list"),
    ],
)
def test_bad_images_are_clear_errors(models: dict[str, Path], image: object, message: str) -> None:
    synth = Synthesizer(models["mono8"], backend="torch")
    with pytest.raises(DataError, match=message):
        synth(image)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_run_batch_equals_single_calls(models: dict[str, Path], backend: str) -> None:
    synth = Synthesizer(models["mono16"], backend=backend)
    frames = [_rgb(256, 320, seed=i) for i in range(10)]  # more than one backend batch
    frames[3] = frames[3][::2, ::2].copy()  # mixed resolutions of the same aspect ratio
    batch = synth.run_batch(frames)
    assert len(batch) == 10
    for frame, out in zip(frames, batch, strict=True):
        assert np.abs(out.astype(np.int64) - synth(frame).astype(np.int64)).max() <= 8


def test_run_batch_names_the_bad_frame(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono8"], backend="torch")
    frames = [_rgb(48, 64), _rgb(48, 64), np.zeros((48, 64), np.uint8)]
    with pytest.raises(DataError, match=r"batch frame 2: .*3 channels"):
        synth.run_batch(frames)


def test_auto_picks_onnxruntime_on_a_cpu_machine_and_says_so(
    models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    from thermal_synth_core.infer.backends.base import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    with caplog.at_level(logging.INFO, logger="thermal_synth_core"):
        synth = Synthesizer(models["mono8"])
    assert synth.backend_name == "onnxruntime"
    assert "backend auto: chose onnxruntime (no CUDA GPU)" in caplog.text


def test_unknown_and_unavailable_backends(models: dict[str, Path]) -> None:
    assert list_backends() == ["torch", "onnxruntime", "tensorrt"]
    with pytest.raises(BackendError, match=r"unknown backend 'openvino'; valid: auto, torch, onnxruntime, tensorrt"):
        Synthesizer(models["mono8"], backend="openvino")
    with pytest.raises(BackendError, match=r"unknown precision 'int8'"):
        Synthesizer(models["mono8"], backend="torch", precision="int8")
    with pytest.raises(BackendError, match=r"unknown device 'tpu'"):
        Synthesizer(models["mono8"], backend="torch", device="tpu")
    with pytest.raises(BackendError, match=r"onnxruntime backend runs fp32 or fp16"):
        Synthesizer(models["mono8"], backend="onnxruntime", precision="bf16")
    with pytest.raises(BackendError, match=r"TensorRT runs on a GPU only"):
        Synthesizer(models["mono8"], backend="tensorrt", device="cpu")


def test_cpu_only_limits(models: dict[str, Path]) -> None:
    from thermal_synth_core.infer.backends.base import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(BackendError, match=r"'cuda' requested, but no CUDA GPU is visible"):
        Synthesizer(models["mono8"], backend="torch", device="cuda")
    with pytest.raises(BackendError, match=r"fp16 with the torch backend needs a CUDA GPU"):
        Synthesizer(models["mono8"], backend="torch", precision="fp16")
    with pytest.raises(BackendError, match=r"backend tensorrt is unavailable"):
        Synthesizer(models["mono8"], backend="tensorrt")
    bf16 = Synthesizer(models["mono8"], backend="torch", precision="bf16")(_rgb(48, 64)).astype(np.int64)
    fp32 = Synthesizer(models["mono8"], backend="torch")(_rgb(48, 64)).astype(np.int64)
    assert np.abs(bf16 - fp32).mean() < 4


def test_onnx_graph_is_exported_once_per_model_file(models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    Synthesizer(models["mono8"], backend="onnxruntime")  # cached (maybe by an earlier test)

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ONNX cache should have been used")

    monkeypatch.setattr(export_cache, "export_onnx", no_export)
    Synthesizer(models["mono8"], backend="onnxruntime")


def test_damaged_cache_file_is_exported_again(models: dict[str, Path]) -> None:
    first = Synthesizer(models["mono8"], backend="onnxruntime")
    onnx_path = first.backend.onnx_path  # type: ignore[attr-defined]
    Path(onnx_path).write_bytes(b"garbage")
    again = Synthesizer(models["mono8"], backend="onnxruntime")
    assert again(_rgb(48, 64)).shape == (48, 64)


def test_train_bn_models_run_on_torch(tmp_path: Path) -> None:
    path, _, spec = make_model(tmp_path / "m.safetensors", run_mode="train-bn")
    assert choose_backend(spec)[0] == "torch"
    synth = Synthesizer(path)
    assert synth.backend_name == "torch"
    assert synth.run_batch([_rgb(48, 64), _rgb(48, 64, 1)])[0].shape == (48, 64)
    with pytest.raises(BackendError, match=r"train-bn mode .*onnxruntime cannot reproduce"):
        Synthesizer(path, backend="onnxruntime")


def test_multi_channel_models_are_refused(tmp_path: Path) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors", output_nc=3)
    with pytest.raises(ModelFileError, match=r"a thermal model outputs 1 channel, this one outputs 3"):
        Synthesizer(path)


def test_default_model_missing_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "default_model_path", lambda: tmp_path / "assets" / "default_model.safetensors")
    for value in (None, "", "default"):
        with pytest.raises(ModelFileError, match=r"no embedded default model is installed .*pass a model file"):
            embedded.resolve_model_path(value)
    with pytest.raises(ModelFileError, match=r"no embedded default model"):
        Synthesizer(None)


def test_default_model_resolves_to_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert embedded.default_model_path().parts[-2:] == ("assets", "default_model.safetensors")
    fake = tmp_path / "default_model.safetensors"
    fake.write_bytes(b"x")
    monkeypatch.setattr(embedded, "default_model_path", lambda: fake)
    assert embedded.resolve_model_path("default") == fake


def test_model_path_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"model file not found: .*missing\.safetensors"):
        Synthesizer(tmp_path / "missing.safetensors")
    with pytest.raises(ModelFileError, match=r"model path is not a file"):
        Synthesizer(tmp_path)


def test_preprocess_function_is_pure(models: dict[str, Path]) -> None:
    synth = Synthesizer(models["mono8"], backend="torch")
    rgb = _rgb(48, 64)
    before = rgb.copy()
    a = preprocess(rgb, synth.spec, synth.alignment)
    assert np.array_equal(rgb, before)
    assert np.array_equal(a, synth.preprocess(rgb))
