"""The model file: round trip, validation of every part, and never unpickling."""

from __future__ import annotations

import json
import math
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import safetensors.torch
import torch

from tests.core.models.factory import make_model
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import ModelFileError
from thermal_synth_core.modelfile import (
    FORMAT_VERSION,
    LEGACY_FOV_DEG,
    SPEC_KEY,
    ModelSpec,
    ThermalFov,
    load_model,
    read_spec,
    save_model,
)
from thermal_synth_core.models import build_generator, list_generators, load_generator


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks: one thread avoids OpenMP barrier stalls on a busy 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


ALIGN = Alignment.from_matrix([[0.5, 0.01, 3.0], [0.0, 0.5, -2.0], [0.0, 0.0, 1.0]], (1280, 1024), (640, 512), "ecc")


@pytest.mark.parametrize("arch", list_generators())
def test_round_trip_every_architecture(arch: str, tmp_path: Path) -> None:
    path, net, spec = make_model(tmp_path / f"{arch}.safetensors", arch, ngf=2, output_bits=16, alignment=ALIGN)
    loaded_spec, state = load_model(path)
    assert loaded_spec == spec
    assert loaded_spec.alignment == ALIGN
    assert loaded_spec.output_encoding == "mono16"
    assert state.keys() == net.state_dict().keys()
    for key, value in net.state_dict().items():
        assert torch.equal(state[key], value), key
    loaded, _ = load_generator(path)
    assert not loaded.training
    x = torch.rand(1, 3, 40, 56)
    with torch.inference_mode():
        assert torch.equal(loaded(x), net(x))


def test_spec_fields_survive_as_json(tmp_path: Path) -> None:
    path, _, spec = make_model(tmp_path / "m.safetensors", input_size=(96, 64), output_size=(640, 512))
    again = read_spec(path)
    assert again.input_size == (96, 64)
    assert again.output_size == (640, 512)
    assert again.provenance == {"trained_by": "tests", "config": {"lr": 2e-4}, "step": 7, "notes": "random weights"}
    assert again.arch_kwargs == {"ngf": 4, "norm": "batch"}
    assert again.format_version == FORMAT_VERSION
    assert again == spec


def test_thermal_field_of_view_is_recorded_and_older_files_get_the_stated_default(tmp_path: Path) -> None:
    fov = ThermalFov(39.0, 640, "kaist preset")
    path, _, spec = make_model(tmp_path / "m.safetensors", input_size=(320, 256), thermal_fov=fov)
    again = read_spec(path)
    assert again.thermal_fov == fov
    assert again.fov == fov
    assert again.input_focal_px() == pytest.approx(160.0 / math.tan(math.radians(19.5)))
    # A format-1 file (written before the field existed) loads with the FLIR ADAS camera assumed.
    data = spec.to_dict()
    data["format_version"] = 1
    del data["thermal_fov"]
    old = ModelSpec.from_dict(data, source="old")
    assert old.thermal_fov is None
    assert old.fov.hfov_deg == LEGACY_FOV_DEG == 45.0
    assert old.fov.width == spec.output_size[0]
    assert "not recorded in the model file" in old.fov.source
    # The embedded model predates the field: it is such a file.
    from thermal_synth_core.infer import default_model_path

    embedded = read_spec(default_model_path())
    assert embedded.format_version == 1
    assert embedded.fov.hfov_deg == 45.0
    for bad, message in (
        ({"hfov_deg": 0.0, "width": 640}, r"hfov_deg must be between 0 and 180"),
        ({"hfov_deg": 45.0, "width": -1}, r"width must be a positive integer"),
        ({"hfov_deg": "wide", "width": 640}, r"hfov_deg must be a number"),
        ([45.0], r"thermal_fov must be a mapping"),
    ):
        with pytest.raises(ModelFileError, match=message):
            ModelSpec.from_dict({**spec.to_dict(), "thermal_fov": bad}, source="x")


def test_metadata_is_plain_json_strings(tmp_path: Path) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors")
    with safetensors.safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    data = json.loads(meta[SPEC_KEY])
    assert data["arch"] == "fast_unet"
    assert data["input_size"] == [64, 48]


def test_save_is_atomic_and_leaves_no_partial_files(tmp_path: Path) -> None:
    path, net, spec = make_model(tmp_path / "m.safetensors")
    save_model(path, net, spec)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"model file not found: .*nope.safetensors"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors")
    data = path.read_bytes()
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError, match=r"truncated\.safetensors: file size .* does not match its header"):
        load_model(bad)
    bad.write_bytes(data[:5])
    with pytest.raises(ModelFileError, match=r"truncated\.safetensors: not a model file .*truncated or empty"):
        load_model(bad)


def test_corrupted_header(tmp_path: Path) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[8:20] = b"\xff" * 12
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"corrupt\.safetensors: not a safetensors model file \(corrupted header"):
        load_model(bad)


def test_random_bytes_are_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "noise.safetensors"
    bad.write_bytes(struct.pack("<Q", 10**15) + b"\x00" * 64)
    with pytest.raises(ModelFileError, match=r"noise\.safetensors: not a safetensors model file, or truncated"):
        load_model(bad)


