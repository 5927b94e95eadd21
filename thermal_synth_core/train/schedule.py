"""Learning-rate schedule: constant, then linear decay to zero (as in Pix2Pix/CycleGAN, in steps not epochs)."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["linear_decay", "linear_decay_factor"]


def linear_decay_factor(step: int, total_steps: int, decay_start: float) -> float:
    """LR multiplier at ``step``: 1 until ``decay_start * total_steps``, then linear to 0 at ``total_steps``."""
    start = int(decay_start * total_steps)
    if step < start:
        return 1.0
    remaining = max(total_steps - start, 1)
    return max(0.0, 1.0 - (step - start) / remaining)


def linear_decay(optimizer: torch.optim.Optimizer, total_steps: int, decay_start: float) -> LambdaLR:
    """A scheduler stepping once per training step with :func:`linear_decay_factor`."""
    return LambdaLR(optimizer, lambda step: linear_decay_factor(step, total_steps, decay_start))
