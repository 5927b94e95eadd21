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
from typing import Any

import numpy as np
import torch

from thermal_synth_core.errors import TrainingError
from thermal_synth_core.fileio import atomic_path

__all__ = ["capture_rng", "find_resume_checkpoint", "load_checkpoint", "restore_rng", "save_checkpoint"]

CHECKPOINT_FORMAT = "thermal-synth-train-checkpoint/1"


def capture_rng() -> dict[str, Any]:
    """The state of every random generator training touches (torch CPU/CUDA, NumPy, Python)."""
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
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


def restore_rng(state: dict[str, Any]) -> None:
    """Restore generators captured by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"]))
    random.setstate(_as_tuple(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_as_tuple(v) for v in value)
    return value


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus a format tag) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
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
        state = torch.load(path, map_location="cpu", weights_only=True)
    except TrainingError:
        raise
    except Exception as exc:  # a damaged archive or pickle fails in many ways inside zipfile and torch
        raise TrainingError(
            f"checkpoint {path} is corrupt or not a thermal-synth checkpoint ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); remove it or start with resume=never"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path} is not a thermal-synth training checkpoint (format tag missing or foreign)")
    return state


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
