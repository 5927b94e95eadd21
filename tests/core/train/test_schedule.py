"""The learning-rate schedule: constant, then linear to zero, stepped once per training step."""

from __future__ import annotations

import pytest
import torch

from thermal_synth_core.train.schedule import linear_decay, linear_decay_factor


def test_factor_is_constant_then_linear_to_zero() -> None:
    total, start = 100, 0.6
    assert [linear_decay_factor(s, total, start) for s in (0, 30, 59)] == [1.0, 1.0, 1.0]
    assert linear_decay_factor(60, total, start) == 1.0
    assert linear_decay_factor(80, total, start) == pytest.approx(0.5)
    assert linear_decay_factor(90, total, start) == pytest.approx(0.25)
    assert linear_decay_factor(100, total, start) == 0.0
    assert linear_decay_factor(150, total, start) == 0.0  # never negative past the end


def test_decay_start_at_the_ends() -> None:
    assert linear_decay_factor(0, 10, 0.0) == 1.0
    assert linear_decay_factor(5, 10, 0.0) == pytest.approx(0.5)
    # decay_start=1: the learning rate stays constant for the whole run.
    assert {linear_decay_factor(s, 10, 1.0) for s in range(10)} == {1.0}


def test_scheduler_sets_the_optimiser_lr_each_step() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.2)
    scheduler = linear_decay(opt, total_steps=10, decay_start=0.5)
    seen = []
    for _ in range(10):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert seen == pytest.approx([0.2] * 6 + [0.16, 0.12, 0.08, 0.04])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)
