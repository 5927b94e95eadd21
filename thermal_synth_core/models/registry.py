"""The registries of generators and discriminators: one name -> one builder, with its defaults.

Names are the reference implementation's ``--netG``/``--netD`` values plus our
``fast_unet``. An unknown name, or an argument the architecture does not take,
is an :class:`~thermal_synth_core.errors.ArchitectureError` that lists what is valid.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from torch import nn

from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models.base import Generator
from thermal_synth_core.models.discriminators import NLayerDiscriminator, PixelDiscriminator
from thermal_synth_core.models.fast import FastUnetGenerator
from thermal_synth_core.models.layers import init_weights
from thermal_synth_core.models.resnet import ResnetGenerator
from thermal_synth_core.models.unet import UnetGenerator

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "ArchArgs",
    "ArchSpec",
    "build_discriminator",
    "build_generator",
    "generator_info",
    "list_discriminators",
    "list_generators",
]

#: Keyword arguments of an architecture's class. Free-form by nature (each class takes its own);
#: :func:`_construct` checks the names against the class's signature before calling it.
ArchArgs: TypeAlias = dict[str, object]


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture: its class, fixed arguments, and what it is for."""

    cls: Callable[..., nn.Module]
    fixed: Mapping[str, object] = field(default_factory=dict)
    description: str = ""
    #: ``use_dropout`` when the caller does not say (the reference: on for pix2pix U-Nets, off for CycleGAN).
    default_dropout: bool = False
    #: ``ngf`` when the caller does not say.
    default_ngf: int = 64


GENERATORS: dict[str, ArchSpec] = {
    "unet_128": ArchSpec(UnetGenerator, {"num_downs": 7}, "Pix2Pix U-Net, 7 halvings (128x128 nominal)", True),
    "unet_256": ArchSpec(UnetGenerator, {"num_downs": 8}, "Pix2Pix U-Net, 8 halvings (256x256 nominal)", True),
    "unet_512": ArchSpec(UnetGenerator, {"num_downs": 9}, "Pix2Pix U-Net, 9 halvings (512x512 nominal)", True),
    "resnet_6blocks": ArchSpec(ResnetGenerator, {"n_blocks": 6}, "CycleGAN ResNet, 6 residual blocks"),
    "resnet_9blocks": ArchSpec(ResnetGenerator, {"n_blocks": 9}, "CycleGAN ResNet, 9 residual blocks"),
    "fast_unet": ArchSpec(
        FastUnetGenerator, {}, "light U-Net for real-time CPU/embedded inference (ours)", default_ngf=16
    ),
}

DISCRIMINATORS: dict[str, ArchSpec] = {
    "basic": ArchSpec(NLayerDiscriminator, {"n_layers": 3}, "70x70 PatchGAN"),
    "n_layers": ArchSpec(NLayerDiscriminator, {}, "PatchGAN with n_layers stride-2 layers"),
    "pixel": ArchSpec(PixelDiscriminator, {}, "1x1 PixelGAN"),
}


def list_generators() -> list[str]:
    """Registered generator names."""
    return list(GENERATORS)


def list_discriminators() -> list[str]:
    """Registered discriminator names."""
    return list(DISCRIMINATORS)


def generator_info(name: str) -> ArchSpec:
    """The registry entry of a generator; unknown names raise ArchitectureError listing the valid ones."""
    return _lookup(GENERATORS, name, "generator")


def _lookup(registry: Mapping[str, ArchSpec], name: str, kind: str) -> ArchSpec:
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ArchitectureError(f"unknown {kind} architecture {name!r}; valid: {', '.join(registry)}") from None


def _construct(spec: ArchSpec, name: str, kwargs: ArchArgs) -> nn.Module:
    accepted = inspect.signature(spec.cls).parameters
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown:
        valid = sorted(k for k in accepted if k not in spec.fixed)
        raise ArchitectureError(f"{name} does not take {', '.join(unknown)}; its arguments are: {', '.join(valid)}")
    try:
        return spec.cls(**{**kwargs, **spec.fixed})
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"cannot build {name} with {kwargs}: {exc}") from exc


def build_generator(
    name: str,
    *,
    input_nc: int = 3,
    output_nc: int = 1,
    ngf: int | None = None,
    norm: str = "batch",
    use_dropout: bool | None = None,
    init_type: str = "normal",
    init_gain: float = 0.02,
    **arch_kwargs: Any,
) -> Generator:
    """Build and initialise a registered generator.

    ``ngf`` and ``use_dropout`` default per architecture (64 and on for the U-Nets,
    64 and off for the ResNets, 16 and off for ``fast_unet``). ``arch_kwargs`` go
    to the architecture (e.g. ``pad_mode``, ``padding_type``, ``widths``).
    """
    spec = generator_info(name)
    fixed = sorted(k for k in arch_kwargs if k in spec.fixed)
    if fixed:
        raise ArchitectureError(f"{name} fixes {', '.join(fixed)}; pick another architecture name instead")
    kwargs: ArchArgs = {
        "input_nc": input_nc,
        "output_nc": output_nc,
        "ngf": spec.default_ngf if ngf is None else ngf,
        "norm": norm,
        "use_dropout": spec.default_dropout if use_dropout is None else use_dropout,
        **arch_kwargs,
    }
    net = _construct(spec, name, kwargs)
    assert isinstance(net, Generator)
    init_weights(net, init_type, init_gain)
    return net


def build_discriminator(
    name: str,
    *,
    input_nc: int,
    ndf: int = 64,
    n_layers: int = 3,
    norm: str = "batch",
    init_type: str = "normal",
    init_gain: float = 0.02,
    **arch_kwargs: Any,
) -> nn.Module:
    """Build and initialise a registered discriminator (``n_layers`` matters only for ``n_layers``)."""
    spec = _lookup(DISCRIMINATORS, name, "discriminator")
    kwargs: ArchArgs = {"input_nc": input_nc, "ndf": ndf, "norm": norm, **arch_kwargs}
    if name == "n_layers":
        kwargs["n_layers"] = n_layers
    net = _construct(spec, name, kwargs)
    init_weights(net, init_type, init_gain)
    return net
