"""Training objectives: the GAN losses of Pix2Pix/CycleGAN plus thermal-aware reconstruction terms.

Images are tensors in [-1, 1] (the generators' tanh range). The thermal-aware
terms the original implementation lacks:

* :func:`warm_weighted_l1` raises the weight of pixels that are warm in the
  target, so small warm objects (pedestrians, which the study found missing)
  cost more than the large cold background when they are wrong;
* :func:`ssim_loss` (1 - SSIM) rewards local structure rather than absolute
  values, which suits AGC-normalised thermal targets;
* the object weight (``loss.object_weight``, off by default): pixels inside the
  annotated boxes of chosen classes (people by default) weigh ``1 + object_weight``
  in the L1 term (:func:`warm_weighted_l1`'s ``objects``) and, through
  :func:`patch_weights`, PatchGAN patches weigh ``1 + object_weight`` times the
  fraction of their cell covered by boxes in the generator's GAN term. Neither is
  renormalised: outside the boxes the gradient is exactly that of the plain term,
  inside it is ``1 + object_weight`` times larger.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from thermal_synth_core.metrics import SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW

__all__ = ["GANLoss", "gaussian_window", "patch_weights", "ssim_loss", "ssim_torch", "warm_weighted_l1"]


class GANLoss(nn.Module):
    """Adversarial loss against a constant real/fake target: ``vanilla`` (BCE on logits) or ``lsgan`` (MSE)."""

    def __init__(self, mode: Literal["vanilla", "lsgan"] = "vanilla") -> None:
        super().__init__()
        self.mode = mode
        self.criterion: nn.Module = nn.BCEWithLogitsLoss() if mode == "vanilla" else nn.MSELoss()

    def forward(
        self, prediction: torch.Tensor, target_is_real: bool, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Loss of ``prediction`` (discriminator output) against all-real or all-fake labels.

        ``weight`` (broadcastable to ``prediction``, e.g. :func:`patch_weights`) scales each
        patch's loss before the mean; None is the plain mean.
        """
        target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
        if weight is None:
            loss: torch.Tensor = self.criterion(prediction, target)
            return loss
        if self.mode == "vanilla":
            per_patch = F.binary_cross_entropy_with_logits(prediction, target, reduction="none")
        else:
            per_patch = F.mse_loss(prediction, target, reduction="none")
        return (weight * per_patch).mean()


def patch_weights(objects: torch.Tensor, prediction: torch.Tensor, object_weight: float) -> torch.Tensor:
    """Per-patch weights ``1 + object_weight * coverage`` for a PatchGAN ``prediction`` (N x 1 x h x w).

    ``objects`` (N x 1 x H x W, 1 inside boxes) is averaged over the cells of an even
    split of the frame into the h x w output grid: each patch's coverage is that of its
    cell, a simple stand-in for its (larger, overlapping) receptive field centred there.
    """
    coverage = F.adaptive_avg_pool2d(objects.to(prediction.dtype), (prediction.shape[-2], prediction.shape[-1]))
    return 1.0 + object_weight * coverage


def warm_weighted_l1(
    fake: torch.Tensor,
    real: torch.Tensor,
    warm_weight: float,
    threshold: float,
    *,
    objects: torch.Tensor | None = None,
    object_weight: float = 0.0,
) -> torch.Tensor:
    """L1 where target pixels warmer than ``threshold`` (in [0, 1]) weigh up to ``1 + warm_weight``.

    With ``warm_weight == 0`` this is exactly ``F.l1_loss``. The weighted mean is
    normalised by the mean warm weight so the loss scale stays comparable.

    ``objects`` (N x 1 x H x W, 1 inside object boxes) with ``object_weight > 0``
    multiplies the pixels inside boxes by ``1 + object_weight`` without renormalising,
    so gradients outside the boxes stay exactly those of the loss without it. Without
    them (or with weight 0) the result is the same computation as before.
    """
    diff = (fake - real).abs()
    if objects is not None and object_weight > 0.0:
        diff = diff * (1.0 + object_weight * objects.to(diff.dtype))
    if warm_weight == 0.0:
        return diff.mean()
    real01 = (real.detach() + 1.0) * 0.5
    warmth = ((real01 - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)
    weight = 1.0 + warm_weight * warmth
    return (weight * diff).sum() / weight.sum()


def gaussian_window(
    size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA, channels: int = 1, device: torch.device | None = None
) -> torch.Tensor:
    """A normalised 2-D Gaussian kernel shaped for a depthwise ``conv2d``."""
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    window = g[:, None] * g[None, :]
    return window.expand(channels, 1, size, size).contiguous()


def ssim_torch(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0, window: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean SSIM of two N x C x H x W batches in [0, data_range] (Gaussian 11x11, sigma 1.5; valid region).

    The same SSIM as :func:`thermal_synth_core.metrics.ssim` (shared parameters; equal
    up to float rounding on single-channel images, tests/core/test_ssim_parity.py),
    differentiable, on the device of ``a``.
    """
    channels = a.shape[1]
    if window is None or window.shape[0] != channels:
        window = gaussian_window(channels=channels, device=a.device)
    window = window.to(dtype=a.dtype)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    return ssim_map.mean()


def ssim_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` of generator outputs and targets given in [-1, 1]."""
    return 1.0 - ssim_torch((fake + 1.0) * 0.5, (real + 1.0) * 0.5)
