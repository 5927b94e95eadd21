"""The thermal-aware loss terms change the gradient the way their names promise."""

from __future__ import annotations

from typing import Literal

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from thermal_synth_core.train.losses import GANLoss, ssim_loss, warm_weighted_l1

WARM, COLD = 1.0, -1.0  # target values in the generators' [-1, 1] range: hottest and coldest


def _target_and_fake() -> tuple[torch.Tensor, torch.Tensor]:
    """A 1 x 1 x 4 x 4 target, left half warm and right half cold; the fake is off by 0.5 everywhere."""
    real = torch.full((1, 1, 4, 4), COLD)
    real[..., :2] = WARM
    fake = (real - 0.5).requires_grad_(True)
    return real, fake


def test_warm_weighted_l1_without_weight_is_plain_l1() -> None:
    real, fake = _target_and_fake()
    torch.testing.assert_close(warm_weighted_l1(fake, real, 0.0, 0.6), F.l1_loss(fake, real))


@pytest.mark.parametrize("warm_weight", [1.0, 4.0])
def test_warm_pixels_get_a_gradient_larger_by_the_warm_weight(warm_weight: float) -> None:
    """Equally wrong warm and cold pixels: the warm one's gradient is ``1 + warm_weight`` times the cold one's."""
    real, fake = _target_and_fake()
    (grad,) = torch.autograd.grad(warm_weighted_l1(fake, real, warm_weight, 0.6), fake)
    warm_grad = grad[..., :2].abs()
    cold_grad = grad[..., 2:].abs()
    assert torch.all(cold_grad > 0)
    torch.testing.assert_close(warm_grad, cold_grad * (1.0 + warm_weight))


def test_warmth_ramps_from_the_threshold() -> None:
    """Pixels at the threshold weigh 1, pixels halfway between the threshold and the hottest 1 + w/2."""
    threshold, w = 0.6, 2.0
    at_threshold, halfway, hottest = (2 * v - 1 for v in (threshold, (threshold + 1) / 2, 1.0))
    real = torch.tensor([at_threshold, halfway, hottest]).view(1, 1, 1, 3)
    fake = (real + 0.25).requires_grad_(True)
    (grad,) = torch.autograd.grad(warm_weighted_l1(fake, real, w, threshold), fake)
    grads = grad.flatten()
    torch.testing.assert_close(grads / grads[0], torch.tensor([1.0, 1.0 + w / 2, 1.0 + w]))


def test_warm_weighted_l1_keeps_the_scale_of_l1() -> None:
    """Normalised by the mean weight: a uniform error costs the same whatever the weight."""
    real, _ = _target_and_fake()
    fake = real + 0.5
    for w in (0.0, 1.0, 10.0):
        torch.testing.assert_close(warm_weighted_l1(fake, real, w, 0.6), torch.tensor(0.5))


def _textured(seed: int = 0) -> torch.Tensor:
    """A 1 x 1 x 32 x 32 target in [-1, 1] with structure at several scales."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand((1, 1, 8, 8), generator=g), size=(32, 32), mode="bilinear")
    return (coarse * 1.6 - 0.8 + 0.1 * torch.rand((1, 1, 32, 32), generator=g)).clamp(-1, 1)


def test_ssim_loss_is_zero_for_a_perfect_match_and_positive_otherwise() -> None:
    real = _textured()
    assert float(ssim_loss(real, real)) == pytest.approx(0.0, abs=1e-5)
    assert float(ssim_loss(torch.zeros_like(real), real)) > 0.5


def test_ssim_loss_gradient_pushes_structure() -> None:
    """From a flat grey image the descent direction draws the target's structure (its local contrast)."""
    real = _textured()
    fake = torch.full_like(real, float(real.mean())).requires_grad_(True)
    (grad,) = torch.autograd.grad(ssim_loss(fake, real), fake)
    descent = -grad.flatten()
    structure = (real - F.avg_pool2d(F.pad(real, (5, 5, 5, 5), mode="replicate"), 11, stride=1)).flatten()
    correlation = torch.corrcoef(torch.stack([descent, structure]))[0, 1]
    assert correlation > 0.5


def test_ssim_loss_cares_about_structure_more_than_l1() -> None:
    """A brightness offset (structure kept) costs SSIM less than a same-L1 noise (structure lost); L1 cannot tell."""
    real = _textured()
    g = torch.Generator().manual_seed(1)
    offset = (real + 0.2).clamp(-1, 1)
    l1 = float(F.l1_loss(offset, real))
    noise = real + l1 * torch.sign(torch.randn(real.shape, generator=g))
    assert float(F.l1_loss(noise, real)) == pytest.approx(l1, rel=1e-5)
    assert float(ssim_loss(offset, real)) < 0.5 * float(ssim_loss(noise, real))


@pytest.mark.parametrize("mode", ["vanilla", "lsgan"])
def test_gan_loss_is_low_when_the_prediction_matches_the_target(mode: Literal["vanilla", "lsgan"]) -> None:
    gan = GANLoss(mode)
    confident_real = torch.full((1, 1, 2, 2), 1.0 if mode == "lsgan" else 10.0)
    assert float(gan(confident_real, True)) < 0.01
    assert float(gan(confident_real, False)) > 0.9
