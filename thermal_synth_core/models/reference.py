"""Import generator checkpoints saved by the original pytorch-CycleGAN-and-pix2pix code.

Those checkpoints (``latest_net_G.pth``, ``<epoch>_net_G_A.pth``) are plain
state dicts, sometimes with a ``module.`` prefix from ``DataParallel``. They are
read with ``torch.load(weights_only=True)``, which refuses anything but tensors
and plain containers, so no code inside the file runs. Two quirks of old
checkpoints are handled: InstanceNorm running statistics saved by PyTorch < 0.4
(dropped; the layers never use them) and BatchNorm ``num_batches_tracked``
missing before PyTorch 0.4.1 (filled with 0; only used for momentum-free BN).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import torch
from torch import nn

from thermal_synth_core.errors import ArchitectureError, ModelFileError
from thermal_synth_core.modelfile import (
    LEGACY_FOV_DEG,
    RUN_MODES,
    ModelSpec,
    ThermalFov,
    apply_run_mode,
    save_model,
)
from thermal_synth_core.models.loading import compare_state
from thermal_synth_core.models.registry import build_generator, generator_info

__all__ = [
    "DEFAULT_FOV_SOURCE",
    "NOMINAL_SIZES",
    "adapt_state_dict",
    "import_reference",
    "load_reference_checkpoint",
]

log = logging.getLogger(__name__)

#: The square size each architecture was designed and usually trained at.
NOMINAL_SIZES: Final = {"unet_128": 128, "unet_256": 256, "unet_512": 512}
_DEFAULT_NOMINAL: Final = 256
#: Where an imported model's field of view comes from without ``--thermal-hfov``: reference pix2pix/CycleGAN
#: thermal models are almost always trained on FLIR ADAS.
DEFAULT_FOV_SOURCE: Final = (
    f"default of import-reference: the FLIR ADAS thermal camera (Tau2 13 mm, {LEGACY_FOV_DEG:g} deg HFOV) assumed"
)


def load_reference_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint as a flat name -> tensor dict, safely (never unpickles arbitrary objects)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # garbage input makes torch.load raise almost anything (KeyError, UnpicklingError, ...)
        raise ModelFileError(
            f"{path}: cannot read it as a PyTorch state_dict with torch.load(weights_only=True): {exc}. "
            "Only plain state_dicts of tensors are accepted (no pickled objects are ever executed)"
        ) from exc
    state = _flatten(raw, path)
    if not state:
        raise ModelFileError(f"{path}: the checkpoint holds no tensors")
    return state


def _flatten(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, Mapping):
        # Some training scripts wrap the state dict: {"state_dict": {...}} or {"model": {...}}.
        for wrapper in ("state_dict", "model", "netG", "net_G"):
            inner = raw.get(wrapper)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                raw = inner
                break
        bad = [str(k) for k, v in raw.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise ModelFileError(f"{path}: not a generator state_dict (non-tensor entries: {', '.join(bad[:5])})")
        return {str(k): v for k, v in raw.items()}
    raise ModelFileError(f"{path}: not a state_dict (found a {type(raw).__name__})")


def adapt_state_dict(state: Mapping[str, torch.Tensor], net: nn.Module, source: str) -> dict[str, torch.Tensor]:
    """Match a reference state dict to ``net``: strip ``module.``, fix old-PyTorch norm entries, check names/shapes."""
    adapted = {k.removeprefix("module."): v for k, v in state.items()}
    expected = net.state_dict()
    instance_norms = {name for name, m in net.named_modules() if isinstance(m, nn.InstanceNorm2d)}
    for key in list(adapted):
        owner, _, leaf = key.rpartition(".")
        if owner in instance_norms and leaf in ("running_mean", "running_var", "num_batches_tracked"):
            del adapted[key]  # InstanceNorm statistics saved by PyTorch < 0.4; never used
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in adapted:
            adapted[key] = torch.zeros_like(value)  # BatchNorm counters missing before PyTorch 0.4.1
    missing, unexpected, shapes = compare_state(adapted, expected)
    wrong = [f"{k}: checkpoint {got}, architecture {want}" for k, got, want in shapes]
    if missing or unexpected or wrong:
        lines = [f"{source}: the checkpoint does not fit the chosen architecture"]
        if missing:
            lines.append(f"missing ({len(missing)}): {_some(missing)}")
        if unexpected:
            lines.append(f"unexpected ({len(unexpected)}): {_some(unexpected)}")
        if wrong:
            lines.append(f"wrong shape ({len(wrong)}): {_some(wrong)}")
        lines.append(
            "check --arch, --ngf, --norm, --input-nc/--output-nc and --dropout/--no-dropout "
            "(dropout shifts layer numbers in the ResNet blocks)"
        )
        raise ModelFileError("\n  ".join(lines))
    return {k: adapted[k].to(expected[k].dtype) for k in expected}


def _some(items: list[str], limit: int = 8) -> str:
    return ", ".join(items[:limit]) + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


def import_reference(
    checkpoint: str | Path,
    out: str | Path,
    *,
    arch: str,
    ngf: int = 64,
    norm: str = "batch",
    input_nc: int = 3,
    output_nc: int = 1,
    use_dropout: bool | None = None,
    mode: str = "eval",
    input_size: tuple[int, int] | None = None,
    output_size: tuple[int, int] | None = None,
    output_bits: int = 8,
    provenance: Mapping[str, Any] | None = None,
    thermal_hfov: float | None = None,
) -> ModelSpec:
    """Convert a reference checkpoint into a thermal-synth model file at ``out``; returns its spec.

    ``thermal_hfov``: horizontal field of view (degrees) of the full thermal frames the checkpoint was
    trained on; None: the FLIR ADAS camera's 45 deg, recorded as an assumption.
    """
    if mode not in RUN_MODES:
        raise ModelFileError(f"unknown mode {mode!r}; valid: {', '.join(RUN_MODES)}")
    if thermal_hfov is not None and (
        not isinstance(thermal_hfov, int | float) or not 0.0 < float(thermal_hfov) < 180.0  # also refuses NaN
    ):
        raise ModelFileError(
            f"--thermal-hfov must be between 0 and 180 degrees (exclusive), got {thermal_hfov!r}: the horizontal "
            "field of view of the thermal camera the checkpoint was trained for (45 for FLIR ADAS)"
        )
    try:
        info = generator_info(arch)
        dropout = info.default_dropout if use_dropout is None else use_dropout
        net = build_generator(arch, input_nc=input_nc, output_nc=output_nc, ngf=ngf, norm=norm, use_dropout=dropout)
    except ArchitectureError as exc:
        raise ModelFileError(f"cannot import {checkpoint}: {exc}") from exc
    state = adapt_state_dict(load_reference_checkpoint(checkpoint), net, str(checkpoint))
    net.load_state_dict(state)
    apply_run_mode(net, mode)
    side = NOMINAL_SIZES.get(arch, _DEFAULT_NOMINAL)
    in_size = input_size or (side, side)
    out_size = output_size or in_size
    # The field of view spans the whole thermal frame the model produces (whatever size it runs at).
    fov = (
        ThermalFov(LEGACY_FOV_DEG, out_size[0], DEFAULT_FOV_SOURCE)
        if thermal_hfov is None
        else ThermalFov(float(thermal_hfov), out_size[0], "--thermal-hfov")
    )
    spec = ModelSpec(
        arch=arch,
        arch_kwargs={"ngf": ngf, "norm": norm, "use_dropout": dropout},
        input_nc=input_nc,
        output_nc=output_nc,
        output_bits=output_bits,
        input_size=in_size,
        output_size=out_size,
        run_mode=mode,
        thermal_fov=fov,
        provenance={
            "trained_by": "pytorch-CycleGAN-and-pix2pix (imported)",
            "source_checkpoint": Path(checkpoint).name,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            **(provenance or {}),
        },
    )
    save_model(out, net, spec)
    log.info("imported %s as %s (%s, mode %s) into %s", checkpoint, arch, norm, mode, out)
    return spec
