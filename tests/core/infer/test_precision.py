"""Precision names are checked in one place: ``infer.backends.base.check_precision`` over ``names.PRECISIONS``."""

from __future__ import annotations

import inspect

import pytest

from thermal_synth_core import names
from thermal_synth_core.errors import BackendError
from thermal_synth_core.infer import backends
from thermal_synth_core.infer.backends import base


def test_the_cli_and_the_backends_offer_one_tuple() -> None:
    assert base.PRECISIONS is names.PRECISIONS
    assert backends.PRECISIONS is names.PRECISIONS


@pytest.mark.parametrize("precision", names.PRECISIONS)
def test_every_offered_precision_passes(precision: str) -> None:
    assert base.check_precision(precision) == precision


@pytest.mark.parametrize("precision", ["int8", "FP32", "", "fp64"])
def test_anything_else_is_refused_with_the_valid_names(precision: str) -> None:
    with pytest.raises(BackendError, match=rf"unknown precision '{precision}'; valid: fp32, fp16, bf16$"):
        base.check_precision(precision)


def test_the_registry_and_every_backend_use_the_one_check() -> None:
    """No second membership test of a precision name is left in the registry or the backend base class."""
    for source in (inspect.getsource(backends.create_backend), inspect.getsource(base.Backend.__init__)):
        assert "check_precision(precision)" in source
        assert "not in PRECISIONS" not in source
