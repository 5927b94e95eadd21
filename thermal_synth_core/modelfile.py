"""The model file: one ``.safetensors`` holding the generator weights and everything needed to run them.

The safetensors metadata (string -> string) carries one JSON document under
:data:`SPEC_KEY` describing the :class:`ModelSpec`: architecture and its
arguments, channels, output bit depth, normalisation, the size the model runs at,
the thermal output size, the RGB -> thermal alignment used in training, the
thermal camera's horizontal field of view (so the angular scale the generator
learned: degrees per pixel), and the training provenance. Loading validates the container, the metadata and every
tensor (finite values) and never unpickles.

This module holds no network code: reading and validating a header knows the
architectures by name only (:data:`thermal_synth_core.names.GENERATORS`). Building
the network a spec describes, and checking the weights' shapes against it, is
:func:`thermal_synth_core.models.load_generator`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, TypeAlias, TypedDict

import safetensors
import safetensors.torch
import torch
from torch import nn

from thermal_synth_core import names
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.errors import AlignmentError, ModelFileError
from thermal_synth_core.fileio import atomic_path

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_FOV_DEG",
    "MAX_ARCH_TOTAL",
    "MAX_SIZE_SIDE",
    "NORMALIZATIONS",
    "RUN_MODES",
    "SPEC_KEY",
    "JsonValue",
    "ModelSpec",
    "SpecJson",
    "ThermalFov",
    "ThermalFovJson",
    "apply_run_mode",
    "file_sha256",
    "legacy_fov",
    "load_model",
    "read_spec",
    "save_model",
]

#: Version of the metadata layout; bump when a reader of an older version could misread a newer file.
#: 2: ``thermal_fov`` (the training thermal camera's field of view). Version 1 files still load.
FORMAT_VERSION: Final = 2
#: safetensors metadata key holding the spec as JSON.
SPEC_KEY: Final = "thermal_synth.spec"
FORMAT_KEY: Final = "thermal_synth.format_version"

#: How pixels map to the network's range. ``minus_one_to_one``: RGB uint8 -> x/127.5 - 1 in,
#: tanh output in [-1, 1] -> [0, 2**output_bits - 1] out (the reference pix2pix convention).
NORMALIZATIONS: Final = ("minus_one_to_one",)
#: ``eval``: running BatchNorm statistics, dropout off. ``train-bn``: batch statistics and dropout
#: on, as the original pix2pix test script runs by default (outputs then depend on the batch).
RUN_MODES: Final = ("eval", "train-bn")

_MAX_HEADER_BYTES: Final = 100 * 1024 * 1024
#: Largest width or height a model may run at or produce (as for image messages): larger is a corrupt file.
MAX_SIZE_SIDE: Final = 8192
#: Largest sum of the integers in the architecture arguments (channel widths, block counts). Real models stay
#: far below (fast_unet: ~500); a corrupt file claiming more would take minutes or GBs just to build.
MAX_ARCH_TOTAL: Final = 4096

Size = tuple[int, int]
#: A JSON value: what the free-form parts of the spec (architecture arguments, provenance) hold in the file.
JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"


class ThermalFovJson(TypedDict):
    """:class:`ThermalFov` as stored in the model file."""

    hfov_deg: float
    width: int
    source: str


class _SpecJsonRequired(TypedDict):
    format_version: int
    arch: str
    arch_kwargs: dict[str, JsonValue]
    input_nc: int
    output_nc: int
    output_bits: int
    normalization: str
    input_size: list[int]
    output_size: list[int]
    #: :meth:`Alignment.to_dict` output.
    alignment: Mapping[str, object] | None
    run_mode: str
    provenance: dict[str, JsonValue]


class SpecJson(_SpecJsonRequired, total=False):
    """:class:`ModelSpec` as stored in the model file (the JSON under :data:`SPEC_KEY`), keys in file order.

    ``thermal_fov`` is absent from files that did not record it (format 1).
    """

    thermal_fov: ThermalFovJson


@dataclass(frozen=True)
class ThermalFov:
    """The horizontal field of view of the thermal frames a model was trained on, and their width in pixels.

    Together they give the angular scale the generator learned (degrees per pixel), which
    the ``camera`` output view reproduces on any RGB camera.
    """

    hfov_deg: float
    width: int
    source: str = ""

    def problems(self) -> list[str]:
        """What is wrong with it (empty when valid)."""
        found = []
        if (
            not isinstance(self.hfov_deg, int | float)
            or not math.isfinite(self.hfov_deg)
            or not (0.0 < self.hfov_deg < 180.0)
        ):
            found.append(f"thermal_fov.hfov_deg must be between 0 and 180 degrees, got {self.hfov_deg!r}")
        if not isinstance(self.width, int) or isinstance(self.width, bool) or not (0 < self.width <= MAX_SIZE_SIDE):
            found.append(f"thermal_fov.width must be a positive integer up to {MAX_SIZE_SIDE}, got {self.width!r}")
        return found

    def focal_px(self, width: int) -> float:
        """Focal length in pixels of these thermal frames resized to ``width`` pixels (pinhole)."""
        return (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0) * (width / self.width)

    def to_dict(self) -> ThermalFovJson:
        """Plain JSON values."""
        return {"hfov_deg": float(self.hfov_deg), "width": self.width, "source": self.source}

    @classmethod
    def from_dict(cls, data: Any) -> ThermalFov:
        """Parse :meth:`to_dict` output (ValueError/TypeError on malformed values)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"thermal_fov must be a mapping with hfov_deg and width, got {data!r}")
        hfov = data.get("hfov_deg")
        width = data.get("width")
        if not isinstance(hfov, int | float) or isinstance(hfov, bool):
            raise ValueError(f"thermal_fov.hfov_deg must be a number, got {hfov!r}")
        if not isinstance(width, int) or isinstance(width, bool):
            raise ValueError(f"thermal_fov.width must be an integer, got {width!r}")
        return cls(float(hfov), width, str(data.get("source", "")))


