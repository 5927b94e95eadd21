"""What Pix2Pix and CycleGAN training share: device placement, AMP, DDP, schedules and state for resume.

A task owns its networks (``networks``: name -> module, the plain modules whose
weights are saved) and optimisers; ``run`` holds the versions used in the
forward pass (DDP-wrapped and/or compiled), ``raw`` the undistributed ones (for
passes whose gradients are not synchronised, such as G's loss through a frozen D).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, TypedDict

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LRScheduler

from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.image_pool import ImagePoolState
from thermal_synth_core.train.schedule import linear_decay
from thermal_synth_core.train.stream import Batch

__all__ = ["Task", "TaskState", "TorchState", "adam", "resolve_amp", "uses_channels_last"]

#: Devices with a fused Adam kernel in PyTorch.
_FUSED_ADAM_DEVICES = ("cpu", "cuda")

#: A ``state_dict()`` of PyTorch's own (module, optimiser, scheduler, grad scaler): free-form to us,
#: written and read back by PyTorch as it is.
TorchState = dict[str, Any]


class TaskState(TypedDict):
    """Everything of a task needed to continue exactly (the ``task`` entry of a checkpoint)."""

    networks: dict[str, TorchState]
    optimizers: dict[str, TorchState]
    schedulers: dict[str, TorchState]
    scaler: TorchState
    #: Task-specific state by name (CycleGAN's image pools; empty for Pix2Pix).
    extra: dict[str, ImagePoolState]


def adam(params: Iterable[nn.Parameter], cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam with the configured learning rate and betas (the reference's choice for both GANs).

    With ``optim.fused`` the whole update is one kernel per parameter group instead of about ten
    tensor ops per parameter (PyTorch's default on the CPU is that per-parameter loop): the same
    maths, rounded differently only in the last bits, and a large share of a step for the U-Net's
    54M parameters.
    """
    fused = cfg.optim.fused and device.type in _FUSED_ADAM_DEVICES
    return torch.optim.Adam(
        params, lr=cfg.optim.lr, betas=(cfg.optim.beta1, cfg.optim.beta2), fused=True if fused else None
    )


def uses_channels_last(cfg: TrainConfig, device: torch.device) -> bool:
    """Whether the networks run in channels_last: where configured, and only on CUDA.

    On CUDA, channels_last feeds tensor cores without layout transposes. On the CPU, oneDNN's fp32
    training kernels are slower in it for these networks (weight gradients come back in the other
    layout and are copied each step; measured with ``thermal-synth bench train``), so the CPU keeps NCHW.
    """
    return cfg.channels_last and device.type == "cuda"


def resolve_amp(choice: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype (None: fp32). On CUDA ``auto`` means bf16 where supported, else fp16; on CPU, fp32."""
    if choice == "fp32":
        return None
    if choice == "bf16":
        return torch.bfloat16
    if choice == "fp16":
        return torch.float16
    if device.type != "cuda":
        return None  # CPU autocast changes numerics and is rarely faster for convolutions
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class Task:
    """Base of the training tasks; subclasses build networks/optimisers and define ``train_step``."""

    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        self.amp_dtype = resolve_amp(cfg.amp, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        self.memory_format = torch.channels_last if uses_channels_last(cfg, device) else torch.contiguous_format
        self.schedulers: dict[str, LRScheduler] = {}
        self.run: dict[str, nn.Module] = {}
        self.raw: dict[str, nn.Module] = {}

    # -- set-up -------------------------------------------------------------------------------

    def place_networks(self) -> None:
        """Move every network to the device and memory format (before optimisers are built)."""
        for net in self.networks.values():
            net.to(self.device)
            net.to(memory_format=self.memory_format)  # type: ignore[call-overload]  # missing from torch's stubs

    def finish_setup(self) -> None:
        """Schedulers, then DDP/compile wrappers (after optimisers exist)."""
        for name, opt in self.optimizers.items():
            self.schedulers[name] = linear_decay(opt, self.cfg.steps, self.cfg.optim.decay_start)
        distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        for name, net in self.networks.items():
            run: nn.Module = net
            if distributed:
                ids = [self.device.index] if self.device.type == "cuda" else None
                run = DistributedDataParallel(net, device_ids=ids)
            raw: nn.Module = net
            if self.cfg.compile:
                run = torch.compile(run)  # type: ignore[assignment]
                raw = torch.compile(net) if distributed else run  # type: ignore[assignment]
            self.run[name] = run
            self.raw[name] = raw

    # -- per step -----------------------------------------------------------------------------

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """A batch tensor on the device in the networks' memory format."""
        return x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """Mixed precision where configured (CUDA), else a no-op."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward and optimiser step through the grad scaler (a plain step when it is disabled)."""
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(optimizer)

    def end_step(self) -> None:
        """After every optimiser of the step ran: update the scaler and advance the LR schedules."""
        self.scaler.update()
        for scheduler in self.schedulers.values():
            scheduler.step()

    @staticmethod
    def set_requires_grad(net: nn.Module, flag: bool) -> None:
        """Freeze or unfreeze a network (D while G learns through it)."""
        for p in net.parameters():
            p.requires_grad_(flag)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimisation step; returns detached loss tensors."""
        raise NotImplementedError

    @property
    def generator(self) -> nn.Module:
        """The RGB -> thermal network that is exported as the model file."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """Current learning rate (of the first optimiser)."""
        first = next(iter(self.optimizers.values()))
        return float(first.param_groups[0]["lr"])

    # -- resume -------------------------------------------------------------------------------

    def extra_state(self) -> dict[str, ImagePoolState]:
        """Task-specific state beyond networks/optimisers (e.g. CycleGAN's image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, ImagePoolState]) -> None:
        """Restore :meth:`extra_state`."""

    def state_dict(self) -> TaskState:
        """Everything of the task needed to continue exactly."""
        return {
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: TaskState) -> None:
        """Restore :meth:`state_dict` output."""
        for k, net in self.networks.items():
            net.load_state_dict(state["networks"][k])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra", {}))
