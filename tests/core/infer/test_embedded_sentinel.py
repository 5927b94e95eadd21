"""One "embedded model" sentinel: ``infer.embedded.is_embedded``, used by the library, the CLI and the node."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from thermal_synth_core.infer.embedded import EMBEDDED_MODEL, is_embedded
from thermal_synth_ros.model import ModelParams

#: Spellings of a second sentinel: a comparison with "default" or a literal ("", "default") tuple.
COPIES = re.compile(r'==\s*"default"|\(\s*(None,\s*)?""\s*,\s*"default"\s*\)')


@pytest.mark.parametrize("value", [None, "", "  ", "default", " default\n", EMBEDDED_MODEL])
def test_these_select_the_embedded_model(value: str | None) -> None:
    assert is_embedded(value)
    assert value is None or ModelParams(model_path=value).is_default


@pytest.mark.parametrize("value", ["model.safetensors", "Default", "default.safetensors", Path("default")])
def test_these_are_model_paths(value: str | Path) -> None:
    assert not is_embedded(value)
    if isinstance(value, str):
        assert not ModelParams(model_path=value).is_default


def test_no_copy_of_the_sentinel_is_left_in_the_product() -> None:
    copies = [
        f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}"
        for package in ("thermal_synth_core", "thermal_synth_ros", "training")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if COPIES.search(line)
    ]
    assert copies == []
