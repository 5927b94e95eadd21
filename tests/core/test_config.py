"""The typed configuration layer: YAML + dotted overrides, errors that name key, file and type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from thermal_synth_core.config import apply_overrides, config_to_dict, load_config, parse_override
from thermal_synth_core.errors import ConfigError


@dataclass
class Optim:
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class Data:
    root: Path | None = None
    size: list[int] = field(default_factory=lambda: [256, 256])
    split: str = "train"


@dataclass
class Cfg:
    name: str = "run"
    steps: int = 100
    device: Literal["cpu", "cuda", "auto"] = "auto"
    amp: bool = False
    data: Data = field(default_factory=Data)
    optim: Optim = field(default_factory=Optim)
    tags: dict[str, str] = field(default_factory=dict)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file() -> None:
    cfg = load_config(Cfg)
    assert cfg.steps == 100
    assert cfg.data.size == [256, 256]


def test_yaml_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "steps: 5\ndata:\n  root: /data/flir\noptim:\n  lr: 0.001\n")
    cfg = load_config(Cfg, path, ["steps=7", "optim.lr=1e-5", "data.split=val", "device=cpu", "amp=true"])
    assert cfg.steps == 7
    assert cfg.optim.lr == pytest.approx(1e-5)
    assert cfg.data.root == Path("/data/flir")
    assert cfg.data.split == "val"
    assert cfg.device == "cpu"
    assert cfg.amp is True


def test_string_override_keeps_text() -> None:
    # "123" for a str field stays a string; "null" for an optional path is None.
    cfg = load_config(Cfg, None, ["name=123", "data.root=null"])
    assert cfg.name == "123"
    assert cfg.data.root is None


def test_list_and_tuple_overrides() -> None:
    cfg = load_config(Cfg, None, ["data.size=[640, 512]", "optim.betas=[0.9, 0.99]"])
    assert cfg.data.size == [640, 512]
    assert cfg.optim.betas == (0.9, 0.99)


def test_int_accepted_for_float(tmp_path: Path) -> None:
    cfg = load_config(Cfg, write(tmp_path, "optim:\n  lr: 1\n"))
    assert isinstance(cfg.optim.lr, float)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "optim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError, match=r"cfg\.yaml: unknown key 'optim\.lrr' \(did you mean 'lr'\?\)"):
        load_config(Cfg, path)


def test_unknown_top_level_key_lists_valid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'stepz'.*valid keys: amp, data, device"):
        load_config(Cfg, write(tmp_path, "stepz: 3\n"))


def test_unknown_key_in_override() -> None:
    with pytest.raises(ConfigError, match=r"override 'data\.rooot=/x': unknown key 'data\.rooot'"):
        load_config(Cfg, None, ["data.rooot=/x"])


def test_override_into_a_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"'steps' is a value, not a section"):
        load_config(Cfg, None, ["steps.x=1"])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("steps: ten\n", r"cfg\.yaml: key 'steps': expected int, got str \('ten'\)"),
        ("steps: 1.5\n", r"key 'steps': expected int, got float"),
        ("amp: 1\n", r"key 'amp': expected bool, got int"),
        ("device: gpu\n", r"key 'device': expected one of 'cpu', 'cuda', 'auto', got str"),
        ("data:\n  size: 5\n", r"key 'data\.size': expected a list of int"),
        ("data:\n  size: [1, x]\n", r"key 'data\.size\[1\]': expected int"),
        ("optim: 3\n", r"key 'optim': expected a section with keys \(lr, betas\)"),
        ("optim:\n  betas: [1]\n", r"key 'optim\.betas': expected a list of 2 values"),
        ("tags:\n  a: 1\n", r"key 'tags\.a': expected str"),
    ],
)
def test_wrong_types_name_key_file_and_type(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(Cfg, write(tmp_path, text))


def test_wrong_type_in_override_names_source() -> None:
    with pytest.raises(ConfigError, match=r"defaults: key 'steps': expected int, got str \('many'\)"):
        load_config(Cfg, None, ["steps=many"])


def test_post_init_validation_is_reported_with_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cfg\.yaml in section 'optim': lr must be > 0"):
        load_config(Cfg, write(tmp_path, "optim:\n  lr: -1\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.yaml"):
        load_config(Cfg, tmp_path / "nope.yaml")


def test_malformed_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cfg\.yaml: not valid YAML"):
        load_config(Cfg, write(tmp_path, "steps: [1, 2\n"))


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"top level must be a mapping"):
        load_config(Cfg, write(tmp_path, "- 1\n- 2\n"))


def test_required_key_missing() -> None:
    @dataclass
    class Needs:
        root: Path

    with pytest.raises(ConfigError, match=r"required key 'root' is missing"):
        load_config(Needs)


@pytest.mark.parametrize("bad", ["noequals", "=3", "a..b=1"])
def test_malformed_override(bad: str) -> None:
    with pytest.raises(ConfigError, match="override"):
        parse_override(bad)


def test_apply_overrides_does_not_mutate_input() -> None:
    data = {"data": {"split": "train"}}
    out = apply_overrides(Cfg, data, ["data.split=val"])
    assert data["data"]["split"] == "train"
    assert out["data"]["split"] == "val"


def test_round_trip_through_dict() -> None:
    cfg = load_config(Cfg, None, ["data.root=/tmp/x", "tags={a: b}"])
    plain = config_to_dict(cfg)
    assert plain["data"]["root"] == "/tmp/x"
    assert plain["optim"]["betas"] == [0.5, 0.999]
    from thermal_synth_core.config import config_from_dict

    assert config_from_dict(Cfg, plain) == cfg
