"""A model file's generator: the network its :class:`~thermal_synth_core.modelfile.ModelSpec` describes, with weights.

:mod:`thermal_synth_core.modelfile` reads and validates the file (header, spec,
weights) without any network code; here the spec becomes a network, and the
weights are checked against that network's parameter names and shapes before
they are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from thermal_synth_core.errors import ArchitectureError, ModelFileError
from thermal_synth_core.modelfile import ModelSpec, apply_run_mode, load_model
from thermal_synth_core.models.base import Generator
from thermal_synth_core.models.registry import build_generator

__all__ = ["build_spec_generator", "compare_state", "load_generator"]

#: Initialisation settings a training run may record in ``arch_kwargs``; they do not matter for loaded weights.
_INIT_KEYS = ("init_type", "init_gain")


def build_spec_generator(spec: ModelSpec) -> Generator:
    """A freshly initialised generator of ``spec``'s architecture (weights still to be loaded)."""
    kwargs = {k: v for k, v in spec.arch_kwargs.items() if k not in _INIT_KEYS}
    try:
        return build_generator(spec.arch, input_nc=spec.input_nc, output_nc=spec.output_nc, **kwargs)
    except ArchitectureError as exc:
        raise ModelFileError(f"cannot build the model's architecture: {exc}") from exc


def compare_state(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]
) -> tuple[list[str], list[str], list[tuple[str, tuple[int, ...], tuple[int, ...]]]]:
    """How a state dict misses a network's: missing names, unexpected names, (name, shape, expected shape)."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        (k, tuple(state[k].shape), tuple(expected[k].shape))
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    )
    return missing, unexpected, shapes


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, ModelSpec]:
    """Load a model file into its generator, in the spec's run mode (normally eval), on ``device``."""
    path = Path(path)
    spec, state = load_model(path)
    # Compare shapes on the meta device first: arguments such as ngf come from the file, and a
    # corrupt one must not allocate a network of many GB before the mismatch is noticed.
    with torch.device("meta"):
        expected = build_spec_generator(spec).state_dict()
    missing, unexpected, shapes = compare_state(state, expected)
    wrong = [f"{k} {got} vs {want}" for k, got, want in shapes]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_some(missing)}")
        if unexpected:
            parts.append(f"unexpected {_some(unexpected)}")
        if wrong:
            parts.append(f"wrong shape {_some(wrong)}")
        raise ModelFileError(f"{path}: weights do not fit architecture {spec.arch}: " + "; ".join(parts))
    net = build_spec_generator(spec)  # now as large as the weights the file holds, no larger
    net.load_state_dict(state)
    net.to(device)
    apply_run_mode(net, spec.run_mode)
    return net, spec


def _some(items: list[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
