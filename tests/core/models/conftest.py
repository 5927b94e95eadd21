"""Fixtures for the architecture tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny test networks gain nothing from threads, and on a busy 2-core machine OpenMP barriers
    between oversubscribed threads make each small op wait a scheduler slice (100x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
