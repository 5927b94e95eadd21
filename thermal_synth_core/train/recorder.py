"""What a training run leaves to look at: metrics.jsonl, TensorBoard scalars and image grids, PNG grids.

Only rank 0 records. On resume, entries after the resumed step are dropped (from
``metrics.jsonl`` and, through ``purge_step``, from TensorBoard), so a crash
between a log line and the next checkpoint never leaves duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch

from thermal_synth_core.fileio import atomic_path, atomic_write_text

__all__ = ["Recorder", "image_grid"]


def _to_uint8(t: torch.Tensor) -> npt.NDArray[np.uint8]:
    """C x H x W in [-1, 1] -> H x W x 3 uint8 RGB."""
    arr = ((t.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).numpy()
    arr = np.transpose(arr, (1, 2, 0))
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


def image_grid(rows: list[list[torch.Tensor]]) -> npt.NDArray[np.uint8]:
    """Tile rows of C x H x W tensors (e.g. RGB | generated | real) into one RGB uint8 image."""
    tiles = [np.concatenate([_to_uint8(t) for t in row], axis=1) for row in rows]
    width = max(t.shape[1] for t in tiles)
    padded = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
    return np.concatenate(padded, axis=0)


class Recorder:
    """Writes scalars and images for one run (a no-op on ranks other than 0)."""

    def __init__(self, out_dir: Path, enabled: bool, resume_step: int = 0) -> None:
        self.out_dir = out_dir
        self.enabled = enabled
        self.metrics_path = out_dir / "metrics.jsonl"
        self._writer: Any = None
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "samples").mkdir(exist_ok=True)
        self._truncate_after(resume_step)
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415  # optional heavy: tensorboard

            self._writer = SummaryWriter(str(out_dir / "tensorboard"), purge_step=resume_step or None)
        except ImportError:  # tensorboard is a dependency; keep training if a broken install lacks it
            self._writer = None

    def _truncate_after(self, step: int) -> None:
        if not self.metrics_path.exists():
            return
        kept = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
        atomic_write_text(self.metrics_path, "".join(f"{line}\n" for line in kept))

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        """Append one JSON line and the TensorBoard scalars ``kind/name``."""
        if not self.enabled:
            return
        with self.metrics_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, "kind": kind, **values}) + "\n")
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(f"{kind}/{name}", value, step)

    def images(self, step: int, tag: str, rows: list[list[torch.Tensor]], png: bool = True) -> Path | None:
        """Log an image grid to TensorBoard and (optionally) as ``samples/<tag>_<step>.png``."""
        if not self.enabled:
            return None
        grid = image_grid(rows)
        if self._writer is not None:
            self._writer.add_image(tag, grid, step, dataformats="HWC")
        if not png:
            return None
        path = self.out_dir / "samples" / f"{tag}_{step:07d}.png"
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        return path

    def close(self) -> None:
        """Flush and close TensorBoard files."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
