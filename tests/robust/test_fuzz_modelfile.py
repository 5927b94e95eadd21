"""Fuzz: model files with mutated bytes, safetensors headers or JSON specs load or raise ModelFileError.

Three levels of damage to a real (small) model file: raw bytes (flips,
overwrites, truncation, junk appended), the safetensors header JSON (dtypes,
shapes, offsets, metadata replaced by random JSON) rewritten with a consistent
length prefix, and the thermal-synth spec inside the metadata (any field set
to any JSON value, including huge numbers and deep nesting). Every reader
(``read_spec``, ``load_model``, ``load_generator``) must give a result or a
ModelFileError; the memory side (huge claims) is in test_memory_bombs.py.
"""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.core.models.factory import make_model
from tests.robust.fuzzing import fuzz
from thermal_synth_core.errors import ModelFileError
from thermal_synth_core.modelfile import MAX_SIZE_SIDE, SPEC_KEY, ModelSpec, load_model, read_spec
from thermal_synth_core.models import load_generator

pytestmark = pytest.mark.timeout(180)

READERS: dict[str, Callable[[Path], ModelSpec]] = {
    "read_spec": read_spec,
    "load_model": lambda path: load_model(path)[0],
    "load_generator": lambda path: load_generator(path)[1],
}


@cache
def _valid() -> bytes:
    """A real small model file (generated once; not a fixture, so failing examples print short)."""
    with tempfile.TemporaryDirectory() as tmp:
        path, _, _ = make_model(Path(tmp) / "valid.safetensors", ngf=4, input_size=(64, 48))
        return path.read_bytes()


def _split(raw: bytes) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _join(header: Any, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**64), 2**64),
        st.integers(-2, 5000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
        st.sampled_from(["fast_unet", "unet_256", "eval", "train-bn", "minus_one_to_one", "F32", "I64"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)
SPEC_FIELDS = [
    "format_version",
    "arch",
    "arch_kwargs",
    "input_nc",
    "output_nc",
    "output_bits",
    "normalization",
    "input_size",
    "output_size",
    "alignment",
    "run_mode",
    "provenance",
    "thermal_fov",
    "unknown_field",
]


def _run(reader: str, path: Path) -> None:
    try:
        spec = READERS[reader](path)
    except ModelFileError:
        return
    assert max(spec.input_size) <= MAX_SIZE_SIDE
    assert max(spec.output_size) <= MAX_SIZE_SIDE


@pytest.mark.parametrize("reader", list(READERS))
@fuzz(50)
@given(data=st.data())
def test_mutated_bytes(reader: str, tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    raw = bytearray(_valid())
    (n,) = struct.unpack("<Q", raw[:8])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip-header", "flip", "overwrite", "truncate", "append", "length"]))
        if op == "flip-header":
            pos = data.draw(st.integers(0, min(n + 8, len(raw)) - 1))
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "flip":
            pos = data.draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "overwrite":
            pos = data.draw(st.integers(0, len(raw) - 1))
            chunk = data.draw(st.binary(min_size=1, max_size=16))
            raw[pos : pos + len(chunk)] = chunk
        elif op == "truncate":
            del raw[data.draw(st.integers(0, len(raw) - 1)) :]
        elif op == "append":
            raw += data.draw(st.binary(max_size=64))
        else:
            raw[:8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
        if not raw:
            break
    path = tmp_path_factory.mktemp("mut") / "m.safetensors"
    path.write_bytes(bytes(raw))
    _run(reader, path)


@pytest.mark.parametrize("reader", list(READERS))
@fuzz(50)
@given(data=st.data())
def test_mutated_safetensors_header(reader: str, tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    header, body = _split(_valid())
    names = sorted(k for k in header if k != "__metadata__")
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from([*names, "__metadata__", "__new__"]))
        if target in {"__metadata__", "__new__"} or data.draw(st.booleans()):
            header[target] = data.draw(json_values)
        else:
            entry = dict(header[target]) if isinstance(header[target], dict) else {}
            entry[data.draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))] = data.draw(json_values)
            header[target] = entry
    if data.draw(st.booleans()):
        body = body[: data.draw(st.integers(0, len(body)))]
    path = tmp_path_factory.mktemp("hdr") / "m.safetensors"
    path.write_bytes(_join(header, body))
    _run(reader, path)


@pytest.mark.parametrize("reader", list(READERS))
@fuzz(60)
@given(data=st.data())
def test_mutated_spec(reader: str, tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    header, body = _split(_valid())
    spec = json.loads(header["__metadata__"][SPEC_KEY])
    for _ in range(data.draw(st.integers(1, 3))):
        field = data.draw(st.sampled_from(SPEC_FIELDS))
        if field == "arch_kwargs" and data.draw(st.booleans()):
            kwargs = dict(spec["arch_kwargs"]) if isinstance(spec.get("arch_kwargs"), dict) else {}
            kwargs[data.draw(st.sampled_from(["ngf", "norm", "widths", "blocks", "use_dropout", "pad_mode"]))] = (
                data.draw(json_values)
            )
            spec["arch_kwargs"] = kwargs
        elif data.draw(st.integers(0, 5)) == 0:
            spec.pop(field, None)
        else:
            spec[field] = data.draw(json_values)
    text = json.dumps(spec) if data.draw(st.integers(0, 9)) else "[" * data.draw(st.integers(1, 5000))
    header["__metadata__"][SPEC_KEY] = text
    path = tmp_path_factory.mktemp("spec") / "m.safetensors"
    path.write_bytes(_join(header, body))
    _run(reader, path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"input_size": [60000, 60000]}, r"input_size 60000x60000 is absurdly large"),
        ({"output_size": [8193, 10]}, r"output_size 8193x10 is absurdly large"),
        ({"arch_kwargs": {"ngf": 4, "blocks": [100_000_000]}}, r"arch_kwargs are absurdly large"),
        ({"arch_kwargs": {"ngf": 4000, "norm": "batch"}}, r"weights do not fit architecture fast_unet"),
        ({"input_nc": 10**9}, r"weights do not fit architecture fast_unet"),
        (
            {
                "alignment": {
                    "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                    "rgb_size": [1e999, 2],
                    "thermal_size": [2, 2],
                }
            },
            r"malformed alignment",
        ),
    ],
    ids=["input-size", "output-size", "blocks", "ngf", "input-nc", "inf-size"],
)
def test_defects_found_by_fuzzing_stay_fixed(tmp_path: Path, change: dict[str, Any], match: str) -> None:
    header, body = _split(_valid())
    spec = json.loads(header["__metadata__"][SPEC_KEY])
    spec.update(change)
    header["__metadata__"][SPEC_KEY] = json.dumps(spec)
    path = tmp_path / "m.safetensors"
    path.write_bytes(_join(header, body))
    with pytest.raises(ModelFileError, match=match):
        load_generator(path)
    header["__metadata__"][SPEC_KEY] = "[" * 100_000
    path.write_bytes(_join(header, body))
    with pytest.raises(ModelFileError, match=r"model metadata is not valid JSON"):
        read_spec(path)
    path.write_bytes(_join("x", b"")[:8] + b"[" * 100_000)
    with pytest.raises(ModelFileError, match=r"header length|corrupted header"):
        read_spec(path)