def test_foreign_safetensors_file(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(3)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(
        ModelFileError, match=r"foreign\.safetensors: a safetensors file, but not a thermal-synth model"
    ):
        load_model(foreign)


def test_pytorch_checkpoint_gets_a_hint_and_is_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pth = tmp_path / "latest_net_G.pth"
    torch.save(build_generator("fast_unet", ngf=2).state_dict(), pth)

    def forbidden(*args: object, **kwargs: object) -> object:
        raise AssertionError("the model loader must never unpickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(ModelFileError, match=r"latest_net_G\.pth: .*use 'thermal-synth import-reference'"):
        load_model(pth)


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors")

    def forbidden(*args: object, **kwargs: object) -> object:
        raise AssertionError("the model loader must never unpickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load_generator(path)


def _rewrite(
    path: Path, out: Path, *, state: dict[str, torch.Tensor] | None = None, spec_json: str | None = None
) -> None:
    with safetensors.safe_open(str(path), "pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    if state is not None:
        tensors.update(state)
    if spec_json is not None:
        meta[SPEC_KEY] = spec_json
    safetensors.torch.save_file(tensors, str(out), metadata=meta)


def test_nan_weights_are_refused_with_the_tensor_named(tmp_path: Path) -> None:
    path, net, _ = make_model(tmp_path / "m.safetensors")
    key = next(k for k, v in net.state_dict().items() if v.is_floating_point())
    poisoned = net.state_dict()[key].clone()
    poisoned.view(-1)[0] = float("nan")
    bad = tmp_path / "nan.safetensors"
    _rewrite(path, bad, state={key: poisoned})
    with pytest.raises(ModelFileError, match=rf"nan\.safetensors: weights contain NaN or infinite values \({key}"):
        load_model(bad)


def test_saving_nan_weights_is_refused(tmp_path: Path) -> None:
    net = build_generator("fast_unet", ngf=2)
    with torch.no_grad():
        next(iter(net.parameters())).fill_(float("inf"))
    spec = ModelSpec(arch="fast_unet", arch_kwargs={"ngf": 2}, input_size=(32, 32), output_size=(32, 32))
    with pytest.raises(ModelFileError, match=r"refusing to save .*non-finite"):
        save_model(tmp_path / "m.safetensors", net, spec)
    assert not (tmp_path / "m.safetensors").exists()


def test_weights_that_do_not_fit_the_architecture(tmp_path: Path) -> None:
    path, _, spec = make_model(tmp_path / "m.safetensors")
    wrong = tmp_path / "wrong.safetensors"
    _rewrite(path, wrong, spec_json=json.dumps({**spec.to_dict(), "arch_kwargs": {"ngf": 8, "norm": "batch"}}))
    with pytest.raises(ModelFileError, match=r"wrong\.safetensors: weights do not fit architecture fast_unet: .*shape"):
        load_generator(wrong)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": FORMAT_VERSION + 1}, r"written by a newer thermal-synth"),
        ({"arch": "unet_1024"}, r"unknown architecture 'unet_1024' \(valid: unet_128"),
        ({"output_bits": 12}, r"output_bits must be 8 or 16"),
        ({"input_size": [0, 48]}, r"input_size must be two positive integers"),
        ({"input_size": "64x48"}, r"malformed model metadata"),
        ({"normalization": "imagenet"}, r"unknown normalization 'imagenet'"),
        ({"run_mode": "train"}, r"unknown run_mode 'train'"),
        ({"alignment": {"matrix": [[1, 0], [0, 1]], "rgb_size": [4, 4], "thermal_size": [4, 4]}}, r"3x3"),
        ({"colour": "blue"}, r"unknown key\(s\) colour"),
    ],
)
def test_bad_metadata_is_named(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path, _, spec = make_model(tmp_path / "m.safetensors")
    bad = tmp_path / "bad.safetensors"
    _rewrite(path, bad, spec_json=json.dumps({**spec.to_dict(), **change}))
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(bad)
    assert "bad.safetensors" in str(info.value)


def test_metadata_that_is_not_json(tmp_path: Path) -> None:
    path, _, _ = make_model(tmp_path / "m.safetensors")
    bad = tmp_path / "bad.safetensors"
    _rewrite(path, bad, spec_json="{not json")
    with pytest.raises(ModelFileError, match=r"bad\.safetensors: model metadata is not valid JSON"):
        read_spec(bad)


def test_spec_validation_in_code() -> None:
    with pytest.raises(ModelFileError, match=r"output_bits must be 8 or 16, got 10"):
        ModelSpec(arch="fast_unet", input_size=(8, 8), output_size=(8, 8), output_bits=10)
    with pytest.raises(ModelFileError, match=r"must not repeat input_nc"):
        ModelSpec(arch="fast_unet", input_size=(8, 8), output_size=(8, 8), arch_kwargs={"input_nc": 3})


def test_provenance_values_are_made_json(tmp_path: Path) -> None:
    spec = ModelSpec(
        arch="fast_unet",
        arch_kwargs={"ngf": 2},
        input_size=(32, 32),
        output_size=(32, 32),
        provenance={"dataset": Path("/data/flir"), "scales": (1, 2)},
    )
    path = save_model(tmp_path / "m.safetensors", build_generator("fast_unet", ngf=2), spec)
    assert read_spec(path).provenance == {"dataset": "/data/flir", "scales": [1, 2]}
    bad = spec.with_provenance(obj=object())
    with pytest.raises(ModelFileError, match=r"not JSON-serialisable"):
        save_model(tmp_path / "x.safetensors", build_generator("fast_unet", ngf=2), bad)


def test_reading_a_header_imports_no_network_code(tmp_path: Path) -> None:
    """read_spec validates the architecture by name: the network classes stay unimported."""
    path, _, _ = make_model(tmp_path / "m.safetensors", "unet_128")
    code = (
        "import sys\n"
        "from thermal_synth_core.modelfile import read_spec\n"
        f"spec = read_spec({str(path)!r})\n"
        "assert spec.arch == 'unet_128', spec.arch\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('thermal_synth_core.models'))\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
