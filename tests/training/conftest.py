"""Prepared synthetic pairs shared by the training tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.data.synth import SynthOptions, generate


@pytest.fixture(scope="session")
def synth_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Co-registered synthetic street scenes, 320x256, day and night, with warm-object masks."""
    out = tmp_path_factory.mktemp("train_data") / "raw"
    generate(out, SynthOptions(layout="pairs", n=160, seed=1, thermal_size=(320, 256)))
    return out


@pytest.fixture(scope="session")
def prepared(synth_raw: Path) -> Path:
    """``thermal-synth prepare`` output of :func:`synth_raw` (train and val splits)."""
    out = synth_raw.parent / "prepared"
    prepare_dataset(PrepareOptions(root=synth_raw, fmt="pairs", out=out, workers=2), show_progress=False)
    return out
