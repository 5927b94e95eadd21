"""The generator base class: any input size, by padding to the architecture's multiple and cropping back.

U-Nets halve the image 7-9 times and ResNets twice, so they need sides divisible
by 128/256/512 or 4; FLIR's 640x512 is not divisible by 256. Rather than resize
(which would change the user's aspect ratio), :meth:`Generator.forward` pads the
input (reflect, or replicate where the image is too small to reflect), runs the
network and crops the output back to the input's height and width. The padding
lives in ``forward`` and holds no parameters, so state-dict names stay exactly
those of the reference implementation.
"""

from __future__ import annotations

from typing import ClassVar, Final

import torch
from torch import nn
from torch.nn import functional

from thermal_synth_core.errors import ArchitectureError

__all__ = ["PAD_MODES", "Generator", "pad_amounts"]

PAD_MODES: Final = ("reflect", "replicate")


def pad_amounts(size: int, multiple: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that brings ``size`` up to a multiple, split as evenly as possible."""
    total = (-size) % multiple
    return total // 2, total - total // 2


class Generator(nn.Module):
    """Base of every generator: ``forward`` accepts any H x W; subclasses implement :meth:`core`."""

    #: Sides of the tensor that :meth:`core` sees must be divisible by this.
    size_multiple: ClassVar[int] = 1

    def __init__(self, input_nc: int, output_nc: int, pad_mode: str = "reflect") -> None:
        super().__init__()
        if pad_mode not in PAD_MODES:
            raise ArchitectureError(f"unknown pad_mode {pad_mode!r}; valid: {', '.join(PAD_MODES)}")
        if input_nc < 1 or output_nc < 1:
            raise ArchitectureError(f"input_nc and output_nc must be >= 1, got {input_nc} and {output_nc}")
        self.input_nc = input_nc
        self.output_nc = output_nc
        self.pad_mode = pad_mode

    def multiple(self) -> int:
        """The multiple H and W are padded to (an instance may need more than the class default)."""
        return self.size_multiple

    def core(self, x: torch.Tensor) -> torch.Tensor:
        """The network proper, on an input whose sides are multiples of :meth:`multiple`."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad ``x`` (N, C, H, W) to the architecture's multiple, run :meth:`core`, crop back to H x W."""
        h, w = x.shape[-2], x.shape[-1]
        m = self.multiple()
        top, bottom = pad_amounts(h, m)
        left, right = pad_amounts(w, m)
        if top + bottom + left + right == 0:
            return self.core(x)
        # Reflection needs the pad to be smaller than the side; tiny inputs fall back to replicate.
        mode = self.pad_mode if max(top, bottom) < h and max(left, right) < w else "replicate"
        y = self.core(functional.pad(x, (left, right, top, bottom), mode=mode))
        return y[..., top : top + h, left : left + w]
