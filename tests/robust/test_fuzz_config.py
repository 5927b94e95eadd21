"""Fuzz: YAML configs, dotted overrides and alignment YAML end in a valid object or a typed error.

Configs are the real ``TrainConfig`` with the shipped YAML files as seeds: random
documents over the real key names, byte-level mutations of the shipped files,
and random dotted overrides. A config that loads must be one training can
start from (finite floats, a usable seed) and must survive a round trip.
Alignment files: random documents and mutations of a valid one.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.robust.fuzzing import fuzz
from thermal_synth_core.align.transform import MAX_SIDE, Alignment
from thermal_synth_core.config import config_from_dict, config_to_dict, load_config
from thermal_synth_core.errors import AlignmentError, ConfigError
from thermal_synth_core.train.config import TrainConfig

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "training" / "configs").glob("*.yaml"))


def _key_paths(cls: type[Any], prefix: str = "") -> list[str]:
    """Every dotted key of a config dataclass (sections and leaves)."""
    paths: list[str] = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = f"{prefix}{field.name}"
        paths.append(path)
        if dataclasses.is_dataclass(hints[field.name]):
            paths.extend(_key_paths(hints[field.name], f"{path}."))
    return paths


KEYS = _key_paths(TrainConfig)
LEAF_NAMES = sorted({k.rsplit(".", 1)[-1] for k in KEYS})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(-3, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["pix2pix", "cyclegan", "auto", "cpu", "fp32", "instance", "fast_unet", "val_l1", "1e-4", "/tmp"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([*LEAF_NAMES, "x"]), inner, max_size=4)
    ),
    max_leaves=12,
)
sections = st.dictionaries(st.sampled_from([*LEAF_NAMES, "bogus"]), values, max_size=6)
documents = st.dictionaries(
    st.sampled_from(["data", "model", "loss", "optim", *LEAF_NAMES]),
    st.one_of(values, sections),
    max_size=8,
)


def _check_loaded(cfg: TrainConfig) -> None:
    """A config that loads is one training can start from, and it survives a round trip."""
    for section in (cfg, cfg.data, cfg.model, cfg.loss, cfg.optim):
        for field in dataclasses.fields(section):
            value = getattr(section, field.name)
            if isinstance(value, float):
                assert math.isfinite(value), f"{field.name}={value} slipped through"
    assert 0 <= cfg.seed < 2**32
    assert "\0" not in str(cfg.out_dir)
    assert config_from_dict(TrainConfig, config_to_dict(cfg)) == cfg


def _load(tmp_path: Path, text: str | bytes, overrides: list[str] | None = None) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        cfg = load_config(TrainConfig, path, overrides or [])
    except ConfigError:
        return
    _check_loaded(cfg)


@fuzz(80)
@given(doc=documents)
def test_any_yaml_document_gives_a_config_or_a_config_error(tmp_path_factory: pytest.TempPathFactory, doc: Any) -> None:
    _load(tmp_path_factory.mktemp("cfg"), yaml.safe_dump(doc, allow_unicode=True))


@st.composite
def mutated_shipped(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SHIPPED)).read_bytes())
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            token = draw(
                st.sampled_from(
                    [b":", b"-", b"[", b"{", b"&a", b"*a", b"!!", b"\t", b"  ", b"\n", b"\xff", b".nan", b"'"]
                )
            )
            data[pos:pos] = token
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            del data[pos:]
    return bytes(data)


@fuzz(80)
@given(text=mutated_shipped())
def test_mutated_shipped_configs_give_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: bytes
) -> None:
    _load(tmp_path_factory.mktemp("cfg"), text)


override_values = st.one_of(
    st.sampled_from(
        ["nan", ".nan", "inf", "-.inf", "1e-4", "1e400", "[64, 64]", "[", "{a: 1}", "null", "~", "", "yes"]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=10),
    st.integers(1, 3000).map(lambda n: "[" * n),
)


@fuzz(80)
@given(
    overrides=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), st.sampled_from(["=", "", "=="]), override_values
        ),
        max_size=3,
    )
)
def test_any_dotted_overrides_give_a_config_or_a_config_error(overrides: list[tuple[str, str, str]]) -> None:
    texts = [f"{key}{sep}{value}" for key, sep, value in overrides]
    try:
        cfg = load_config(TrainConfig, REPO / "training" / "configs" / "smoke.yaml", texts)
    except ConfigError:
        return
    _check_loaded(cfg)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("optim:\n  lr: .nan\n", r"key 'optim.lr': expected a finite float, got float \(nan\)"),
        ("loss:\n  lambda_l1: .inf\n", r"expected a finite float"),
        ("seed: 99999999999999999999\n", r"seed must be in \[0, 2\*\*32\)"),
        ('out_dir: "runs/\\0x"\n', r"key 'out_dir': expected a path"),
        ("[" * 5000, r"nested too deeply"),
    ],
    ids=["nan-lr", "inf-weight", "huge-seed", "nul-path", "deep"],
)
def test_defects_found_by_fuzzing_stay_fixed(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(TrainConfig, path)
    with pytest.raises(ConfigError, match=r"expected a finite float"):
        load_config(TrainConfig, None, ["optim.lr=nan"])


# -- alignment YAML ----------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-5, 5000),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([640, 512, 1.0, 0.0, 640.0, 2.7]),
    st.text(max_size=4),
    st.none(),
)
matrices = st.one_of(
    st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=3, max_size=3),
    st.lists(st.lists(numbers, max_size=4), max_size=4),
    numbers,
)
sizes = st.one_of(st.lists(numbers, min_size=2, max_size=2), st.lists(numbers, max_size=3), numbers)
alignment_docs = st.fixed_dictionaries(
    {},
    optional={
        "matrix": matrices,
        "rgb_size": sizes,
        "thermal_size": sizes,
        "method": st.one_of(st.text(max_size=6), numbers),
        "quality": st.one_of(st.dictionaries(st.text(max_size=4), numbers, max_size=3), numbers),
    },
)
VALID = Alignment.from_matrix(
    [[0.35, 0.01, -3.0], [0.0, 0.36, 7.5], [1e-6, 0.0, 1.0]], (1800, 1600), (640, 512), "homography", {"rmse": 0.8}
)


def _check_alignment(path: Path) -> None:
    try:
        a = Alignment.load(path)
    except AlignmentError:
        return
    assert max(a.rgb_size) <= MAX_SIDE
    assert max(a.thermal_size) <= MAX_SIDE
    assert min(a.rgb_size) > 0
    assert min(a.thermal_size) > 0
    assert np.isfinite(a.as_array()).all()
    again = path.with_name("again.yaml")
    a.save(again)
    assert Alignment.load(again) == a


@fuzz(80)
@given(doc=alignment_docs)
def test_any_alignment_document_gives_an_alignment_or_an_alignment_error(
    tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("align") / "a.yaml"
    path.write_text(yaml.safe_dump(doc))
    _check_alignment(path)


@fuzz(60)
@given(data=st.data())
def test_mutated_alignment_files_give_an_alignment_or_an_alignment_error(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("align") / "a.yaml"
    VALID.save(path)
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos : pos + 1] = data.draw(
            st.sampled_from([b"9", b"-", b"e", b"[", b"]", b".", b"", b"\n", b"x", b"9999999"])
        )
    path.write_bytes(bytes(raw))
    _check_alignment(path)
