"""Small model files for tests: a real generator with random weights and a full spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.modelfile import ModelSpec, save_model
from thermal_synth_core.models import build_generator


def make_model(
    path: Path,
    arch: str = "fast_unet",
    *,
    ngf: int = 4,
    input_size: tuple[int, int] = (64, 48),
    output_size: tuple[int, int] | None = None,
    output_bits: int = 8,
    alignment: Alignment | None = None,
    run_mode: str = "eval",
    norm: str = "batch",
    seed: int = 0,
    **spec_extra: Any,
) -> tuple[Path, nn.Module, ModelSpec]:
    """Write a model file with a seeded random generator; returns (path, generator in eval mode, spec)."""
    torch.manual_seed(seed)
    arch_kwargs: dict[str, Any] = {"ngf": ngf, "norm": norm}
    # Xavier init spreads outputs over [-1, 1] like a trained model (the default N(0, 0.02) gives ~0
    # and would make parity checks trivial); the deep ResNets need a smaller gain not to saturate.
    gain = {"resnet_6blocks": 0.9, "resnet_9blocks": 0.8}.get(arch, 1.0)
    net = build_generator(arch, init_type="xavier", init_gain=gain, **arch_kwargs)
    # Non-trivial BatchNorm statistics, so eval vs. train mode differ visibly.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.running_mean is not None
            assert m.running_var is not None
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    spec = ModelSpec(
        arch=arch,
        arch_kwargs=arch_kwargs,
        input_size=input_size,
        output_size=output_size or input_size,
        output_bits=output_bits,
        alignment=alignment,
        run_mode=run_mode,
        provenance={"trained_by": "tests", "config": {"lr": 2e-4}, "step": 7, "notes": "random weights"},
        **spec_extra,
    )
    save_model(path, net, spec)
    return path, net.eval(), spec