#: The field of view assumed for model files written before it was recorded (format 1): the FLIR ADAS
#: thermal camera (FLIR Tau2, 13 mm lens, 45 deg HFOV), which every earlier model was trained for.
LEGACY_FOV_DEG: Final = 45.0
LEGACY_FOV_SOURCE: Final = (
    "not recorded in the model file: the FLIR ADAS thermal camera (Tau2 13 mm, 45 deg HFOV) assumed"
)


def legacy_fov(width: int) -> ThermalFov:
    """The assumed field of view of a format-1 model whose thermal frames are ``width`` pixels wide."""
    return ThermalFov(LEGACY_FOV_DEG, width, LEGACY_FOV_SOURCE)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild, feed and interpret a generator (stored in the model file)."""

    arch: str
    input_size: Size  # (W, H) the network runs at
    output_size: Size  # (W, H) of the thermal image handed to the user
    #: Keyword arguments of the architecture's builder (free-form: checked against it by the model registry).
    arch_kwargs: Mapping[str, Any] = field(default_factory=dict)
    input_nc: int = 3
    output_nc: int = 1
    output_bits: int = 8
    normalization: str = "minus_one_to_one"
    alignment: Alignment | None = None
    #: Free-form: how the model came to be (trainer, data, dates), for people reading the file.
    provenance: Mapping[str, Any] = field(default_factory=dict)
    run_mode: str = "eval"
    format_version: int = FORMAT_VERSION
    #: The training thermal camera's field of view; None: not recorded (see :attr:`fov`).
    thermal_fov: ThermalFov | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ModelFileError("invalid model spec: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with this spec (empty when it is valid)."""
        found: list[str] = []
        # The names only: validating a header must not import the networks (thermal_synth_core.models).
        if self.arch not in names.GENERATORS:
            found.append(f"unknown architecture {self.arch!r} (valid: {', '.join(names.GENERATORS)})")
        for name, size in (("input_size", self.input_size), ("output_size", self.output_size)):
            if not _is_size(size):
                found.append(f"{name} must be two positive integers (width, height), got {size!r}")
            elif max(size) > MAX_SIZE_SIDE:
                found.append(f"{name} {size[0]}x{size[1]} is absurdly large (at most {MAX_SIZE_SIDE} per side)")
        for name, value in (("input_nc", self.input_nc), ("output_nc", self.output_nc)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                found.append(f"{name} must be a positive integer, got {value!r}")
        if self.output_bits not in (8, 16):
            found.append(f"output_bits must be 8 or 16, got {self.output_bits!r}")
        if self.normalization not in NORMALIZATIONS:
            found.append(f"unknown normalization {self.normalization!r} (valid: {', '.join(NORMALIZATIONS)})")
        if self.run_mode not in RUN_MODES:
            found.append(f"unknown run_mode {self.run_mode!r} (valid: {', '.join(RUN_MODES)})")
        if not isinstance(self.arch_kwargs, Mapping):
            found.append("arch_kwargs must be a mapping")
        elif {"input_nc", "output_nc"} & set(self.arch_kwargs):
            found.append("arch_kwargs must not repeat input_nc/output_nc (they are fields of their own)")
        elif _int_total(self.arch_kwargs) > MAX_ARCH_TOTAL:
            found.append(
                f"arch_kwargs are absurdly large (their numbers add up to {_int_total(self.arch_kwargs)}, "
                f"at most {MAX_ARCH_TOTAL}): {dict(self.arch_kwargs)}"
            )
        if not isinstance(self.provenance, Mapping):
            found.append("provenance must be a mapping")
        if self.alignment is not None and not isinstance(self.alignment, Alignment):
            found.append("alignment must be an Alignment or None")
        if self.thermal_fov is not None:
            if isinstance(self.thermal_fov, ThermalFov):
                found.extend(self.thermal_fov.problems())
            else:
                found.append("thermal_fov must be a ThermalFov or None")
        if not isinstance(self.format_version, int) or self.format_version < 1:
            found.append(f"format_version must be a positive integer, got {self.format_version!r}")
        return found

    @property
    def output_encoding(self) -> str:
        """The ROS image encoding of the output: ``mono8`` or ``mono16``."""
        return "mono16" if self.output_bits == 16 else "mono8"

    @property
    def fov(self) -> ThermalFov:
        """The training thermal camera's field of view: recorded, or :func:`legacy_fov` for older files."""
        if self.thermal_fov is not None:
            return self.thermal_fov
        width = self.alignment.thermal_size[0] if self.alignment is not None else self.output_size[0]
        return legacy_fov(width)

    def input_focal_px(self) -> float:
        """Focal length in pixels of the thermal view at the network's input size (the learned angular scale)."""
        return self.fov.focal_px(self.input_size[0])

    @property
    def output_max(self) -> int:
        """Largest output pixel value (255 or 65535)."""
        return int(2**self.output_bits - 1)

    def with_provenance(self, **entries: Any) -> ModelSpec:
        """A copy with ``entries`` merged into the provenance."""
        return replace(self, provenance={**self.provenance, **entries})

    def to_dict(self) -> SpecJson:
        """Plain JSON values (the form stored in the file)."""
        data: SpecJson = {
            "format_version": self.format_version,
            "arch": self.arch,
            "arch_kwargs": _jsonable_object(self.arch_kwargs),
            "input_nc": self.input_nc,
            "output_nc": self.output_nc,
            "output_bits": self.output_bits,
            "normalization": self.normalization,
            "input_size": list(self.input_size),
            "output_size": list(self.output_size),
            "alignment": None if self.alignment is None else self.alignment.to_dict(),
            "run_mode": self.run_mode,
            "provenance": _jsonable_object(self.provenance),
        }
        if self.thermal_fov is not None:
            data["thermal_fov"] = self.thermal_fov.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "model spec") -> ModelSpec:
        """Validate and build from :meth:`to_dict` output; errors name ``source``."""
        if not isinstance(data, Mapping):
            raise ModelFileError(f"{source}: model metadata is not a JSON object")
        version = data.get("format_version")
        if not isinstance(version, int):
            raise ModelFileError(f"{source}: model metadata has no integer format_version")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{source}: written by a newer thermal-synth (model format {version}, this version reads up to "
                f"{FORMAT_VERSION}); upgrade thermal-synth"
            )
        missing = [k for k in ("arch", "input_size", "output_size") if k not in data]
        if missing:
            raise ModelFileError(f"{source}: model metadata lacks {', '.join(missing)}")
        known = {
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
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelFileError(f"{source}: model metadata has unknown key(s) {', '.join(unknown)}")
        try:
            alignment = None
            if data.get("alignment") is not None:
                alignment = Alignment.from_dict(data["alignment"], source=f"{source}: alignment")
            return cls(
                arch=str(data["arch"]),
                arch_kwargs=dict(data.get("arch_kwargs") or {}),
                input_nc=data.get("input_nc", 3),
                output_nc=data.get("output_nc", 1),
                output_bits=data.get("output_bits", 8),
                normalization=str(data.get("normalization", "minus_one_to_one")),
                input_size=_to_size(data["input_size"]),
                output_size=_to_size(data["output_size"]),
                alignment=alignment,
                provenance=dict(data.get("provenance") or {}),
                run_mode=str(data.get("run_mode", "eval")),
                format_version=version,
                thermal_fov=None if data.get("thermal_fov") is None else ThermalFov.from_dict(data["thermal_fov"]),
            )
        except AlignmentError as exc:
            raise ModelFileError(str(exc)) from exc
        except ModelFileError as exc:
            raise ModelFileError(f"{source}: {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: malformed model metadata: {exc}") from exc

    def to_metadata(self) -> dict[str, str]:
        """The safetensors metadata (string values only)."""
        return {
            "format": "pt",
            FORMAT_KEY: str(self.format_version),
            SPEC_KEY: json.dumps(self.to_dict(), sort_keys=True, allow_nan=False),
        }


def _is_size(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )


def _int_total(value: Any) -> int:
    """The sum of the absolute values of every integer in nested mappings/lists; iterative, so depth is no risk."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += abs(item)
    return total


def _to_size(value: Any) -> Size:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"a size must be [width, height], got {value!r}")
    w, h = value
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (w, h)):
        raise ValueError(f"a size must be two integers, got {value!r}")
    return (w, h)


def _jsonable_object(mapping: Mapping[Any, Any]) -> dict[str, JsonValue]:
    """A mapping as a JSON object (see :func:`_jsonable`)."""
    return {str(k): _jsonable(v) for k, v in mapping.items()}


def _jsonable(value: object) -> JsonValue:
    """Convert tuples, paths and dates to JSON values; reject what JSON cannot hold faithfully."""
    if isinstance(value, Mapping):
        return _jsonable_object(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ModelFileError(f"model metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable")


# -- writing ------------------------------------------------------------------------------------


def save_model(path: str | Path, generator: nn.Module | Mapping[str, torch.Tensor], spec: ModelSpec) -> Path:
    """Write ``generator``'s weights and ``spec`` to ``path`` (atomically); returns the path.

    Refuses weights with NaN/inf values, so a diverged training run cannot leave a
    model file that would only fail later on the vehicle.
    """
    path = Path(path)
    state = generator.state_dict() if isinstance(generator, nn.Module) else dict(generator)
    tensors: dict[str, torch.Tensor] = {}
    bad: list[str] = []
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise ModelFileError(f"cannot save {path}: state entry {name!r} is not a tensor")
        t = tensor.detach().to("cpu").contiguous()
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad.append(name)
        tensors[name] = t.clone() if _shares_storage(t, tensors) else t
    if bad:
        raise ModelFileError(f"refusing to save {path}: non-finite (NaN/inf) weights in {', '.join(bad[:5])}")
    metadata = spec.to_metadata()
    try:
        with atomic_path(path) as tmp:
            safetensors.torch.save_file(tensors, str(tmp), metadata=metadata)
    except OSError as exc:
        raise ModelFileError(f"cannot write model file {path}: {exc}") from exc
    return path


def _shares_storage(t: torch.Tensor, others: Mapping[str, torch.Tensor]) -> bool:
    ptr = t.untyped_storage().data_ptr()
    return any(o.untyped_storage().data_ptr() == ptr for o in others.values())


# -- reading ------------------------------------------------------------------------------------


def _read_header(path: Path) -> tuple[dict[str, object], int]:
    """The safetensors JSON header and the total size it implies, checked against the file.

    The header is free-form JSON until checked here: tensor entries by name, plus ``__metadata__``.
    """
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"model path is not a file: {path}")
    size = path.stat().st_size
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelFileError(f"{path}: not a model file (only {size} bytes; truncated or empty)")
            (n,) = struct.unpack("<Q", head)
            if n > _MAX_HEADER_BYTES or n + 8 > size:
                hint = (
                    " (it looks like a PyTorch .pth/zip file: use 'thermal-synth import-reference')"
                    if (head[:2] == b"PK" or head[:1] == b"\x80")
                    else ""
                )
                raise ModelFileError(
                    f"{path}: not a safetensors model file, or truncated (header length {n} does not fit the "
                    f"{size}-byte file){hint}"
                )
            raw = fh.read(n)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc}") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: not a safetensors model file (corrupted header: {exc})") from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: not a safetensors model file (header is not a JSON object)")
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ModelFileError(f"{path}: corrupted header entry for tensor {name!r}")
        end = max(end, offsets[1])
    if 8 + n + end != size:
        raise ModelFileError(
            f"{path}: file size {size} bytes does not match its header ({8 + n + end} bytes expected): "
            "truncated or corrupted; re-export or re-download it"
        )
    return header, size


def read_spec(path: str | Path) -> ModelSpec:
    """Only the :class:`ModelSpec` of a model file (cheap: reads the header, not the weights)."""
    path = Path(path)
    header, _ = _read_header(path)
    return _spec_from_header(path, header)


def _spec_from_header(path: Path, header: Mapping[str, object]) -> ModelSpec:
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or SPEC_KEY not in metadata:
        raise ModelFileError(
            f"{path}: a safetensors file, but not a thermal-synth model (no '{SPEC_KEY}' metadata). A checkpoint "
            "from the original pix2pix/CycleGAN code can be converted with 'thermal-synth import-reference'"
        )
    try:
        data = json.loads(metadata[SPEC_KEY])
    except (TypeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: model metadata is not valid JSON: {exc}") from exc
    return ModelSpec.from_dict(data, source=str(path))


def load_model(path: str | Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Read and validate a model file: its spec and its weights (on the CPU). Never unpickles."""
    path = Path(path)
    header, _ = _read_header(path)
    spec = _spec_from_header(path, header)
    try:
        state = safetensors.torch.load_file(str(path), device="cpu")
    except (safetensors.SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: cannot read the weights: {exc}") from exc
    bad = [name for name, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ModelFileError(
            f"{path}: weights contain NaN or infinite values ({shown}); the training run that wrote it diverged "
            "- use an earlier checkpoint"
        )
    return spec, state


def apply_run_mode(net: nn.Module, run_mode: str) -> nn.Module:
    """Put ``net`` in the mode its spec asks for (see :data:`RUN_MODES`); returns it."""
    if run_mode == "eval":
        net.eval()
    elif run_mode == "train-bn":
        net.train()
    else:
        raise ModelFileError(f"unknown run_mode {run_mode!r} (valid: {', '.join(RUN_MODES)})")
    return net


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (cache keys for exported graphs and engines)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
