"""The Pix2Pix U-Net generators (``unet_128``, ``unet_256``, ``unet_512``).

Same layer sequence and parameter names as the reference implementation, so
its checkpoints load: a chain of nested skip blocks, each ``model`` holding
``[down..., inner block, up...]``. The outermost block maps input_nc -> ngf, the
next three double the width up to 8*ngf, and the rest stay at 8*ngf down to a
1x1 bottleneck (at the nominal input size); dropout (p=0.5) sits in the 8*ngf
blocks between the innermost and the three widening ones.
"""

from __future__ import annotations

import torch
from torch import nn

from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models.base import Generator
from thermal_synth_core.models.layers import conv_bias, norm_layer

__all__ = ["UnetGenerator", "UnetSkipBlock"]


class UnetSkipBlock(nn.Module):
    """One U-Net level: downsample, run the inner block, upsample, concatenate with the input (skip)."""

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        *,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        in_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(in_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        layers: list[nn.Module]
        if outermost:
            assert submodule is not None
            # The last layer has no norm after it, so it always has a bias.
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [down_conv, submodule, nn.ReLU(True), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, make_norm(outer_nc)]
        else:
            assert submodule is not None
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, make_norm(inner_nc), submodule]
            layers += [nn.ReLU(True), up_conv, make_norm(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outermost: the output image; inner levels: input and result stacked on channels."""
        if self.outermost:
            out: torch.Tensor = self.model(x)
            return out
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(Generator):
    """U-Net with ``num_downs`` halvings: 7 for 128x128 images, 8 for 256x256, 9 for 512x512."""

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 1,
        *,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = False,
        pad_mode: str = "reflect",
    ) -> None:
        super().__init__(input_nc, output_nc, pad_mode)
        if num_downs < 5:
            raise ArchitectureError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        if ngf < 1:
            raise ArchitectureError(f"ngf must be >= 1, got {ngf}")
        self.num_downs = num_downs
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
        block = UnetSkipBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = UnetSkipBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = UnetSkipBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = UnetSkipBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)

    def multiple(self) -> int:
        """Every halving must be exact for the skip connections to line up: 2**num_downs."""
        return int(2**self.num_downs)

    def core(self, x: torch.Tensor) -> torch.Tensor:
        """Run the nested blocks."""
        out: torch.Tensor = self.model(x)
        return out
