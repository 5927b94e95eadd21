"""Parameter table and descriptors: every parameter typed, described, ranged where numeric."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytest.importorskip("rcl_interfaces.msg")
from rcl_interfaces.msg import ParameterType

from thermal_synth_ros.params import PARAMETERS, descriptor


@pytest.mark.parametrize("spec", PARAMETERS, ids=lambda s: s.name)
def test_descriptor_has_type_description_and_restart_note(spec: object) -> None:
    d = descriptor(spec)  # type: ignore[arg-type]
    assert d.type != ParameterType.PARAMETER_NOT_SET
    assert d.description
    assert ("run time" in d.additional_constraints) or ("restart" in d.additional_constraints)
    if isinstance(spec.default, (int, float)) and not isinstance(spec.default, bool):  # type: ignore[attr-defined]
        assert d.integer_range or d.floating_point_range


def test_config_file_sets_every_parameter_with_the_declared_type() -> None:
    config = yaml.safe_load(Path(REPO_ROOT, "config", "synth.yaml").read_text())
    values = config["/**/thermal_synth"]["ros__parameters"]
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    declared = {s.name: s for s in PARAMETERS}
    assert set(flat) == set(declared)
    for name, value in flat.items():
        assert type(value) is type(declared[name].default), name
