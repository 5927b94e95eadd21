"""Shared material for the evaluation tests: synthetic drives in both rosbag2 storages and a small model.

The drives come from ``synth-data --layout bag``: RGB at 450x400 (a quarter of
the alignment's 1800x1600 reference), real thermal mono16 at 9 Hz beside RGB
at 10 Hz, warm-object masks. They are generated once per session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.core.models.factory import make_model
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.synth import GROUND_TRUTH_FILE, SynthOptions, generate

RGB_SIZE = (450, 400)
THERMAL_SIZE = (320, 256)
FRAMES = 12
RGB_TOPIC = "/camera/rgb/image_raw"
COMPRESSED_TOPIC = "/camera/rgb/image_raw/compressed"
THERMAL_TOPIC = "/thermal/image_raw"
MASK_TOPIC = "/thermal/warm_mask"


def synth_drive(root: Path, storage: str, *, n: int = FRAMES, seed: int = 5, **extra: object) -> Path:
    """A synthetic drive bag under ``root`` (generated once per path)."""
    out = root / f"drive-{storage}-{n}-{seed}"
    if not out.exists():
        options = SynthOptions(
            layout="bag",
            n=n,
            seed=seed,
            rgb_size=RGB_SIZE,
            thermal_size=THERMAL_SIZE,
            storage=storage,
            compressed=True,
            **extra,  # type: ignore[arg-type]
        )
        generate(out, options)
    return out


@pytest.fixture(scope="session")
def drives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One synthetic drive per rosbag2 storage."""
    root = tmp_path_factory.mktemp("drives")
    return {storage: synth_drive(root, storage) for storage in ("sqlite3", "mcap")}


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory, drives: dict[str, Path]) -> Path:
    """A small fast_unet (random weights) whose alignment is the drive's ground truth; output 2x the real size."""
    alignment = Alignment.load(drives["sqlite3"] / GROUND_TRUTH_FILE)
    path = tmp_path_factory.mktemp("models") / "eval_model.safetensors"
    make_model(path, input_size=(160, 128), output_size=(640, 512), alignment=alignment)
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exported ONNX graphs go to a session folder, never the user's cache."""
    root = tmp_path_factory.mktemp("eval-cache")
    old = os.environ.get("THERMAL_SYNTH_CACHE")
    os.environ["THERMAL_SYNTH_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("THERMAL_SYNTH_CACHE", None)
    else:
        os.environ["THERMAL_SYNTH_CACHE"] = old


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads on a shared 2-core machine (see tests/core/infer/conftest.py)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
