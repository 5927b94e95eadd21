"""The node's seam to the synthesis library: parameters, early path checks, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from thermal_synth_core.errors import ModelFileError
from thermal_synth_ros.model import ModelParams, load_thermal_model


def test_default_model_is_named_for_people() -> None:
    assert ModelParams().is_default
    assert ModelParams(model_path="default").is_default
    assert ModelParams().describe() == "embedded default model"
    assert ModelParams(model_path="/m/p2p.safetensors").describe() == "/m/p2p.safetensors"


def test_missing_model_file_names_the_parameter(tmp_path: Path) -> None:
    missing = tmp_path / "gone.safetensors"
    with pytest.raises(ModelFileError, match=r"gone\.safetensors \(parameter model_path\) does not exist"):
        load_thermal_model(ModelParams(model_path=str(missing)))
    with pytest.raises(ModelFileError, match="is not a file"):
        load_thermal_model(ModelParams(model_path=str(tmp_path)))
