"""Model size and cost: parameter counts and multiply-adds (MACs) per forward pass.

MACs are counted with forward hooks on the convolution and linear layers, which
carry practically all the arithmetic of these image-to-image networks
(norms, activations and padding are a rounding error and are left out).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["count_macs", "count_parameters"]


def count_parameters(net: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers such as BatchNorm running statistics are not parameters)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


def count_macs(net: nn.Module, input_shape: tuple[int, int, int, int]) -> int:
    """Multiply-adds of one forward pass on an input of ``input_shape`` (N, C, H, W), per sample."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += (output.numel() // output.shape[0]) * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.ConvTranspose2d):
            kh, kw = module.kernel_size
            x = inputs[0]
            total += (x.numel() // x.shape[0]) * (module.out_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += (output.numel() // output.shape[0]) * module.in_features

    # Shapes are all that is needed: run a copy on the meta device (no memory, no arithmetic).
    shadow = copy.deepcopy(net).to("meta").eval()
    handles = [m.register_forward_hook(hook) for m in shadow.modules()]
    try:
        with torch.no_grad():
            shadow(torch.zeros(input_shape, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return total
