"""Typed configuration: dataclasses loaded from YAML, with dotted ``key=value`` overrides.

Each concern (data, model, training, node, ...) declares a frozen-or-not
dataclass with defaults; :func:`load_config` reads a YAML file into it, applies
command-line overrides such as ``train.lr=1e-4``, and checks every value
against the field's type annotation. An unknown key, a wrong type or a missing
file is a :class:`~thermal_synth_core.errors.ConfigError` naming the key, the
file and the expected type, raised before any work starts.

Supported field types: ``bool``, ``int``, ``float`` (ints accepted), ``str``,
``pathlib.Path``, ``Literal[...]``, ``X | None``, ``list[X]``,
``tuple[X, ...]``, ``tuple[X, Y]``, ``dict[str, X]`` and nested dataclasses.
Range checks belong in the dataclass's ``__post_init__``: a ``ValueError``
raised there is reported with the file and the section it came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from thermal_synth_core.errors import ConfigError

T = TypeVar("T")

#: A configuration document before validation: free-form YAML (any keys, any values) until
#: :func:`config_from_dict` checks it against the dataclass.
RawConfig = dict[str, Any]

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "parse_override",
]


def load_config(cls: type[T], path: str | Path | None = None, overrides: Sequence[str] = ()) -> T:
    """Build ``cls`` from the YAML file at ``path`` (or its defaults) plus dotted overrides.

    ``overrides`` are strings such as ``"train.lr=2e-4"`` or ``"data.root=/data/flir"``;
    values are parsed as YAML scalars/lists except for ``str`` and ``Path`` fields,
    which take the text as written.
    """
    source = str(path) if path is not None else "defaults"
    data: RawConfig = {}
    if path is not None:
        data = _read_yaml_mapping(Path(path))
    data = apply_overrides(cls, data, overrides)
    return config_from_dict(cls, data, source=source)


def _read_yaml_mapping(path: Path) -> RawConfig:
    if not path.exists():
        raise ConfigError(f"config file not found: {path} (check the path, or list the shipped configs)")
    if not path.is_file():
        raise ConfigError(f"config path is not a file: {path}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a configuration file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values, got {type(loaded).__name__}")
    return loaded


def parse_override(text: str) -> tuple[list[str], str]:
    """Split ``"a.b.c=value"`` into ``(["a", "b", "c"], "value")``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r} is not of the form key=value (e.g. steps=1000 or data.root=/data)")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"override {text!r}: empty key segment in {key!r}")
    return parts, value


def apply_overrides(cls: type[Any], data: Mapping[str, Any], overrides: Sequence[str]) -> RawConfig:
    """Return a copy of ``data`` with each dotted override applied, type-directed by ``cls``."""
    result: RawConfig = _deep_copy_mapping(data)
    for text in overrides:
        parts, raw = parse_override(text)
        target_type = _type_at_path(cls, parts, text)
        value = _parse_override_value(raw, target_type)
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return result


def _deep_copy_mapping(data: Mapping[str, Any]) -> RawConfig:
    return {k: _deep_copy_mapping(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _type_at_path(cls: type[Any], parts: list[str], text: str) -> Any:
    current: Any = cls
    for depth, part in enumerate(parts):
        dc = _dataclass_of(current)
        if dc is None:
            prefix = ".".join(parts[:depth])
            raise ConfigError(f"override {text!r}: {prefix!r} is a value, not a section with keys")
        hints = _field_types(dc)
        if part not in hints:
            prefix = ".".join(parts[:depth])
            raise ConfigError(_unknown_key_message(part, prefix, hints, f"override {text!r}"))
        current = hints[part]
    return current


def _parse_override_value(raw: str, target_type: Any) -> Any:
    inner = _strip_optional(target_type)
    stripped = raw.strip()
    if inner is not target_type and stripped.lower() in ("null", "none", "~"):
        return None
    if inner in (str, Path):
        return raw
    try:
        return yaml.safe_load(raw) if stripped else ""
    except (yaml.YAMLError, RecursionError):
        return raw  # then the type check says what was expected


def config_from_dict(cls: type[T], data: Mapping[str, Any], source: str = "config") -> T:
    """Validate ``data`` against dataclass ``cls`` and construct it; errors name ``source``."""
    if _dataclass_of(cls) is None:
        raise TypeError(f"{cls!r} is not a dataclass")
    return typing.cast(T, _convert(data, cls, "", source))


def config_to_dict(obj: Any) -> Any:
    """Turn a config dataclass into plain YAML/JSON-serialisable values (Paths become str)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return [config_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): config_to_dict(v) for k, v in obj.items()}
    return obj


# -- type machinery ---------------------------------------------------------------------------


def _dataclass_of(tp: Any) -> type[Any] | None:
    tp = _strip_optional(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    return None


def _field_types(cls: type[Any]) -> dict[str, object]:
    """Each init field's type annotation, by field name."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _strip_optional(tp: Any) -> Any:
    if _is_union(tp):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return tp


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if _is_union(tp):
        return " or ".join(_describe(a) for a in get_args(tp))
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, Sequence):
        return f"a list of {_describe(get_args(tp)[0])}"
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if origin in (dict, Mapping):
        return f"a mapping of {_describe(get_args(tp)[1])}"
    if tp is Path:
        return "a path (str)"
    dc = _dataclass_of(tp)
    if dc is not None:
        return f"a section with keys ({', '.join(_field_types(dc))})"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp)


