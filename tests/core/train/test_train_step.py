"""One Pix2Pix training step: each loss weight reaches the generator's update (none is silently ignored)."""

from __future__ import annotations

import pytest
import torch

from tests.core.train.tiny import tiny_pix2pix
from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.pix2pix import Pix2PixTask
from thermal_synth_core.train.stream import Batch

CPU = torch.device("cpu")


def _config(*, lambda_ssim: float, warm_weight: float) -> TrainConfig:
    return tiny_pix2pix(lambda_ssim=lambda_ssim, warm_weight=warm_weight)


def _batch() -> Batch:
    """RGB noise; a thermal target with a warm square on a cold background."""
    g = torch.Generator().manual_seed(0)
    thermal = torch.full((2, 1, 64, 64), -0.8)
    thermal[:, :, 16:40, 20:44] = 0.9
    return {"rgb": torch.rand((2, 3, 64, 64), generator=g) * 2 - 1, "thermal": thermal}


def _step(cfg: TrainConfig) -> tuple[Pix2PixTask, dict[str, torch.Tensor]]:
    """One step from the same seeded initial weights."""
    torch.manual_seed(0)
    task = Pix2PixTask(cfg, CPU)
    losses = task.train_step(_batch())
    return task, losses


def _weights(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.fixture(scope="module")
def plain() -> tuple[Pix2PixTask, dict[str, torch.Tensor]]:
    """The step without the thermal-aware terms."""
    return _step(_config(lambda_ssim=0.0, warm_weight=0.0))


def test_the_step_is_deterministic(plain: tuple[Pix2PixTask, dict[str, torch.Tensor]]) -> None:
    task, losses = _step(_config(lambda_ssim=0.0, warm_weight=0.0))
    assert torch.equal(_weights(task.G), _weights(plain[0].G))
    assert {k: float(v) for k, v in losses.items()} == {k: float(v) for k, v in plain[1].items()}


def test_lambda_ssim_adds_the_ssim_term_to_the_generator_update(
    plain: tuple[Pix2PixTask, dict[str, torch.Tensor]],
) -> None:
    base_task, base_losses = plain
    task, losses = _step(_config(lambda_ssim=5.0, warm_weight=0.0))
    assert "G_SSIM" not in base_losses
    assert float(losses["G_SSIM"]) > 0
    # D learns first, from the same fake: only G's update may change.
    assert torch.equal(_weights(task.D), _weights(base_task.D))
    assert not torch.equal(_weights(task.G), _weights(base_task.G))
    # The term scales with its weight.
    _, double = _step(_config(lambda_ssim=10.0, warm_weight=0.0))
    assert float(double["G_SSIM"]) == pytest.approx(2 * float(losses["G_SSIM"]), rel=1e-5)


def test_warm_weight_changes_the_l1_term_and_the_generator_update(
    plain: tuple[Pix2PixTask, dict[str, torch.Tensor]],
) -> None:
    base_task, base_losses = plain
    task, losses = _step(_config(lambda_ssim=0.0, warm_weight=4.0))
    assert float(losses["G_L1"]) != pytest.approx(float(base_losses["G_L1"]), rel=1e-4)
    assert torch.equal(_weights(task.D), _weights(base_task.D))
    assert not torch.equal(_weights(task.G), _weights(base_task.G))
    # The same weights with the warm square moved to the cold background's value: nothing is warm, no change.
    cfg = _config(lambda_ssim=0.0, warm_weight=4.0)
    torch.manual_seed(0)
    cold_task = Pix2PixTask(cfg, CPU)
    cold = _batch()
    cold["thermal"] = torch.full_like(cold["thermal"], -0.8)
    torch.manual_seed(0)
    reference = Pix2PixTask(_config(lambda_ssim=0.0, warm_weight=0.0), CPU)
    torch.testing.assert_close(cold_task.train_step(cold)["G_L1"], reference.train_step(cold)["G_L1"])
