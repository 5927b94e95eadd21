"""Inputs claiming gigabytes are refused before anything is allocated (see tests/robust/bombs.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]
#: Peak RSS growth allowed over all cases (measured: 0.2 MiB; a rejected header allocates nothing, the meta
#: device shape check no weights). Before the fixes the PNG alone took 430 MB and the JPEG 2.6 GB.
MAX_GROWTH_MIB = 64


def test_bombs_end_in_typed_errors_without_memory_growth() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.robust.bombs"], cwd=REPO, capture_output=True, text=True, timeout=150, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert len(results) == 8
    for name, result in results.items():
        assert not result["outcome"].startswith(("untyped", "accepted")), f"{name}: {result}"
        assert result["peak_rss_growth_mib"] < MAX_GROWTH_MIB, f"{name}: {result}"
        assert result["seconds"] < 30, f"{name}: {result}"  # generous: a loaded 2-core machine
    assert "absurdly large" in results["Image 60000x60000 header"]["outcome"]
    assert all("absurdly large" in r["outcome"] for n, r in results.items() if n.startswith(("PNG", "JPEG")))
