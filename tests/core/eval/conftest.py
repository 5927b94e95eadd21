"""Shared material for the evaluation tests: synthetic drives in both rosbag2 storages and a small model.

The drives come from ``synth-data --layout bag``: RGB at 450x400 (a quarter of
the alignment's 1800x1600 reference), real thermal mono16 at 9 Hz beside RGB
at 10 Hz, warm-object masks. They are generated once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
