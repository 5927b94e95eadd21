"""``fast_unet``: our generator for CPU-only and embedded vehicles.

A U-Net in the MobileNet spirit, built so that ONNX Runtime on two CPU cores
runs it at camera rate (>= 15 FPS at 640x512) while keeping what the RGB ->
thermal mapping needs:

* Context: five stride-2 levels (1/2 ... 1/32) and dilated depthwise blocks at
  the two coarsest levels, so the receptive field spans most of a frame (sky vs.
  road vs. warm bodies is a global question, not a local one).
* Detail: skip connections at every level, and a last full-resolution step that
  sees the RGB input again, so edges of pedestrians and tyres stay sharp.
* Cost: nothing wide runs at full resolution. The stem halves the image at once;
  blocks are depthwise 3x3 + pointwise 1x1; the decoder upsamples bilinearly
  (no transposed convolutions) and the head predicts 2x2 sub-pixels
  (pixel shuffle). That is ~2 kMAC per pixel, >100x fewer than ``unet_256``.
* Export: only Conv, BatchNorm (folded away by ONNX Runtime/TensorRT), ReLU,
  Resize, Concat and DepthToSpace: operators every backend runs well.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from thermal_synth_core.errors import ArchitectureError
from thermal_synth_core.models.base import Generator
from thermal_synth_core.models.layers import NormFactory, conv_bias, norm_layer

__all__ = ["FastUnetGenerator", "SeparableBlock"]

DEFAULT_WIDTHS = (16, 32, 64, 96, 128)
DEFAULT_BLOCKS = (0, 1, 2, 2, 2)
#: Dilation of the depthwise convolution in each block, per level (wider at coarse levels).
DEFAULT_DILATIONS = ((1,), (1,), (1, 2), (1, 2), (2, 4))


def _conv_norm_relu(in_c: int, out_c: int, k: int, *, stride: int, make_norm: NormFactory, bias: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_c, out_c, k, stride=stride, padding=k // 2, bias=bias),
        make_norm(out_c),
        nn.ReLU(inplace=True),
    )


class SeparableBlock(nn.Module):
    """Residual depthwise-separable block: dw3x3 (dilated) -> norm -> ReLU -> pw1x1 -> norm, + x, ReLU."""

    def __init__(self, channels: int, dilation: int, norm: str, use_dropout: bool) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, groups=channels, bias=bias),
            make_norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=bias),
            make_norm(channels),
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(x + body(x))."""
        return functional.relu(x + self.body(x))


class FastUnetGenerator(Generator):
    """A light U-Net for real-time CPU inference (see the module docstring for the design)."""

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 1,
        *,
        ngf: int = 16,
        widths: Sequence[int] | None = None,
        blocks: Sequence[int] = DEFAULT_BLOCKS,
        norm: str = "batch",
        use_dropout: bool = False,
        pad_mode: str = "reflect",
    ) -> None:
        super().__init__(input_nc, output_nc, pad_mode)
        if widths is None:
            # ngf scales the default widths (ngf=16 gives DEFAULT_WIDTHS).
            widths = tuple(max(1, round(w * ngf / 16)) for w in DEFAULT_WIDTHS)
        widths = tuple(int(w) for w in widths)
        blocks = tuple(int(b) for b in blocks)
        if len(widths) < 2 or len(widths) != len(blocks) or min(widths) < 1 or min(blocks) < 0:
            raise ArchitectureError(
                f"fast_unet needs widths and blocks of the same length >= 2 (widths >= 1, blocks >= 0); "
                f"got widths={list(widths)}, blocks={list(blocks)}"
            )
        self.widths = widths
        self.levels = len(widths)
        make_norm = norm_layer(norm)
        bias = conv_bias(norm)

        # Encoder: level i works at 1/2**(i+1) of the input size.
        self.encoders = nn.ModuleList()
        for i, width in enumerate(widths):
            in_c = input_nc if i == 0 else widths[i - 1]
            dilations = DEFAULT_DILATIONS[min(i, len(DEFAULT_DILATIONS) - 1)]
            stage: list[nn.Module] = [_conv_norm_relu(in_c, width, 3, stride=2, make_norm=make_norm, bias=bias)]
            stage += [
                SeparableBlock(width, dilations[j % len(dilations)], norm, use_dropout and i >= self.levels - 2)
                for j in range(blocks[i])
            ]
            self.encoders.append(nn.Sequential(*stage))

        # Decoder: upsample level i+1, concatenate level i's skip, fuse with 1x1, refine with a block.
        self.decoders = nn.ModuleList()
        for i in range(self.levels - 2, -1, -1):
            self.decoders.append(
                nn.Sequential(
                    _conv_norm_relu(widths[i + 1] + widths[i], widths[i], 1, stride=1, make_norm=make_norm, bias=bias),
                    SeparableBlock(widths[i], 1, norm, use_dropout=False),
                )
            )

        # Head: 2x2 sub-pixels from the 1/2 level, then one 3x3 at full size that sees the RGB input again.
        head_c = 4
        self.to_full = nn.Conv2d(widths[0], head_c * 4, 1)
        self.shuffle = nn.PixelShuffle(2)
        self.refine = nn.Conv2d(head_c + input_nc, output_nc, 3, padding=1)

    def multiple(self) -> int:
        """One exact halving per level."""
        return int(2**self.levels)

    def core(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder, decoder with skips, sub-pixel head, full-size refinement, tanh."""
        skips: list[torch.Tensor] = []
        y = x
        for enc in self.encoders:
            y = enc(y)
            skips.append(y)
        y = skips.pop()
        for dec in self.decoders:
            skip = skips.pop()
            y = functional.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
            y = dec(torch.cat([y, skip], 1))
        full = functional.relu(self.shuffle(self.to_full(y)))
        return torch.tanh(self.refine(torch.cat([full, x], 1)))