def _where(path: str, source: str) -> str:
    return f"{source}: key {path!r}" if path else source


def _type_error(value: Any, tp: Any, path: str, source: str, qualifier: str = "") -> ConfigError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    expected = f"{qualifier}{_describe(tp)}"
    return ConfigError(f"{_where(path, source)}: expected {expected}, got {type(value).__name__} ({shown})")


def _unknown_key_message(key: str, prefix: str, hints: Mapping[str, Any], where: str) -> str:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(key, list(hints), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    valid = ", ".join(sorted(hints))
    section = f" in section {prefix!r}" if prefix else ""
    return f"{where}: unknown key {full!r}{hint}; valid keys{section}: {valid}"


def _convert(value: Any, tp: Any, path: str, source: str) -> Any:
    if tp is Any:
        return value
    if _is_union(tp):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors: list[ConfigError] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, path, source)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _type_error(value, tp, path, source)
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return value
        raise _type_error(value, tp, path, source)
    if origin in (list, Sequence):
        (item_tp,) = get_args(tp)
        if not isinstance(value, list):
            raise _type_error(value, tp, path, source)
        return [_convert(v, item_tp, f"{path}[{i}]", source) for i, v in enumerate(value)]
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise _type_error(value, tp, path, source)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]", source) for i, v in enumerate(value))
        if len(value) != len(args):
            raise _type_error(value, tp, path, source)
        return tuple(_convert(v, a, f"{path}[{i}]", source) for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin in (dict, Mapping):
        key_tp, val_tp = get_args(tp)
        if not isinstance(value, dict):
            raise _type_error(value, tp, path, source)
        return {_convert(k, key_tp, path, source): _convert(v, val_tp, f"{path}.{k}", source) for k, v in value.items()}
    dc = _dataclass_of(tp)
    if dc is not None:
        return _convert_dataclass(value, dc, path, source)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(value, tp, path, source)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(value, tp, path, source)
    if tp is float:
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            # PyYAML (YAML 1.1) reads "1e-4" as a string; accept it as the number it is.
            with contextlib.suppress(ValueError):
                number = float(value)
        # NaN slips through every range check (nan <= 0 is False): lr=nan would train garbage for hours.
        if number is not None and math.isfinite(number):
            return number
        raise _type_error(value, tp, path, source, "a finite ")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(value, tp, path, source)
    if tp is Path:
        # A NUL byte is valid YAML text but no valid path: it would fail later, deep in the run, untyped.
        if isinstance(value, (str, Path)) and str(value) and "\0" not in str(value):
            return Path(value).expanduser()
        raise _type_error(value, tp, path, source)
    raise TypeError(f"config field {path!r} has an unsupported type annotation {tp!r}")


def _convert_dataclass(value: Any, cls: type[Any], path: str, source: str) -> Any:
    if not isinstance(value, Mapping):
        raise _type_error(value, cls, path, source)
    hints = _field_types(cls)
    for key in value:
        if key not in hints:
            raise ConfigError(_unknown_key_message(str(key), path, hints, source))
    kwargs: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        sub = f"{path}.{field.name}" if path else field.name
        if field.name in value:
            kwargs[field.name] = _convert(value[field.name], hints[field.name], sub, source)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: required key {sub!r} is missing (expected {_describe(hints[field.name])})")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        section = f" in section {path!r}" if path else ""
        raise ConfigError(f"{source}{section}: {exc}") from exc
