"""The embedded default model: package data used when no model path is given.

``thermal_synth_core/assets/default_model.safetensors`` ships with the package
(a ``fast_unet`` trained on procedural street scenes, produced by the training
issue). ``None``, ``""`` and ``"default"`` all mean that file: :func:`is_embedded`
is the one test of that, for the library, the CLI, the benchmarks and the node
(whose empty ``model_path`` parameter means the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from thermal_synth_core.errors import ModelFileError

__all__ = ["DEFAULT_MODEL_NAMES", "EMBEDDED_MODEL", "default_model_path", "is_embedded", "resolve_model_path"]

#: What ``--model`` says to select the embedded model (its default on the command line).
EMBEDDED_MODEL: Final = "default"
#: Values of a model argument that select the embedded model (surrounding blanks ignored); None does too.
DEFAULT_MODEL_NAMES: Final = ("", EMBEDDED_MODEL)


def is_embedded(value: str | Path | None) -> bool:
    """True when a model argument (``--model``, the node's ``model_path``, ...) selects the embedded model."""
    return value is None or (isinstance(value, str) and value.strip() in DEFAULT_MODEL_NAMES)


def default_model_path() -> Path:
    """Where the embedded default model lives inside the installed package."""
    return Path(__file__).resolve().parent.parent / "assets" / "default_model.safetensors"


def resolve_model_path(value: str | Path | None) -> Path:
    """A model argument as a path: the embedded default for None/''/'default', else the path itself (checked)."""
    if is_embedded(value):
        path = default_model_path()
        if not path.is_file():
            raise ModelFileError(
                f"no embedded default model is installed (expected {path}); pass a model file with --model PATH "
                "(train one with 'python -m training.train' or convert one with 'thermal-synth import-reference')"
            )
        return path
    assert value is not None  # is_embedded(None)
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelFileError(
            f"model file not found: {path}" if not path.exists() else f"model path is not a file: {path}"
        )
    return path
