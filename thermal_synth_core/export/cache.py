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
from pathlib import Path

import torch

from thermal_synth_core.errors import ExportError
from thermal_synth_core.export.onnx_export import EXPORT_VERSION, export_onnx
from thermal_synth_core.modelfile import file_sha256, load_generator

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


def onnx_cache_path(model_sha256: str, precision: str) -> Path:
    """Cache path of the inference graph of a model file with this hash, in this precision."""
    exporter = hashlib.sha256(f"{EXPORT_VERSION}|{torch.__version__}".encode()).hexdigest()[:8]
    return cache_dir() / "onnx" / f"{model_sha256[:24]}-{precision}-{exporter}.onnx"


def cached_onnx(model_path: str | Path, precision: str = "fp32") -> Path:
    """The ONNX graph of a model file for inference (fixed H x W, dynamic batch), exporting it on first use."""
    model_path = Path(model_path)
    path = onnx_cache_path(file_sha256(model_path), precision)
    if path.is_file() and path.stat().st_size > 0:
        log.debug("using cached ONNX graph %s", path)
        return path
    log.info("exporting %s to the ONNX cache (%s, first use of this model)", model_path.name, precision)
    net, spec = load_generator(model_path)
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
