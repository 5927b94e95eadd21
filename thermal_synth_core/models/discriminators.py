"""PatchGAN discriminators (``basic`` 70x70, ``n_layers``, ``pixel``) with the reference parameter names.

They output raw logits (no sigmoid): the GAN losses in training apply the
sigmoid themselves where they need one, which is numerically safer.
"""

from __future__ import annotations

import torch
from torch import nn

from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models.layers import conv_bias, norm_layer

__all__ = ["NLayerDiscriminator", "PixelDiscriminator"]


class NLayerDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` stride-2 4x4 convolutions, then two stride-1 ones; 3 layers = 70x70 patches."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 1:
            raise ArchitectureError(f"n_layers must be >= 1, got {n_layers}")
        if input_nc < 1 or ndf < 1:
            raise ArchitectureError(f"input_nc and ndf must be >= 1, got {input_nc} and {ndf}")
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=bias),
                make_norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=bias),
            make_norm(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patch logits, shape (N, 1, H', W')."""
        out: torch.Tensor = self.model(x)
        return out


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN (PixelGAN): judges each pixel's colour on its own."""

    def __init__(self, input_nc: int, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        if input_nc < 1 or ndf < 1:
            raise ArchitectureError(f"input_nc and ndf must be >= 1, got {input_nc} and {ndf}")
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=bias),
            norm_layer(norm)(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits, shape (N, 1, H, W)."""
        out: torch.Tensor = self.net(x)
        return out
