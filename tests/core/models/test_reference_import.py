"""Importing checkpoints of the original pytorch-CycleGAN-and-pix2pix code (``import-reference``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.models.reference_layout import reference_layout
from thermal_synth_core.cli import main
from thermal_synth_core.errors import ModelFileError
from thermal_synth_core.modelfile import ThermalFov, load_model, read_spec
from thermal_synth_core.models import build_generator, load_generator
from thermal_synth_core.models.reference import DEFAULT_FOV_SOURCE, import_reference


def _reference_checkpoint(
    path: Path, arch: str, *, ngf: int, norm: str, dropout: bool, prefix: str = "", seed: int = 0
) -> dict[str, torch.Tensor]:
    """A state dict laid out exactly as the original code saves it, with random values."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for name, shape in reference_layout(arch, input_nc=3, output_nc=1, ngf=ngf, norm=norm, dropout=dropout).items():
        if name.endswith("num_batches_tracked"):
            state[prefix + name] = torch.tensor(100, dtype=torch.long)
        elif name.endswith("running_var"):
            state[prefix + name] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[prefix + name] = torch.randn(shape, generator=gen) * 0.1
    torch.save(state, path)
    return {k.removeprefix(prefix): v for k, v in state.items()}


@pytest.mark.parametrize(
    ("arch", "norm", "dropout", "prefix"),
    [
        ("unet_256", "batch", True, "module."),
        ("unet_128", "instance", False, ""),
        ("resnet_9blocks", "instance", False, "module."),
        ("resnet_6blocks", "batch", True, ""),
    ],
)
def test_imported_model_matches_the_network_loaded_directly(
    arch: str, norm: str, dropout: bool, prefix: str, tmp_path: Path
) -> None:
    ckpt = tmp_path / "latest_net_G.pth"
    state = _reference_checkpoint(ckpt, arch, ngf=4, norm=norm, dropout=dropout, prefix=prefix)
    out = tmp_path / "imported.safetensors"
    flag = "--dropout" if dropout else "--no-dropout"
    argv = ["import-reference", "--checkpoint", str(ckpt), "--out", str(out), "--arch", arch, "--ngf", "4"]
    assert main([*argv, "--norm", norm, flag]) == 0

    direct = build_generator(arch, ngf=4, norm=norm, use_dropout=dropout)
    direct.load_state_dict(state)
    direct.eval()
    imported, spec = load_generator(out)
    x = torch.rand(2, 3, 64, 80) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(imported(x), direct(x))
    assert spec.run_mode == "eval"
    assert spec.provenance["source_checkpoint"] == "latest_net_G.pth"
    assert spec.input_size == ((128, 128) if arch == "unet_128" else (256, 256))


def _assert_weights(model: Path, expected: dict[str, torch.Tensor]) -> None:
    """The model file holds exactly ``expected``: the same names, and bit-identical tensors."""
    _, weights = load_model(model)
    assert sorted(weights) == sorted(expected)
    different = [name for name, value in expected.items() if not torch.equal(weights[name], value)]
    assert not different, f"weights changed on import: {different[:5]}"


def test_old_pytorch_instance_norm_statistics_are_dropped(tmp_path: Path) -> None:
    # PyTorch < 0.4 saved running statistics for InstanceNorm layers, which never use them.
    ckpt = tmp_path / "old.pth"
    state = _reference_checkpoint(tmp_path / "tmp.pth", "resnet_6blocks", ngf=4, norm="instance", dropout=False)
    stale = {"model.2.running_mean": torch.zeros(4), "model.2.running_var": torch.ones(4)}
    torch.save({**state, **stale}, ckpt)
    import_reference(ckpt, tmp_path / "a.safetensors", arch="resnet_6blocks", ngf=4, norm="instance")
    _assert_weights(tmp_path / "a.safetensors", state)  # every real weight kept, the stale statistics gone


def test_old_pytorch_batch_norm_counters_are_filled_with_zero(tmp_path: Path) -> None:
    # PyTorch < 0.4.1 saved BatchNorm layers without num_batches_tracked.
    ckpt = tmp_path / "old.pth"
    bn = _reference_checkpoint(tmp_path / "tmp.pth", "unet_128", ngf=4, norm="batch", dropout=True)
    counters = {k for k in bn if k.endswith("num_batches_tracked")}
    assert counters and all(int(bn[k]) == 100 for k in counters)
    old = {k: v for k, v in bn.items() if k not in counters}
    torch.save(old, ckpt)
    import_reference(ckpt, tmp_path / "b.safetensors", arch="unet_128", ngf=4, norm="batch")
    _assert_weights(tmp_path / "b.safetensors", {**old, **{k: torch.zeros_like(bn[k]) for k in counters}})


@pytest.mark.parametrize("wrapper", ["state_dict", "model", "netG", "net_G"])
def test_wrapped_state_dict_is_unwrapped(tmp_path: Path, wrapper: str) -> None:
    state = _reference_checkpoint(tmp_path / "a.pth", "unet_128", ngf=4, norm="batch", dropout=True)
    torch.save({wrapper: state, "epoch": 7}, tmp_path / "wrapped.pth")
    import_reference(tmp_path / "wrapped.pth", tmp_path / "m.safetensors", arch="unet_128", ngf=4)
    _assert_weights(tmp_path / "m.safetensors", state)


