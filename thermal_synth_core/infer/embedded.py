"""The embedded default model: package data used when no model path is given.

``thermal_synth_core/assets/default_model.safetensors`` ships with the package
(a ``fast_unet`` trained on procedural street scenes, produced by the training
issue). ``None``, ``""`` and ``"default"`` all mean that file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from thermal_synth_core.errors import ModelFileError

__all__ = ["DEFAULT_MODEL_NAMES", "default_model_path", "resolve_model_path"]

#: Values of a model argument that select the embedded model.
DEFAULT_MODEL_NAMES: Final = ("", "default")


def default_model_path() -> Path:
    """Where the embedded default model lives inside the installed package."""
    return Path(__file__).resolve().parent.parent / "assets" / "default_model.safetensors"


def resolve_model_path(value: str | Path | None) -> Path:
    """A model argument as a path: the embedded default for None/''/'default', else the path itself (checked)."""
    if value is None or (isinstance(value, str) and value.strip() in DEFAULT_MODEL_NAMES):
        path = default_model_path()
        if not path.is_file():
            raise ModelFileError(
                f"no embedded default model is installed (expected {path}); pass a model file with --model PATH "
                "(train one with 'python -m training.train' or convert one with 'thermal-synth import-reference')"
            )
        return path
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelFileError(
            f"model file not found: {path}" if not path.exists() else f"model path is not a file: {path}"
        )
    return path
