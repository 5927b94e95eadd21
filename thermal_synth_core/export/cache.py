"""Where derived artifacts live: ONNX graphs exported for inference and TensorRT engines.

They are caches, never committed: each file name carries what it was derived
from (the model file's SHA-256, precision, exporter version), so a changed
model or a new exporter gives a new file instead of a stale one, and two
processes exporting at once each write atomically.

The folder is ``$THERMAL_SYNTH_CACHE``, else ``$XDG_CACHE_HOME/thermal-synth``,
else ``~/.cache/thermal-synth``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path

import torch

from thermal_synth_core.errors import ExportError
from thermal_synth_core.export.onnx_export import EXPORT_VERSION, export_onnx
from thermal_synth_core.modelfile import file_sha256, read_spec
from thermal_synth_core.models import load_generator

__all__ = ["cache_dir", "cached_onnx", "invalidate", "onnx_cache_path"]

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The root folder of thermal-synth's caches (created on demand)."""
    env = os.environ.get("THERMAL_SYNTH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "thermal-synth"


def onnx_cache_path(model_sha256: str, precision: str, size: tuple[int, int] | None = None) -> Path:
    """Cache path of the inference graph of a model file with this hash, in this precision (and input size)."""
    exporter = hashlib.sha256(f"{EXPORT_VERSION}|{torch.__version__}".encode()).hexdigest()[:8]
    at = "" if size is None else f"-{size[0]}x{size[1]}"
    return cache_dir() / "onnx" / f"{model_sha256[:24]}-{precision}{at}-{exporter}.onnx"


def cached_onnx(model_path: str | Path, precision: str = "fp32", size: tuple[int, int] | None = None) -> Path:
    """The ONNX graph of a model file for inference (fixed H x W, dynamic batch), exporting it on first use.

    ``size`` (W, H) is the input size the graph is fixed at; None: the model's input size.
    """
    model_path = Path(model_path)
    spec = read_spec(model_path)
    if size is not None and tuple(size) == tuple(spec.input_size):
        size = None  # the model's own size keeps the cache name it always had
    path = onnx_cache_path(file_sha256(model_path), precision, size)
    if path.is_file() and path.stat().st_size > 0:
        log.debug("using cached ONNX graph %s", path)
        return path
    at = f"{spec.input_size[0]}x{spec.input_size[1]}" if size is None else f"{size[0]}x{size[1]}"
    log.info("exporting %s to the ONNX cache (%s at %s, first use)", model_path.name, precision, at)
    net, spec = load_generator(model_path)
    if size is not None:
        spec = replace(spec, input_size=(int(size[0]), int(size[1])))
    try:
        export_onnx(net, spec, path, precision=precision, dynamic_hw=False, extra_metadata=_source(model_path))
    except OSError as exc:
        raise ExportError(
            f"cannot write the ONNX cache {path}: {exc} (set THERMAL_SYNTH_CACHE to a writable folder)"
        ) from exc
    return path


def _source(model_path: Path) -> dict[str, str]:
    return {"thermal_synth.source_model": model_path.name}


def invalidate(path: Path) -> None:
    """Remove a cached artifact that turned out unusable, so the next use rebuilds it."""
    try:
        path.unlink()
        log.warning("removed unusable cache file %s; it will be rebuilt", path)
    except FileNotFoundError:
        pass
