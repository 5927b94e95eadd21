"""Fixtures of every core test: a private cache folder and one torch thread."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exported ONNX graphs and TensorRT engines go to a per-session folder, never the user's cache."""
    root = tmp_path_factory.mktemp("thermal-synth-cache")
    old = os.environ.get("THERMAL_SYNTH_CACHE")
    os.environ["THERMAL_SYNTH_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("THERMAL_SYNTH_CACHE", None)
    else:
        os.environ["THERMAL_SYNTH_CACHE"] = old


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny test networks gain nothing from threads, and on a busy 2-core machine OpenMP barriers
    between oversubscribed threads make each small op wait a scheduler slice (100x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