def test_mismatched_keys_and_shapes_are_listed(tmp_path: Path) -> None:
    ckpt = tmp_path / "g.pth"
    _reference_checkpoint(ckpt, "resnet_6blocks", ngf=4, norm="batch", dropout=True)
    with pytest.raises(ModelFileError, match=r"does not fit the chosen architecture\n.*missing \(\d+\): model\.10"):
        import_reference(ckpt, tmp_path / "m.safetensors", arch="resnet_6blocks", ngf=4, use_dropout=False)
    with pytest.raises(ModelFileError, match=r"wrong shape \(\d+\): model\.1\.weight: checkpoint \(4, 3, 7, 7\)"):
        import_reference(ckpt, tmp_path / "m.safetensors", arch="resnet_6blocks", ngf=8, use_dropout=True)
    assert not (tmp_path / "m.safetensors").exists()


def test_cli_reports_mismatches_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "g.pth"
    _reference_checkpoint(ckpt, "unet_128", ngf=4, norm="batch", dropout=True)
    argv = ["import-reference", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.safetensors")]
    assert main([*argv, "--arch", "unet_256", "--ngf", "4"]) == 1
    err = capsys.readouterr().err
    assert "does not fit the chosen architecture" in err
    assert "Traceback" not in err


class _Payload:
    """Anything that is not a tensor: torch.load(weights_only=True) must refuse to build it."""


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "evil.pth"
    torch.save({"model.0.weight": _Payload()}, ckpt)
    with pytest.raises(ModelFileError, match=r"evil\.pth: cannot read it as a PyTorch state_dict .*weights_only"):
        import_reference(ckpt, tmp_path / "m.safetensors", arch="unet_128", ngf=4)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "notes.pth").write_text("hello")
    with pytest.raises(ModelFileError, match=r"notes\.pth: cannot read it"):
        import_reference(tmp_path / "notes.pth", tmp_path / "m.safetensors", arch="unet_128")
    with pytest.raises(ModelFileError, match=r"checkpoint not found"):
        import_reference(tmp_path / "missing.pth", tmp_path / "m.safetensors", arch="unet_128")


def test_train_bn_mode_is_recorded_and_runs_with_batch_statistics(tmp_path: Path) -> None:
    ckpt = tmp_path / "g.pth"
    _reference_checkpoint(ckpt, "unet_128", ngf=4, norm="batch", dropout=False)
    out = tmp_path / "m.safetensors"
    argv = ["import-reference", "--checkpoint", str(ckpt), "--out", str(out), "--arch", "unet_128", "--ngf", "4"]
    assert main([*argv, "--no-dropout", "--mode", "train-bn", "--output-size", "640x512", "--output-bits", "16"]) == 0
    spec = read_spec(out)
    assert (spec.run_mode, spec.output_size, spec.output_encoding) == ("train-bn", (640, 512), "mono16")
    net, _ = load_generator(out)
    assert net.training  # batch statistics, as the original test script runs pix2pix


def test_thermal_hfov_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "g.pth"
    _reference_checkpoint(ckpt, "unet_128", ngf=4, norm="batch", dropout=True)
    argv = ["import-reference", "--checkpoint", str(ckpt), "--arch", "unet_128", "--ngf", "4"]
    out = str(tmp_path / "a.safetensors")
    assert main([*argv, "--out", out, "--thermal-hfov", "24", "--output-size", "640x512"]) == 0
    # The field of view spans the thermal frames the model hands out (640 wide), not the 128 it runs at.
    assert read_spec(tmp_path / "a.safetensors").thermal_fov == ThermalFov(24.0, 640, "--thermal-hfov")
    assert main([*argv, "--out", str(tmp_path / "b.safetensors")]) == 0
    spec = read_spec(tmp_path / "b.safetensors")
    assert spec.thermal_fov == ThermalFov(45.0, 128, DEFAULT_FOV_SOURCE)  # FLIR ADAS, stated as an assumption
    assert "FLIR ADAS" in DEFAULT_FOV_SOURCE
    with pytest.raises(SystemExit):
        main(["import-reference", "--help"])
    assert "--thermal-hfov DEG" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [0.0, 200.0, -1.0, float("nan")])
def test_bad_thermal_hfov_is_refused(bad: float, tmp_path: Path) -> None:
    ckpt = tmp_path / "g.pth"
    _reference_checkpoint(ckpt, "unet_128", ngf=4, norm="batch", dropout=True)
    with pytest.raises(ModelFileError, match=r"--thermal-hfov must be between 0 and 180 degrees"):
        import_reference(ckpt, tmp_path / "m.safetensors", arch="unet_128", ngf=4, thermal_hfov=bad)
    assert not (tmp_path / "m.safetensors").exists()
