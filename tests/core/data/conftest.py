from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.data.synth_cache import synth_dataset


@pytest.fixture(scope="session")
def synth_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic FLIR ADAS v1 at full RGB size: missing RGB, half-size and 1280x1024 RGB frames."""
    return synth_dataset(tmp_path_factory, "flir-v1", 24, seed=1)


@pytest.fixture(scope="session")
def synth_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_dataset(tmp_path_factory, "flir-v2", 30, seed=2)


@pytest.fixture(scope="session")
def synth_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_dataset(tmp_path_factory, "pairs", 12, seed=3)
