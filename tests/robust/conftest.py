"""Data shared by the robustness tests, generated once per session (reusing the core tests' cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.data.synth_cache import synth_dataset
from tests.ros.conftest import probe  # noqa: F401  (the ROS tests' probe node fixture, for the node fault tests)
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset


@pytest.fixture(scope="session")
def flir_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic FLIR ADAS v1 (the same folder tests/core/data uses within a session)."""
    return synth_dataset(tmp_path_factory, "flir-v1", 24, seed=1)


@pytest.fixture(scope="session")
def small_prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small prepared pairs dataset (160x128) for training fault tests."""
    raw = synth_dataset(tmp_path_factory, "pairs", 24, seed=5, thermal_size=(160, 128))
    out = raw.parent / "robust-prepared"
    if not (out / "manifest.json").is_file():
        prepare_dataset(PrepareOptions(root=raw, fmt="pairs", out=out, workers=1), show_progress=False)
    return out
