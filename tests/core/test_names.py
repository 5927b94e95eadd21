"""The names the CLI offers (thermal_synth_core.names) are exactly those the library implements."""

from __future__ import annotations

from typing import get_args

from thermal_synth_core import names
from thermal_synth_core.align.points import MODELS
from thermal_synth_core.data.layouts import FORMATS
from thermal_synth_core.data.synth import LAYOUTS
from thermal_synth_core.infer.backends import BACKENDS
from thermal_synth_core.infer.colormap import COLORMAPS
from thermal_synth_core.models import GENERATORS
from thermal_synth_core.train.config import Mode


def test_dataset_formats_are_the_layout_registry() -> None:
    assert names.DATASET_FORMATS == FORMATS


def test_synth_layouts_are_what_synth_data_writes() -> None:
    assert names.SYNTH_LAYOUTS == LAYOUTS


def test_backends_are_the_backend_registry() -> None:
    assert tuple(BACKENDS) == names.BACKENDS


def test_colormaps_are_the_colormap_registry() -> None:
    assert tuple(COLORMAPS) == names.COLORMAPS


def test_generators_and_reference_archs_are_registered() -> None:
    assert tuple(GENERATORS) == names.GENERATORS
    assert set(names.REFERENCE_ARCHS) <= set(GENERATORS)
    assert set(names.INFER_BENCH_ARCHS) <= set(GENERATORS)


def test_alignment_models_and_train_modes() -> None:
    assert names.ALIGNMENT_MODELS == MODELS
    assert get_args(Mode) == names.TRAIN_MODES
