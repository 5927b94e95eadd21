"""Single-process, multi-GPU and multi-node training through ``torchrun`` (DDP).

``torchrun --nproc_per_node N -m training.train ...`` sets RANK, WORLD_SIZE and
LOCAL_RANK; :func:`setup` then joins the process group (NCCL on CUDA, gloo on
CPU). Only rank 0 logs, validates and saves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from thermal_synth_core.errors import TrainingError

__all__ = ["DistInfo", "resolve_device", "setup", "teardown"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether a process group is in use."""
        return self.world_size > 1


def resolve_device(choice: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("device=cuda but no CUDA GPU is available; use device=cpu or device=auto")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def setup(device_choice: str) -> DistInfo:
    """Join the torchrun process group if there is one; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_choice, local_rank)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def teardown() -> None:
    """Leave the process group (no-op when not distributed)."""
    if dist.is_initialized():
        dist.destroy_process_group()
