"""The object-weighted loss (``loss.object_weight``): gradients inside boxes scale by the factor, outside not."""

from __future__ import annotations

from typing import Literal

import pytest
import torch

from tests.core.train.tiny import tiny_pix2pix
from thermal_synth_core.train.config import LossConfig, TrainConfig
from thermal_synth_core.train.losses import GANLoss, patch_weights, warm_weighted_l1
from thermal_synth_core.train.pix2pix import Pix2PixTask
from thermal_synth_core.train.stream import Batch

CPU = torch.device("cpu")


def _target_fake_objects() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 1 x 1 x 8 x 8 target (warm left half), a fake off by 0.5 everywhere, and a box over rows 2-5, cols 1-4."""
    real = torch.full((1, 1, 8, 8), -1.0)
    real[..., :4] = 1.0
    fake = (real - 0.5).requires_grad_(True)
    objects = torch.zeros((1, 1, 8, 8))
    objects[..., 2:6, 1:5] = 1.0
    return real, fake, objects


@pytest.mark.parametrize("warm_weight", [0.0, 4.0])
@pytest.mark.parametrize("object_weight", [1.0, 9.0])
def test_l1_gradient_inside_boxes_grows_by_the_factor_and_is_unchanged_outside(
    warm_weight: float, object_weight: float
) -> None:
    real, fake, objects = _target_fake_objects()
    (plain,) = torch.autograd.grad(warm_weighted_l1(fake, real, warm_weight, 0.6), fake)
    loss = warm_weighted_l1(fake, real, warm_weight, 0.6, objects=objects, object_weight=object_weight)
    (weighted,) = torch.autograd.grad(loss, fake)
    inside = objects.bool()
    assert torch.all(plain.abs() > 0)
    torch.testing.assert_close(weighted[inside], plain[inside] * (1.0 + object_weight))
    torch.testing.assert_close(weighted[~inside], plain[~inside])


@pytest.mark.parametrize("warm_weight", [0.0, 4.0])
def test_l1_with_object_weight_zero_or_no_boxes_is_the_old_loss_exactly(warm_weight: float) -> None:
    real, fake, objects = _target_fake_objects()
    old = warm_weighted_l1(fake, real, warm_weight, 0.6)
    assert torch.equal(warm_weighted_l1(fake, real, warm_weight, 0.6, objects=objects, object_weight=0.0), old)
    assert torch.equal(warm_weighted_l1(fake, real, warm_weight, 0.6, objects=None, object_weight=4.0), old)
    # Boxes that cover nothing change nothing either.
    empty = torch.zeros_like(objects)
    torch.testing.assert_close(warm_weighted_l1(fake, real, warm_weight, 0.6, objects=empty, object_weight=4.0), old)


def test_patch_weights_are_one_plus_weight_times_the_cells_box_coverage() -> None:
    objects = torch.zeros((1, 1, 8, 8))
    objects[..., :4, :4] = 1.0  # the top-left cell fully covered
    objects[..., 4:, 4:6] = 1.0  # half of the bottom-right cell
    weights = patch_weights(objects, torch.zeros((1, 1, 2, 2)), 4.0)
    torch.testing.assert_close(weights, torch.tensor([[[[5.0, 1.0], [1.0, 3.0]]]]))


@pytest.mark.parametrize("mode", ["vanilla", "lsgan"])
def test_gan_gradient_per_patch_scales_by_its_weight_and_ones_give_the_plain_loss(
    mode: Literal["vanilla", "lsgan"],
) -> None:
    gan = GANLoss(mode)
    pred = torch.tensor([[[[0.3, -0.2], [0.1, 0.7]]]], requires_grad=True)
    (plain,) = torch.autograd.grad(gan(pred, True), pred)
    weight = torch.tensor([[[[5.0, 1.0], [1.0, 3.0]]]])
    (weighted,) = torch.autograd.grad(gan(pred, True, weight), pred)
    torch.testing.assert_close(weighted, plain * weight)
    torch.testing.assert_close(gan(pred, False, torch.ones_like(pred)), gan(pred, False))


def _config(object_weight: float) -> TrainConfig:
    return tiny_pix2pix(warm_weight=4.0, object_weight=object_weight)


def _batch(with_objects: bool) -> Batch:
    g = torch.Generator().manual_seed(0)
    thermal = torch.full((2, 1, 64, 64), -0.8)
    thermal[:, :, 16:40, 20:44] = 0.9
    batch: Batch = {"rgb": torch.rand((2, 3, 64, 64), generator=g) * 2 - 1, "thermal": thermal}
    if with_objects:
        objects = torch.zeros((2, 1, 64, 64))
        objects[:, :, 16:40, 20:30] = 1.0
        batch["objects"] = objects
    return batch


def _step(object_weight: float, with_objects: bool) -> tuple[Pix2PixTask, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    task = Pix2PixTask(_config(object_weight), CPU)
    return task, task.train_step(_batch(with_objects))


def _weights(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_a_training_step_with_object_weight_zero_is_the_old_step_exactly() -> None:
    old_task, old = _step(0.0, with_objects=False)
    task, new = _step(0.0, with_objects=True)  # boxes in the batch, but the term is off
    assert torch.equal(_weights(task.G), _weights(old_task.G))
    assert {k: float(v) for k, v in new.items()} == {k: float(v) for k, v in old.items()}


def test_object_weight_changes_the_generator_terms_and_update_only() -> None:
    old_task, old = _step(0.0, with_objects=True)
    task, new = _step(4.0, with_objects=True)
    assert float(new["G_L1"]) > float(old["G_L1"])
    assert float(new["G_GAN"]) != pytest.approx(float(old["G_GAN"]))
    assert float(new["D_real"]) == float(old["D_real"])  # D's update is not weighted
    assert torch.equal(_weights(task.D), _weights(old_task.D))
    assert not torch.equal(_weights(task.G), _weights(old_task.G))


def test_object_weight_config_is_checked_at_start_up() -> None:
    with pytest.raises(ValueError, match="object_weight must be >= 0"):
        LossConfig(object_weight=-1.0)
    with pytest.raises(ValueError, match="object_classes must name"):
        LossConfig(object_weight=1.0, object_classes=())
    with pytest.raises(ValueError, match="object_weight needs aligned pairs"):
        TrainConfig(mode="cyclegan", loss=LossConfig(object_weight=1.0))
