"""The pinhole camera model that travels beside every image (the core's form of ``sensor_msgs/CameraInfo``).

One :class:`CameraModel` holds what a ROS CameraInfo holds (size, K, D, R, P),
so the core can scale it with the image, derive it from a field of view, check
it, and read or write it as ``camera_info.yaml`` (the layout of ROS's
camera_calibration_parsers), with no ROS import. ``thermal_synth_ros``
converts it to and from the message.

Conventions (the same as :mod:`thermal_synth_core.align.transform`): pixel
centres sit at integer coordinates, so resizing an image from ``W`` to ``W'``
maps ``u -> (u + 0.5) * W'/W - 0.5``; the principal point moves the same way,
and a 3-D point projects to the same relative position in both images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, TypedDict

import numpy as np
import numpy.typing as npt
import yaml

from thermal_synth_core.align.transform import ASPECT_TOLERANCE, scale_matrix
from thermal_synth_core.errors import DataError
from thermal_synth_core.fileio import atomic_write_text, read_yaml

__all__ = [
    "IDENTITY_R",
    "MAX_SIDE",
    "CameraInfoYaml",
    "CameraModel",
    "YamlMatrix",
    "focal_from_hfov",
    "hfov_from_focal",
]

Size = tuple[int, int]
IDENTITY_R: Final = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
#: Largest image side a camera model may describe (as for image messages).
MAX_SIDE: Final = 16384
#: Distortion models whose coefficients are in normalised coordinates, so they survive a rescale unchanged.
KNOWN_DISTORTION: Final = ("plumb_bob", "rational_polynomial", "equidistant", "")


#: The ROS message type of a camera model.
CAMERA_INFO_TYPE: Final = "sensor_msgs/msg/CameraInfo"


class YamlMatrix(TypedDict):
    """A matrix in camera_calibration_parsers' YAML: its shape and its values, row by row."""

    rows: int
    cols: int
    data: list[float]


class CameraInfoYaml(TypedDict):
    """A ``camera_info.yaml`` document (the camera_calibration_parsers layout), keys in file order."""

    image_width: int
    image_height: int
    camera_name: str
    camera_matrix: YamlMatrix
    distortion_model: str
    distortion_coefficients: YamlMatrix
    rectification_matrix: YamlMatrix
    projection_matrix: YamlMatrix


def _yaml_matrix(rows: int, cols: int, data: Sequence[float]) -> YamlMatrix:
    return {"rows": rows, "cols": cols, "data": [float(v) for v in data]}


def _field(msg: Any, name: str, ros1: str) -> list[float]:
    values = getattr(msg, name, None)
    if values is None:
        values = getattr(msg, ros1)
    return [float(v) for v in values]


def focal_from_hfov(width: int, hfov_deg: float) -> float:
    """Focal length in pixels of a pinhole camera ``width`` pixels wide with this horizontal field of view."""
    if not (0.0 < hfov_deg < 180.0) or not math.isfinite(hfov_deg):
        raise DataError(f"a horizontal field of view must be between 0 and 180 degrees, got {hfov_deg!r}")
    return (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)


def hfov_from_focal(width: int, fx: float) -> float:
    """Horizontal field of view in degrees of a pinhole camera ``width`` pixels wide with focal length ``fx``."""
    return math.degrees(2.0 * math.atan((width / 2.0) / fx))


