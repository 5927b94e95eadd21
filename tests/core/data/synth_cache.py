"""Synthetic datasets generated once per test session and shared by data and align tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from thermal_synth_core.data.synth import INFO_FILE, SynthOptions, generate


def synth_dataset(factory: pytest.TempPathFactory, layout: str, n: int, **options: object) -> Path:
    """Generate (or reuse, within this session) a synthetic dataset; returns its folder."""
    key = "-".join([layout, str(n), *(f"{k}={v}" for k, v in sorted(options.items()))])
    key = key.replace("(", "").replace(")", "").replace(", ", "x").replace(" ", "")
    out = factory.getbasetemp() / f"synth-{key}"
    if not (out / INFO_FILE).is_file():
        generate(out, SynthOptions(layout=layout, n=n, **options))  # type: ignore[arg-type]
    return out
