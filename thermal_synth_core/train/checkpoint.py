"""Training checkpoints: everything for an exact resume, written atomically, read without unpickling code.

A checkpoint is a ``torch.save`` dict of tensors and plain values (networks,
optimisers, schedulers, grad scaler, image pools, RNG states, step, config) and
is loaded with ``torch.load(weights_only=True)``: a checkpoint file can hold data
only, never code. ``latest.pt`` is rewritten every ``save_every`` steps and at the
end, ``best.pt`` whenever the chosen validation metric improves. Because each
write goes to a temporary file and is renamed, a crash or SIGKILL leaves either
the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path
from typing import NotRequired, TypedDict, cast

import numpy as np
import torch

from thermal_synth_core.errors import TrainingError
from thermal_synth_core.fileio import atomic_path
from thermal_synth_core.train.task import TaskState

__all__ = [
    "BestSoFar",
    "Checkpoint",
    "RngState",
    "capture_rng",
    "find_resume_checkpoint",
    "load_checkpoint",
    "restore_rng",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "thermal-synth-train-checkpoint/1"


class NumpyRngState(TypedDict):
    """NumPy's legacy global generator (MT19937) as plain tensors and numbers."""

    keys: torch.Tensor
    pos: int
    has_gauss: int
    cached_gaussian: float


class RngState(TypedDict):
    """One rank's random generators, as :func:`capture_rng` records them."""

    torch: torch.Tensor
    numpy: NumpyRngState
    #: ``random.getstate()``; a checkpoint may hand its inner tuples back as lists.
    python: tuple[object, ...]
    cuda: NotRequired[list[torch.Tensor]]


class BestSoFar(TypedDict):
    """The best validation value so far and the step it was reached at (None: no validation yet)."""

    step: int | None
    value: float | None


class Checkpoint(TypedDict):
    """A training checkpoint's contents (``latest.pt``, ``best.pt``), besides the format tag."""

    step: int
    #: The resolved TrainConfig as ``config_to_dict`` writes it (compared key by key on resume).
    config: dict[str, object]
    task: TaskState
    #: One entry per rank (a single-process run: one).
    rng: list[RngState]
    best: BestSoFar


def capture_rng() -> RngState:
    """The state of every random generator training touches (torch CPU/CUDA, NumPy, Python)."""
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: RngState = {
        "torch": torch.get_rng_state(),
        # Plain tensors and numbers, so torch.load(weights_only=True) reads them back.
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: RngState) -> None:
    """Restore generators captured by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"]))
    python = _as_tuple(state["python"])
    assert isinstance(python, tuple)
    random.setstate(python)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: object) -> object:
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_as_tuple(v) for v in value)
    return value


def save_checkpoint(path: str | Path, state: Checkpoint) -> None:
    """Write ``state`` (plus a format tag) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; data only, never code."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"checkpoint not found: {path}")
    try:
        # torch.save writes a zip archive with a CRC-32 per record; torch.load does not check them,
        # so flipped bits in a tensor or in the pickled step would load as if nothing had happened.
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
        if damaged is not None:
            raise TrainingError(
                f"checkpoint {path} is corrupt (checksum mismatch in {damaged}); remove it or start with resume=never"
            )
        state: object = torch.load(path, map_location="cpu", weights_only=True)
    except TrainingError:
        raise
    except Exception as exc:  # a damaged archive or pickle fails in many ways inside zipfile and torch
        raise TrainingError(
            f"checkpoint {path} is corrupt or not a thermal-synth checkpoint ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); remove it or start with resume=never"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path} is not a thermal-synth training checkpoint (format tag missing or foreign)")
    return cast(Checkpoint, state)  # the format tag vouches for the layout save_checkpoint wrote


def find_resume_checkpoint(out_dir: Path, resume: str) -> Path | None:
    """Which checkpoint to resume from: ``auto`` -> ``out_dir/checkpoints/latest.pt`` if present."""
    if resume == "never":
        return None
    if resume == "auto":
        latest = out_dir / "checkpoints" / "latest.pt"
        return latest if latest.is_file() else None
    path = Path(resume).expanduser()
    if not path.is_file():
        raise TrainingError(f"resume={resume}: no such checkpoint file (use resume=auto, resume=never or a .pt path)")
    return path
