"""The CycleGAN ResNet generators (``resnet_6blocks``, ``resnet_9blocks``).

Same layer sequence and parameter names as the reference implementation:
reflection-padded 7x7 stem, two stride-2 downsamplings, ``n_blocks`` residual
blocks at 4*ngf, two transposed-convolution upsamplings and a 7x7 output layer
with tanh.
"""

from __future__ import annotations

import torch
from torch import nn

from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models.base import Generator
from thermal_synth_core.models.layers import conv_bias, norm_layer

__all__ = ["BLOCK_PADDINGS", "ResnetBlock", "ResnetGenerator"]

BLOCK_PADDINGS = ("reflect", "replicate", "zero")


class ResnetBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (``conv_block`` holds them)."""

    def __init__(self, dim: int, *, padding_type: str, norm: str, use_dropout: bool) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = []
        for second in (False, True):
            pad = 0
            if padding_type == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding_type == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding_type == "zero":
                pad = 1
            else:
                raise ArchitectureError(f"unknown padding_type {padding_type!r}; valid: {', '.join(BLOCK_PADDINGS)}")
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=pad, bias=bias), make_norm(dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return x + F(x)."""
        out: torch.Tensor = x + self.conv_block(x)
        return out


class ResnetGenerator(Generator):
    """ResNet generator (Johnson et al. style) as used by CycleGAN."""

    size_multiple = 4  # two exact halvings

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 1,
        *,
        n_blocks: int = 9,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = False,
        padding_type: str = "reflect",
        pad_mode: str = "reflect",
    ) -> None:
        super().__init__(input_nc, output_nc, pad_mode)
        if n_blocks < 0:
            raise ArchitectureError(f"n_blocks must be >= 0, got {n_blocks}")
        if ngf < 1:
            raise ArchitectureError(f"ngf must be >= 1, got {ngf}")
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        n_down = 2
        for i in range(n_down):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=bias),
                make_norm(ngf * mult * 2),
                nn.ReLU(True),
            ]
        mult = 2**n_down
        layers += [
            ResnetBlock(ngf * mult, padding_type=padding_type, norm=norm, use_dropout=use_dropout)
            for _ in range(n_blocks)
        ]
        for i in range(n_down):
            mult = 2 ** (n_down - i)
            layers += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                make_norm(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def core(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layer sequence."""
        out: torch.Tensor = self.model(x)
        return out