@dataclass(frozen=True)
class CameraModel:
    """Size and pinhole intrinsics of one image stream (what a ROS CameraInfo says).

    ``k`` (3x3), ``r`` (3x3) and ``p`` (3x4) are row-major as in the message;
    ``d`` has as many coefficients as ``distortion_model`` uses.
    """

    width: int
    height: int
    k: tuple[float, ...]
    d: tuple[float, ...] = ()
    distortion_model: str = "plumb_bob"
    r: tuple[float, ...] = IDENTITY_R
    p: tuple[float, ...] = field(default=())
    frame_id: str = ""
    source: str = "CameraInfo"

    def __post_init__(self) -> None:
        if not self.p and len(self.k) == 9:
            k = self.k
            object.__setattr__(self, "p", (k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0))

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def pinhole(cls, size: Size, hfov_deg: float, source: str, frame_id: str = "") -> CameraModel:
        """A centred pinhole camera with square pixels and no distortion, from its horizontal field of view."""
        w, h = int(size[0]), int(size[1])
        f = focal_from_hfov(w, hfov_deg)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        return cls(
            w, h, (f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0), (0.0,) * 5, "plumb_bob", frame_id=frame_id, source=source
        )

    @classmethod
    def from_matrices(  # noqa: PLR0917 - the CameraInfo fields, in the message's order
        cls,
        size: Size,
        k: npt.ArrayLike,
        d: Sequence[float] = (),
        distortion_model: str = "plumb_bob",
        r: npt.ArrayLike | None = None,
        p: npt.ArrayLike | None = None,
        frame_id: str = "",
        source: str = "CameraInfo",
    ) -> CameraModel:
        """Build from array-likes (any nesting), checking nothing: call :meth:`problems` to validate."""
        kk = tuple(float(v) for v in np.asarray(k, dtype=np.float64).ravel())
        rr = IDENTITY_R if r is None else tuple(float(v) for v in np.asarray(r, dtype=np.float64).ravel())
        pp = () if p is None else tuple(float(v) for v in np.asarray(p, dtype=np.float64).ravel())
        return cls(
            int(size[0]), int(size[1]), kk, tuple(float(v) for v in d), str(distortion_model), rr, pp, frame_id, source
        )

    # -- what it says ---------------------------------------------------------------------------

    @property
    def size(self) -> Size:
        """(width, height)."""
        return (self.width, self.height)

    @property
    def fx(self) -> float:
        """Horizontal focal length in pixels."""
        return self.k[0]

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view in degrees (pinhole, from fx and the width)."""
        return hfov_from_focal(self.width, self.fx)

    def k_matrix(self) -> npt.NDArray[np.float64]:
        """K as a 3x3 array."""
        return np.asarray(self.k, dtype=np.float64).reshape(3, 3)

    def p_matrix(self) -> npt.NDArray[np.float64]:
        """P as a 3x4 array."""
        return np.asarray(self.p, dtype=np.float64).reshape(3, 4)

    def problems(self) -> list[str]:
        """What makes this model unusable (empty when it is fine)."""
        found: list[str] = []
        if not (0 < self.width <= MAX_SIDE and 0 < self.height <= MAX_SIDE):
            found.append(f"size {self.width}x{self.height} is not a camera image size")
        if len(self.k) != 9 or len(self.r) != 9 or len(self.p) != 12:
            found.append(f"K, R and P must have 9, 9 and 12 entries, got {len(self.k)}, {len(self.r)}, {len(self.p)}")
            return found
        values = (*self.k, *self.d, *self.r, *self.p)
        if not all(math.isfinite(v) for v in values):
            found.append("K, D, R or P holds NaN or infinite values")
            return found
        fx, fy = self.k[0], self.k[4]
        if fx <= 0 or fy <= 0:
            found.append(f"K has no positive focal lengths (fx {fx:g}, fy {fy:g}): an uncalibrated camera")
        elif self.k[8] != 1.0:
            found.append(f"K[2][2] must be 1, got {self.k[8]:g}")
        return found

    def check(self, what: str = "camera model") -> CameraModel:
        """``self``, or a DataError naming ``what`` and every problem."""
        problems = self.problems()
        if problems:
            raise DataError(f"{what}: " + "; ".join(problems))
        return self

    # -- geometry -------------------------------------------------------------------------------

    def same_aspect(self, size: Size) -> bool:
        """Whether an image of ``size`` is a rescale of this camera's images (aspect within 1%)."""
        return abs((size[0] / size[1]) / (self.width / self.height) - 1.0) <= ASPECT_TOLERANCE

    def scaled(self, size: Size) -> CameraModel:
        """This camera after its image is resized to ``size`` (pixel-centre convention, any aspect)."""
        if tuple(size) == self.size:
            return self
        return self.transformed(scale_matrix(self.size, size), size)

    def transformed(self, m: npt.NDArray[np.float64], size: Size) -> CameraModel:
        """This camera after its image is warped by the affine pixel map ``m`` (3x3, last row 0 0 1) to ``size``.

        K' = m K and P' = m P; distortion coefficients live in normalised coordinates and are kept.
        """
        k = m @ self.k_matrix()
        p = m @ self.p_matrix()
        return replace(
            self,
            width=int(size[0]),
            height=int(size[1]),
            k=tuple(float(v) for v in (k / k[2, 2]).ravel()),
            p=tuple(float(v) for v in (p / k[2, 2]).ravel()),
        )

    def fitted_to(self, size: Size, what: str = "CameraInfo") -> CameraModel:
        """This model for images of ``size``: itself, or rescaled when the image is a rescale of it; else DataError."""
        if self.size == tuple(size):
            return self
        if self.same_aspect(size):
            return self.scaled(size)
        raise DataError(
            f"{what} is for {self.width}x{self.height} images, but the image is {size[0]}x{size[1]} "
            "(neither the same size nor a rescale of it)"
        )

    def project(self, point: Sequence[float]) -> tuple[float, float]:
        """Pixel (u, v) of a 3-D point in the camera frame (z forward), through P (no distortion)."""
        x = self.p_matrix() @ np.array([point[0], point[1], point[2], 1.0])
        return float(x[0] / x[2]), float(x[1] / x[2])

    def with_frame(self, frame_id: str, source: str | None = None) -> CameraModel:
        """A copy with another frame_id (and source)."""
        return replace(self, frame_id=frame_id, source=self.source if source is None else source)

    # -- messages -------------------------------------------------------------------------------

    @classmethod
    def from_msg(cls, msg: Any, what: str = "CameraInfo") -> CameraModel:
        """A ``sensor_msgs/CameraInfo`` (rclpy, rosbags, ROS 1 field names alike) as the model of its images.

        Binning and a region of interest are applied (the images are the ROI, binned). A message
        that cannot describe a camera raises DataError naming ``what`` and the problem.
        """
        try:
            k = _field(msg, "k", "K")
            d = [float(v) for v in _field(msg, "d", "D")]
            r = _field(msg, "r", "R")
            p = _field(msg, "p", "P")
            width, height = int(msg.width), int(msg.height)
            frame_id = str(getattr(getattr(msg, "header", None), "frame_id", ""))
            model = cls.from_matrices(
                (width, height), k, d, str(msg.distortion_model), r, p if len(p) == 12 else None, frame_id, what
            )
            roi = getattr(msg, "roi", None)
            bx, by = max(1, int(getattr(msg, "binning_x", 0) or 1)), max(1, int(getattr(msg, "binning_y", 0) or 1))
        except (AttributeError, TypeError, ValueError) as exc:
            raise DataError(f"{what}: not a CameraInfo message ({type(exc).__name__}: {exc})") from exc
        if len(model.k) != 9 or len(model.r) != 9:
            raise DataError(f"{what}: K and R must have 9 entries, got {len(model.k)} and {len(model.r)}")
        model.check(what)
        if (
            roi is not None
            and int(roi.width) > 0
            and int(roi.height) > 0
            and (int(roi.width), int(roi.height))
            != (
                width,
                height,
            )
        ):
            shift = np.array([[1.0, 0.0, -float(roi.x_offset)], [0.0, 1.0, -float(roi.y_offset)], [0.0, 0.0, 1.0]])
            model = model.transformed(shift, (int(roi.width), int(roi.height)))
        if bx > 1 or by > 1:
            binned = (model.width // bx, model.height // by)
            model = model.transformed(scale_matrix(model.size, binned), binned)
        return model

    # -- camera_info.yaml ---------------------------------------------------------------------

    def to_msg(self, types: Mapping[str, Any], stamp_ns: int, frame_id: str) -> Any:
        """This camera model as a ``sensor_msgs/msg/CameraInfo`` of the rosbags type store ``types``.

        The counterpart of :meth:`from_msg` for the bags the package writes (``evaluate --write-bag``,
        ``synth-data --layout bag``); no binning, no region of interest.
        """
        stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        roi = types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return types[CAMERA_INFO_TYPE](
            header=types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id),
            height=self.height,
            width=self.width,
            distortion_model=self.distortion_model or "plumb_bob",
            d=np.asarray(self.d, dtype=np.float64),
            k=np.asarray(self.k, dtype=np.float64),
            r=np.asarray(self.r, dtype=np.float64),
            p=np.asarray(self.p, dtype=np.float64),
            binning_x=0,
            binning_y=0,
            roi=roi,
        )

    def to_yaml_dict(self, camera_name: str = "thermal_synth") -> CameraInfoYaml:
        """The camera_calibration_parsers YAML layout (what ``camera_info_url`` files hold)."""
        return {
            "image_width": self.width,
            "image_height": self.height,
            "camera_name": camera_name,
            "camera_matrix": _yaml_matrix(3, 3, self.k),
            "distortion_model": self.distortion_model or "plumb_bob",
            "distortion_coefficients": _yaml_matrix(1, len(self.d), self.d),
            "rectification_matrix": _yaml_matrix(3, 3, self.r),
            "projection_matrix": _yaml_matrix(3, 4, self.p),
        }

    def save_yaml(self, path: str | Path, camera_name: str = "thermal_synth") -> Path:
        """Write ``camera_info.yaml`` (atomically); returns the path."""
        text = yaml.safe_dump(self.to_yaml_dict(camera_name), sort_keys=False, default_flow_style=None)
        atomic_write_text(path, text)
        return Path(path)

    @classmethod
    def from_yaml_dict(cls, data: Mapping[str, Any], source: str = "camera_info.yaml") -> CameraModel:
        """Parse the camera_calibration_parsers layout; a DataError names ``source`` and what is wrong."""
        if not isinstance(data, Mapping):
            raise DataError(f"{source}: not a camera_info mapping (image_width, image_height, camera_matrix, ...)")
        try:

            def data_of(key: str, n: int | None) -> list[float]:
                block = data[key]
                values = [float(v) for v in (block["data"] if isinstance(block, Mapping) else block)]
                if n is not None and len(values) != n:
                    raise ValueError(f"{key} needs {n} values, got {len(values)}")
                return values

            model = cls.from_matrices(
                (int(data["image_width"]), int(data["image_height"])),
                data_of("camera_matrix", 9),
                data_of("distortion_coefficients", None) if "distortion_coefficients" in data else (),
                str(data.get("distortion_model", "plumb_bob")),
                data_of("rectification_matrix", 9) if "rectification_matrix" in data else None,
                data_of("projection_matrix", 12) if "projection_matrix" in data else None,
                source=source,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{source}: malformed camera_info ({type(exc).__name__}: {exc})") from exc
        return model.check(source)

    @classmethod
    def load_yaml(cls, path: str | Path) -> CameraModel:
        """Read a ``camera_info.yaml`` file."""
        path = Path(path)
        data = read_yaml(path, DataError, f"camera info file not found: {path}", "camera_info")
        return cls.from_yaml_dict(data, source=str(path))
