"""Generators and discriminators: registry, reference parameter names and counts, any input size, cost."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.nn import functional

from tests.core.models.reference_layout import reference_layout
from thermal_synth_core import names
from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models import (
    Generator,
    build_discriminator,
    build_generator,
    count_macs,
    count_parameters,
    list_discriminators,
    list_generators,
    pad_amounts,
)

GENERATORS = list_generators()
REFERENCE_ARCHS = ["unet_128", "unet_256", "unet_512", "resnet_6blocks", "resnet_9blocks"]


def test_registries_hold_every_architecture() -> None:
    assert set(GENERATORS) == {*REFERENCE_ARCHS, "fast_unet"}
    assert set(list_discriminators()) == {"basic", "n_layers", "pixel"}


def test_the_generator_registry_and_the_light_names_agree() -> None:
    # The model file validates an architecture by name only (no network import) against names.GENERATORS,
    # and the CLI offers those names: the registry must implement exactly them, in the same order.
    assert tuple(GENERATORS) == names.GENERATORS
    assert set(names.REFERENCE_ARCHS) <= set(GENERATORS)


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ArchitectureError, match=r"unknown generator architecture 'unet_1024'; valid: unet_128, "):
        build_generator("unet_1024")
    with pytest.raises(ArchitectureError, match=r"unknown discriminator architecture 'patch'; valid: basic, n_layers"):
        build_discriminator("patch", input_nc=4)


def test_bad_arguments_are_architecture_errors() -> None:
    with pytest.raises(ArchitectureError, match=r"does not take n_blocks; its arguments are: .*ngf"):
        build_generator("unet_256", n_blocks=3)
    with pytest.raises(ArchitectureError, match=r"resnet_9blocks fixes n_blocks"):
        build_generator("resnet_9blocks", n_blocks=3)
    with pytest.raises(ArchitectureError, match=r"unknown norm 'group'; valid: batch, instance, none"):
        build_generator("unet_128", norm="group", ngf=4)
    with pytest.raises(ArchitectureError, match=r"unknown init_type 'uniform'"):
        build_generator("unet_128", init_type="uniform", ngf=4)
    with pytest.raises(ArchitectureError, match=r"unknown pad_mode"):
        build_generator("fast_unet", pad_mode="circular")


# The RGB->1 figures, and RGB->RGB ones that round to what the original code prints
# ("Total number of parameters: 54.414 M" for pix2pix's unet_256, 11.378 M for CycleGAN's
# resnet_9blocks, 2.769 M for the basic netD on 6 channels).
@pytest.mark.parametrize(
    ("arch", "norm", "output_nc", "expected"),
    [
        ("unet_256", "batch", 1, 54_409_857),
        ("unet_256", "batch", 3, 54_413_955),
        ("resnet_9blocks", "instance", 1, 11_371_905),
        ("resnet_9blocks", "instance", 3, 11_378_179),
    ],
)
def test_parameter_counts_match_the_reference(arch: str, norm: str, output_nc: int, expected: int) -> None:
    assert count_parameters(build_generator(arch, norm=norm, output_nc=output_nc)) == expected


def test_discriminator_parameter_count_matches_the_reference() -> None:
    assert count_parameters(build_discriminator("basic", input_nc=6)) == 2_768_705


@pytest.mark.parametrize("arch", REFERENCE_ARCHS)
@pytest.mark.parametrize(("norm", "dropout"), [("batch", True), ("instance", False), ("none", False), ("batch", False)])
def test_state_dict_names_and_shapes_equal_the_reference_layout(arch: str, norm: str, dropout: bool) -> None:
    net = build_generator(arch, ngf=4, norm=norm, use_dropout=dropout, input_nc=3, output_nc=1)
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == reference_layout(arch, input_nc=3, output_nc=1, ngf=4, norm=norm, dropout=dropout)


def test_a_few_reference_names_verbatim() -> None:
    unet = build_generator("unet_256", ngf=4).state_dict()
    for key in ("model.model.0.weight", "model.model.1.model.2.running_mean", "model.model.3.bias"):
        assert key in unet
    resnet = build_generator("resnet_9blocks", ngf=4, norm="instance").state_dict()
    for key in ("model.1.weight", "model.1.bias", "model.10.conv_block.5.weight", "model.26.weight", "model.26.bias"):
        assert key in resnet


@pytest.mark.parametrize("arch", GENERATORS)
@pytest.mark.parametrize(("width", "height"), [(256, 256), (640, 512)])
def test_forward_keeps_any_size(arch: str, width: int, height: int) -> None:
    # Small widths keep this fast; the layer structure (and so the size handling) is the same.
    net = build_generator(arch, ngf=4).eval()
    with torch.inference_mode():
        y = net(torch.rand(2, 3, height, width) * 2 - 1)
    assert y.shape == (2, 1, height, width)
    assert float(y.abs().max()) <= 1.0


def test_full_size_unet_256_on_a_flir_frame() -> None:
    net = build_generator("unet_256").eval()
    with torch.inference_mode():
        y = net(torch.zeros(1, 3, 512, 640))
    assert y.shape == (1, 1, 512, 640)


@pytest.mark.parametrize("arch", GENERATORS)
@pytest.mark.parametrize(("height", "width"), [(37, 53), (5, 7)])
def test_odd_and_tiny_inputs_are_padded_not_resized(arch: str, height: int, width: int) -> None:
    net = build_generator(arch, ngf=2).eval()
    with torch.inference_mode():
        assert net(torch.rand(1, 3, height, width)).shape == (1, 1, height, width)


@pytest.mark.parametrize("pad_mode", ["reflect", "replicate"])
def test_padding_is_exactly_pad_run_crop(pad_mode: str) -> None:
    net = build_generator("unet_128", ngf=4, pad_mode=pad_mode).eval()
    x = torch.rand(1, 3, 100, 150)
    top, bottom = pad_amounts(100, 128)
    left, right = pad_amounts(150, 128)
    with torch.inference_mode():
        manual = net.core(functional.pad(x, (left, right, top, bottom), mode=pad_mode))
        manual = manual[..., top : top + 100, left : left + 150]
        assert torch.equal(net(x), manual)


def test_pad_amounts() -> None:
    assert pad_amounts(512, 256) == (0, 0)
    assert pad_amounts(640, 256) == (64, 64)
    assert pad_amounts(5, 4) == (1, 2)


def test_size_multiples() -> None:
    def multiple(arch: str) -> int:
        net = build_generator(arch, ngf=2)
        assert isinstance(net, Generator)
        return net.multiple()

    assert [multiple(a) for a in REFERENCE_ARCHS] == [128, 256, 512, 4, 4]
    assert multiple("fast_unet") == 32


@pytest.mark.parametrize(("width", "height"), [(256, 256), (640, 512)])
def test_fast_generator_needs_10x_fewer_macs_than_unet_256(width: int, height: int) -> None:
    shape = (1, 3, height, width)
    fast = count_macs(build_generator("fast_unet"), shape)
    unet = count_macs(build_generator("unet_256"), shape)
    assert unet >= 10 * fast
    assert unet / fast > 30  # the design margin, so later tweaks keep it far from the line


def test_count_macs_of_a_single_convolution() -> None:
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, (1, 3, 10, 10)) == 10 * 10 * 8 * 3 * 9


def test_fast_generator_sees_the_whole_frame() -> None:
    # Sky vs. road vs. warm bodies needs context: the centre output must depend on a far corner.
    torch.manual_seed(0)
    net = build_generator("fast_unet").eval()
    x = (torch.rand(1, 3, 256, 320) * 2 - 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(net(x)[0, 0, 128, 160], x)
    assert float(grad[0, :, :16, :16].abs().sum()) > 0


def test_fast_generator_learns_a_toy_thermal_mapping() -> None:
    # Warm = red-ish pixels, cold = blue sky; a few Adam steps must cut the L1 error clearly.
    torch.manual_seed(0)
    net = build_generator("fast_unet", ngf=8)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.5, 0.999))
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    target = torch.tanh(2 * (x[:, :1] - x[:, 2:3]))

    def loss() -> torch.Tensor:
        out: torch.Tensor = (net(x) - target).abs().mean()
        return out

    first = float(loss().detach())
    for _ in range(60):
        opt.zero_grad()
        grads = torch.autograd.grad(loss(), list(net.parameters()))
        for p, g in zip(net.parameters(), grads, strict=True):
            p.grad = g
        opt.step()
    assert float(loss().detach()) < 0.5 * first


@pytest.mark.parametrize(("name", "kwargs", "spatial"), [("basic", {}, 30), ("n_layers", {"n_layers": 2}, 62)])
def test_patchgan_output_sizes(name: str, kwargs: dict[str, Any], spatial: int) -> None:
    net = build_discriminator(name, input_nc=4, ndf=8, **kwargs)
    assert net(torch.rand(1, 4, 256, 256)).shape == (1, 1, spatial, spatial)


def test_pixel_discriminator_judges_every_pixel() -> None:
    net = build_discriminator("pixel", input_nc=4, ndf=8, norm="instance")
    assert net(torch.rand(1, 4, 32, 48)).shape == (1, 1, 32, 48)


def test_discriminator_names_follow_the_reference() -> None:
    basic = build_discriminator("basic", input_nc=6, ndf=8).state_dict()
    assert {"model.0.weight", "model.0.bias", "model.2.weight", "model.3.running_var", "model.11.weight"} <= set(basic)
    pixel = build_discriminator("pixel", input_nc=6, ndf=8).state_dict()
    assert {"net.0.weight", "net.2.weight", "net.3.weight", "net.5.weight"} <= set(pixel)


@pytest.mark.parametrize("init_type", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_types(init_type: str) -> None:
    torch.manual_seed(0)
    net = build_generator("resnet_6blocks", ngf=8, init_type=init_type, init_gain=0.02)
    first = net.state_dict()["model.1.weight"]
    assert torch.isfinite(first).all()
    if init_type == "normal":
        assert abs(float(first.std()) - 0.02) < 0.005
    bn_weight = net.state_dict()["model.2.weight"]
    assert abs(float(bn_weight.mean()) - 1.0) < 0.05
