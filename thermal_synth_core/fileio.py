"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Everything the product writes that a later run trusts (model files, checkpoints,
prepared pairs, manifests, reports) goes through here: write to a temporary file
in the same directory, flush and fsync, then ``os.replace`` onto the target.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_yaml",
    "remove_partials",
]


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    The temporary name keeps ``target``'s suffix (or ``suffix``) so that libraries
    choosing a format by extension (OpenCV, safetensors, rosbags) still work.
    On an exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Hidden ".<name>.partial-XXXX<suffix>": never mistaken for a finished output.
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.partial-",
        suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600; give the result the mode a plain open() would (umask applied).
        tmp.chmod(0o666 & ~_UMASK)
        _fsync_file(tmp)
        tmp.replace(target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_partials(folder: str | Path) -> int:
    """Delete the temporary files :func:`atomic_path` left in ``folder`` when a process was killed; returns how many.

    SIGKILL or a power cut mid-write leaves ``.<name>.partial-*`` behind (never the
    target). Nothing reads them, but each can be as large as a checkpoint, so a
    process that resumes work in ``folder`` removes them first.
    """
    removed = 0
    for path in Path(folder).glob(".*.partial-*"):
        with contextlib.suppress(OSError):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``target`` atomically."""
    atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any threads write files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_yaml(path: Path, error: type[Exception], missing: str, kind: str) -> Any:
    """The parsed YAML of ``path``; ``error(missing)`` when it is no file, ``error`` naming ``kind`` when unparsable."""
    if not path.is_file():
        raise error(missing)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise error(f"{path}: not a valid {kind} YAML: {exc}") from exc
