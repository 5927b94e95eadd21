"""Normalisation layers and weight initialisation, with the original pix2pix/CycleGAN semantics.

The choices here decide the state-dict layout, so they follow the reference
implementation exactly: ``batch`` is an affine BatchNorm with running statistics,
``instance`` an InstanceNorm without affine parameters or running statistics,
and ``none`` an identity placeholder (it keeps ``nn.Sequential`` indices, hence
parameter names, the same as with a real norm). Convolutions followed by a norm
carry a bias only with ``instance`` (BatchNorm has its own shift; the reference
also leaves the bias out with ``none``, and we keep that so its checkpoints load).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import torch
from torch import nn

from thermal_synth_core.errors import ArchitectureError

__all__ = ["INIT_TYPES", "NORMS", "NormFactory", "conv_bias", "init_weights", "norm_layer"]

NORMS: Final = ("batch", "instance", "none")
INIT_TYPES: Final = ("normal", "xavier", "kaiming", "orthogonal")

NormFactory = Callable[[int], nn.Module]


def norm_layer(norm: str) -> NormFactory:
    """A factory ``channels -> nn.Module`` for the named normalisation."""
    if norm == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    if norm == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda c: nn.Identity()
    raise ArchitectureError(f"unknown norm {norm!r}; valid: {', '.join(NORMS)}")


def conv_bias(norm: str) -> bool:
    """Whether a convolution that feeds a norm layer has a bias (reference behaviour: only with instance norm)."""
    norm_layer(norm)  # validates the name
    return norm == "instance"


def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> None:
    """Initialise convolution and BatchNorm weights the way the reference training does.

    Conv/Linear weights: N(0, gain) | xavier_normal(gain) | kaiming_normal(fan_in) |
    orthogonal(gain); their biases 0. BatchNorm: weight N(1, gain), bias 0.
    """
    if init_type not in INIT_TYPES:
        raise ArchitectureError(f"unknown init_type {init_type!r}; valid: {', '.join(INIT_TYPES)}")

    def init_module(m: nn.Module) -> None:
        weight = getattr(m, "weight", None)
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear) and isinstance(weight, torch.Tensor):
            if init_type == "normal":
                nn.init.normal_(weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(weight, gain=init_gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, init_gain)
            nn.init.zeros_(m.bias)

    with torch.no_grad():
        net.apply(init_module)
