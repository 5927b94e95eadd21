"""The RGB -> thermal alignment of a camera rig: one 3x3 matrix and the sizes it refers to.

Conventions (used by ``align``, ``prepare``, training metadata and the ``Synthesizer``):

* ``matrix`` maps RGB pixel coordinates ``(x, y, 1)`` of an image of ``rgb_size``
  to thermal pixel coordinates of an image of ``thermal_size`` (homogeneous).
* Pixel centres sit at integer coordinates (OpenCV's convention), so rescaling an
  image by ``s`` maps ``x -> (x + 0.5) * s - 0.5``.
* Sizes are ``(width, height)``.

An RGB image of another size with the same aspect ratio (e.g. a camera driver
publishing at half resolution) is handled by composing a scale; a different
aspect ratio is an :class:`~thermal_synth_core.errors.AlignmentError`, never a
silent stretch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from thermal_synth_core.errors import AlignmentError
from thermal_synth_core.fileio import atomic_write_text, read_yaml

__all__ = ["ASPECT_TOLERANCE", "MAX_SIDE", "Alignment", "AlignmentJson", "scale_matrix", "warp_rgb_antialiased"]

#: Relative aspect-ratio difference still treated as "the same aspect ratio".
ASPECT_TOLERANCE = 0.01
#: Largest width or height an alignment may refer to (twice what image messages may be): larger is a
#: corrupt file, and warping to it (``prepare`` writes at the thermal size) would allocate gigabytes.
MAX_SIDE = 16384

Size = tuple[int, int]


class AlignmentJson(TypedDict):
    """:meth:`Alignment.to_dict`: the alignment as written to YAML and JSON files."""

    matrix: list[list[float]]
    rgb_size: list[int]
    thermal_size: list[int]
    method: str
    quality: dict[str, float]


def scale_matrix(src_size: Size, dst_size: Size) -> npt.NDArray[np.float64]:
    """The 3x3 matrix mapping pixel coordinates of an image of ``src_size`` to one resized to ``dst_size``."""
    sx = dst_size[0] / src_size[0]
    sy = dst_size[1] / src_size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]], dtype=np.float64)


@dataclass(frozen=True)
class Alignment:
    """An RGB -> thermal transform for one rig, with the sizes it refers to and how it was found."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    rgb_size: Size
    thermal_size: Size
    method: str = "identity"
    quality: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise AlignmentError(f"alignment matrix must be 3x3, got shape {m.shape}")
        if not np.isfinite(m).all():
            raise AlignmentError("alignment matrix contains NaN or infinite values")
        if abs(np.linalg.det(m)) < 1e-12:
            raise AlignmentError("alignment matrix is singular (it collapses the image)")
        for name, size in (("rgb_size", self.rgb_size), ("thermal_size", self.thermal_size)):
            if len(size) != 2 or min(size) <= 0:
                raise AlignmentError(f"alignment {name} must be two positive integers (width, height), got {size}")
            if max(size) > MAX_SIDE:
                raise AlignmentError(f"alignment {name} {size[0]}x{size[1]} is absurdly large (at most {MAX_SIDE})")

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_matrix(
        cls,
        matrix: npt.ArrayLike,
        rgb_size: Size,
        thermal_size: Size,
        method: str,
        quality: Mapping[str, float] | None = None,
    ) -> Alignment:
        """Build from any 3x3 array-like, normalised so that ``matrix[2][2] == 1``."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise AlignmentError(f"alignment matrix must be 3x3, got shape {m.shape}")
        if m[2, 2] != 0 and np.isfinite(m[2, 2]):
            m = m / m[2, 2]
        rows = tuple(tuple(float(v) for v in row) for row in m)
        return cls(
            matrix=rows,  # type: ignore[arg-type]
            rgb_size=(int(rgb_size[0]), int(rgb_size[1])),
            thermal_size=(int(thermal_size[0]), int(thermal_size[1])),
            method=method,
            quality=dict(quality or {}),
        )

    @classmethod
    def identity(cls, size: Size) -> Alignment:
        """Co-registered cameras of the same size (KAIST, LLVIP, synthetic pairs)."""
        return cls.from_matrix(np.eye(3), size, size, "identity")

    @classmethod
    def resize(cls, rgb_size: Size, thermal_size: Size) -> Alignment:
        """Co-registered cameras of different resolution: a pure rescale."""
        return cls.from_matrix(scale_matrix(rgb_size, thermal_size), rgb_size, thermal_size, "resize")

    # -- use ----------------------------------------------------------------------------------

    def as_array(self) -> npt.NDArray[np.float64]:
        """The 3x3 matrix as a float64 array."""
        return np.asarray(self.matrix, dtype=np.float64)

    def covers(self, rgb_size: Size) -> bool:
        """Whether an RGB image of ``rgb_size`` has this alignment's aspect ratio (within tolerance)."""
        ref = self.rgb_size[0] / self.rgb_size[1]
        got = rgb_size[0] / rgb_size[1]
        return abs(got / ref - 1.0) <= ASPECT_TOLERANCE

    def matrix_for(self, rgb_size: Size, out_size: Size | None = None) -> npt.NDArray[np.float64]:
        """Matrix from an RGB image of ``rgb_size`` to the thermal view resized to ``out_size``.

        ``out_size`` defaults to ``thermal_size``. Composing both scales here lets callers
        warp straight to a model's input size in one interpolation.
        """
        if not self.covers(rgb_size):
            raise AlignmentError(
                f"RGB image of {rgb_size[0]}x{rgb_size[1]} has another aspect ratio than the alignment's "
                f"reference {self.rgb_size[0]}x{self.rgb_size[1]}; estimate an alignment for this camera mode "
                "(thermal-synth align estimate) instead of stretching the image"
            )
        m = self.as_array()
        if tuple(rgb_size) != tuple(self.rgb_size):
            m = m @ scale_matrix(rgb_size, self.rgb_size)
        if out_size is not None and tuple(out_size) != tuple(self.thermal_size):
            m = scale_matrix(self.thermal_size, out_size) @ m
        return m

    def warp_rgb(
        self,
        rgb: npt.NDArray[Any],
        out_size: Size | None = None,
        interpolation: int = cv2.INTER_LINEAR,
    ) -> npt.NDArray[Any]:
        """Warp an RGB image (any size of the reference aspect ratio) into the thermal field of view."""
        if rgb.ndim < 2 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise AlignmentError(f"cannot warp an empty image of shape {rgb.shape}")
        h, w = rgb.shape[:2]
        size = out_size or self.thermal_size
        m = self.matrix_for((w, h), size)
        if self.is_affine(m):
            out = cv2.warpAffine(rgb, m[:2], size, flags=interpolation, borderMode=cv2.BORDER_CONSTANT)
        else:
            out = cv2.warpPerspective(rgb, m, size, flags=interpolation, borderMode=cv2.BORDER_CONSTANT)
        return np.asarray(out)

    @staticmethod
    def is_affine(m: npt.NDArray[np.float64]) -> bool:
        """Whether the bottom row is (0, 0, 1), so the cheaper affine warp is exact."""
        return bool(abs(m[2, 0]) < 1e-12 and abs(m[2, 1]) < 1e-12 and abs(m[2, 2] - 1.0) < 1e-12)

    def corner_error(self, other: Alignment) -> float:
        """Mean distance in thermal pixels between where both map the RGB image corners."""
        w, h = self.rgb_size
        corners = np.array([[0, 0, 1], [w - 1, 0, 1], [w - 1, h - 1, 1], [0, h - 1, 1]], dtype=np.float64).T
        a = self.as_array() @ corners
        b = other.matrix_for(self.rgb_size, self.thermal_size) @ corners
        a = a[:2] / a[2]
        b = b[:2] / b[2]
        return float(np.mean(np.linalg.norm(a - b, axis=0)))

    # -- (de)serialisation --------------------------------------------------------------------

    def to_dict(self) -> AlignmentJson:
        """Plain values for YAML/JSON (model metadata, manifests)."""
        return {
            "matrix": [list(row) for row in self.matrix],
            "rgb_size": list(self.rgb_size),
            "thermal_size": list(self.thermal_size),
            "method": self.method,
            "quality": {k: float(v) for k, v in self.quality.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "alignment") -> Alignment:
        """Validate and build from :meth:`to_dict` output; errors name ``source``."""
        if not isinstance(data, Mapping):
            raise AlignmentError(f"{source}: expected a mapping with matrix, rgb_size, thermal_size")
        missing = [k for k in ("matrix", "rgb_size", "thermal_size") if k not in data]
        if missing:
            raise AlignmentError(f"{source}: missing key(s) {', '.join(missing)}")
        try:
            matrix = np.asarray(data["matrix"], dtype=np.float64)
            rgb_size = _size(data["rgb_size"])
            thermal_size = _size(data["thermal_size"])
            quality = {str(k): float(v) for k, v in dict(data.get("quality") or {}).items()}
        except (TypeError, ValueError) as exc:
            raise AlignmentError(f"{source}: malformed alignment: {exc}") from exc
        method = str(data.get("method", "unknown"))
        try:
            return cls.from_matrix(matrix, rgb_size, thermal_size, method, quality)
        except AlignmentError as exc:
            raise AlignmentError(f"{source}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        """Write as YAML (atomically)."""
        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: str | Path) -> Alignment:
        """Read a YAML file written by :meth:`save` (or by hand)."""
        path = Path(path)
        missing = f"alignment file not found: {path} (create one with 'thermal-synth align estimate')"
        return cls.from_dict(read_yaml(path, AlignmentError, missing, "alignment"), source=str(path))


def _size(value: Any) -> Size:
    """``[width, height]`` as two ints; text ('22' once read as 2x2), fractions and inf/NaN are refused."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"a size must be [width, height], got {value!r}")
    out = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in out):
        raise ValueError(f"a size must be two integers [width, height], got {value!r}")
    return (out[0], out[1])


def warp_rgb_antialiased(rgb: npt.NDArray[np.uint8], alignment: Alignment, size: Size) -> npt.NDArray[np.uint8]:
    """Warp an RGB frame into the thermal view at ``size``, averaging (not skipping) pixels when shrinking.

    A FLIR v1 frame shrinks ~2.8x; a bilinear warp alone would alias fine detail,
    so the image is first area-resized to about the output scale, then warped.
    """
    h, w = rgb.shape[:2]
    m = alignment.matrix_for((w, h), size)
    scale = math.sqrt(abs(float(np.linalg.det(m[:2, :2]))))
    if scale < 0.8:
        small = (max(round(w * scale), 1), max(round(h * scale), 1))
        if alignment.covers(small):
            rgb = np.asarray(cv2.resize(rgb, small, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.asarray(alignment.warp_rgb(rgb, size), dtype=np.uint8)
