"""The output view: in which camera's geometry a frame is synthesised, at which size, with which camera model.

One word, the same everywhere (``Synthesizer(view=...)``, the node's ``view``
parameter, ``--view`` on ``infer`` and ``evaluate``):

* ``rig``: the RGB frame is warped into the thermal view of the rig the
  alignment describes; the output has that thermal camera's size. Only
  meaningful for that rig's RGB camera (or one with its aspect ratio).
* ``camera``: no homography. The frame is resized so one pixel spans the same
  angle as one pixel of the model's training data (its *angular scale*: a
  person 20 m away is as many pixels tall as in training), synthesised at that
  *working size*, and returned pixel-aligned with the RGB frame at the size
  asked for (``output_width``).
* ``auto``: ``rig`` when the frame has the alignment reference's aspect ratio
  (within 1%), else ``camera``.

A :class:`ViewPlan` is computed once per frame size and camera model and holds
everything the Synthesizer needs: the pixel map from the RGB frame to the
network input, the working and output sizes, and the output's
:class:`~thermal_synth_core.camera.CameraModel` (what the node publishes as
``thermal/camera_info`` and ``infer`` writes as ``camera_info.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import Alignment, scale_matrix
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.modelfile import MAX_SIZE_SIDE, ModelSpec, ThermalFov
from thermal_synth_core.names import OUTPUT_WIDTH_CHOICES, VIEWS

__all__ = [
    "OUTPUT_WIDTH_CHOICES",
    "VIEWS",
    "ViewPlan",
    "ViewSettings",
    "derive_through",
    "parse_output_width",
    "plan_view",
]

# VIEWS (``auto`` first, the default) and OUTPUT_WIDTH_CHOICES come from thermal_synth_core.names.
#: Smallest side of a ``camera``-view working size: below it the camera sees too narrow an angle to synthesise.
MIN_WORKING_SIDE: Final = 16
#: A ``camera``-view working size more than this many times the frame's width is warned about.
UPSAMPLE_WARNING: Final = 2.0

Size = tuple[int, int]
OutputWidth = str | int

# How the RGB camera's angular scale was known, worded for logs and /diagnostics.
SCALE_FROM_INFO: Final = "CameraInfo"
SCALE_FROM_HFOV: Final = "camera_hfov_deg"
SCALE_ASSUMED: Final = "assumed: the model's own field of view"


def parse_output_width(value: object) -> OutputWidth:
    """``working``, ``input`` or a positive pixel count (an int or its text); else DataError."""
    if isinstance(value, bool):
        raise DataError(f"output_width must be 'working', 'input' or a number of pixels, got {value!r}")
    if isinstance(value, int):
        if not 0 < value <= MAX_SIZE_SIDE:
            raise DataError(f"output_width must be between 1 and {MAX_SIZE_SIDE} pixels, got {value}")
        return value
    text = str(value).strip().lower()
    if text in OUTPUT_WIDTH_CHOICES:
        return text
    if text.isdigit():
        return parse_output_width(int(text))
    raise DataError(f"output_width must be 'working', 'input' or a number of pixels, got {value!r}")


@dataclass(frozen=True)
class ViewSettings:
    """What the user chose: the view, the RGB camera's field of view if known, the output width, the rig."""

    view: str = "auto"
    camera_hfov_deg: float | None = None
    output_width: OutputWidth = "working"
    #: An alignment that replaces the model's (another vehicle's rig), or None for the model's own.
    alignment: Alignment | None = None
    #: That rig's thermal field of view (None: the model's own).
    rig_hfov_deg: float | None = None

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise DataError(f"unknown view {self.view!r}; valid: {', '.join(VIEWS)}")
        for name in ("camera_hfov_deg", "rig_hfov_deg"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0.0 < value < 180.0):
                raise DataError(f"{name} must be between 0 and 180 degrees, got {value!r}")
        object.__setattr__(self, "output_width", parse_output_width(self.output_width))


@dataclass(frozen=True)
class ViewPlan:
    """How frames of one size (and camera model) are synthesised; see the module docstring."""

    view: str
    reason: str
    rgb_size: Size
    working_size: Size
    output_size: Size
    #: 3x3 map from RGB pixel coordinates to network-input (working) pixel coordinates.
    matrix: tuple[tuple[float, float, float], ...]
    #: The camera model of the output image.
    camera: CameraModel
    #: How the RGB camera's angular scale was known (``camera`` view); empty in ``rig`` view.
    scale_source: str = ""

    @property
    def scale_assumed(self) -> bool:
        """True when no CameraInfo or camera_hfov_deg told the camera's field of view (a warning is due)."""
        return self.scale_source == SCALE_ASSUMED

    def warnings(self) -> list[str]:
        """What a user should hear about this plan (said once per plan by the Synthesizer and the node)."""
        found = []
        (rw, rh), (ww, wh) = self.rgb_size, self.working_size
        if self.scale_assumed:
            found.append(
                f"no CameraInfo and no camera field of view for {rw}x{rh} frames: assuming the model's own "
                f"({self.camera.hfov_deg:.1f} deg); set camera_hfov_deg (--camera-hfov) or publish the camera's "
                "CameraInfo, or objects come out at the wrong scale"
            )
        if self.view == "camera" and ww > UPSAMPLE_WARNING * rw:
            found.append(
                f"the camera view enlarges {rw}x{rh} frames {ww / rw:.1f}x (to {ww}x{wh}) to reach the model's angular "
                f"scale: a field of view of {self.camera.hfov_deg:.0f} deg on {rw} pixels is coarse for it. A "
                "fisheye's field of view does not describe a pinhole: give the CameraInfo of the image you feed"
            )
        return found

    def matrix_array(self) -> npt.NDArray[np.float64]:
        """:attr:`matrix` as a 3x3 float64 array."""
        return np.asarray(self.matrix, dtype=np.float64)

    def describe(self) -> str:
        """One line for logs: view, sizes, and why."""
        (rw, rh), (ww, wh), (ow, oh) = self.rgb_size, self.working_size, self.output_size
        scale = f", scale from {self.scale_source}" if self.scale_source else ""
        return f"view {self.view} for {rw}x{rh} frames: network at {ww}x{wh}, output {ow}x{oh}{scale} ({self.reason})"


def plan_view(
    spec: ModelSpec,
    alignment: Alignment,
    settings: ViewSettings,
    rgb_size: Size,
    camera: CameraModel | None = None,
) -> ViewPlan:
    """The plan for RGB frames of ``rgb_size`` (``camera``: their camera model, already fitted to that size)."""
    w, h = int(rgb_size[0]), int(rgb_size[1])
    if w <= 0 or h <= 0:
        raise DataError(f"an RGB frame of {w}x{h} has no pixels")
    if camera is not None and camera.size != (w, h):
        raise DataError(f"the camera model is for {camera.width}x{camera.height}, the frame is {w}x{h}")
    ref = alignment.rgb_size
    view, reason = settings.view, f"view {settings.view} was asked for"
    if view == "auto":
        if alignment.covers((w, h)):
            view, reason = "rig", f"auto: the frame has the aspect ratio of the alignment's reference {ref[0]}x{ref[1]}"
        else:
            view = "camera"
            reason = (
                f"auto: the frame's aspect ratio {w / h:.3f} is not the alignment reference's "
                f"{ref[0]}x{ref[1]} ({ref[0] / ref[1]:.3f}), so the camera's own view"
            )
    if view == "rig":
        return _rig_plan(spec, alignment, settings, (w, h), camera, reason)
    return _camera_plan(spec, settings, (w, h), camera, reason)


def _rig_plan(  # noqa: PLR0917 - one private step of plan_view
    spec: ModelSpec,
    alignment: Alignment,
    settings: ViewSettings,
    rgb_size: Size,
    camera: CameraModel | None,
    reason: str,
) -> ViewPlan:
    if not alignment.covers(rgb_size):
        ref = alignment.rgb_size
        raise AlignmentError(
            f"view 'rig' needs the RGB camera of the rig the alignment describes (frames of {ref[0]}x{ref[1]} or "
            f"that aspect ratio); this frame is {rgb_size[0]}x{rgb_size[1]}. Use view 'camera' (or 'auto') to "
            "synthesise in this camera's own view, or pass the alignment of this camera's rig"
        )
    if settings.alignment is None:
        # The model's own rig: the network's input size and the model's output size, as always.
        working, output = spec.input_size, spec.output_size
        rig_fov = spec.fov
    else:
        thermal = alignment.thermal_size
        rig_fov = ThermalFov(settings.rig_hfov_deg or spec.fov.hfov_deg, thermal[0], "the rig's thermal camera")
        s = spec.input_focal_px() / rig_fov.focal_px(thermal[0])
        working = _scaled_size(thermal, s, "the rig's thermal view")
        output = thermal
    matrix = alignment.matrix_for(rgb_size, working)
    if camera is not None:
        out_camera = derive_through(camera, alignment.matrix_for(rgb_size, output), output).with_frame(
            camera.frame_id,
            "derived from the RGB CameraInfo through the alignment (an approximation that holds for distant scenes)",
        )
    else:
        out_camera = CameraModel.pinhole(
            output, rig_fov.hfov_deg, f"pinhole from the thermal field of view ({rig_fov.hfov_deg:g} deg)"
        )
    return ViewPlan("rig", reason, rgb_size, working, output, _rows(matrix), out_camera)


def _camera_plan(
    spec: ModelSpec, settings: ViewSettings, rgb_size: Size, camera: CameraModel | None, reason: str
) -> ViewPlan:
    if camera is not None:
        source, cam = SCALE_FROM_INFO, camera
    elif settings.camera_hfov_deg is not None:
        source = SCALE_FROM_HFOV
        hfov = settings.camera_hfov_deg
        cam = CameraModel.pinhole(rgb_size, hfov, f"pinhole from camera_hfov_deg {hfov:g}")
    else:
        source = SCALE_ASSUMED
        hfov = spec.fov.hfov_deg
        cam = CameraModel.pinhole(rgb_size, hfov, f"pinhole from the model's field of view ({hfov:g} deg, assumed)")
    s = spec.input_focal_px() / cam.fx
    working = _scaled_size(rgb_size, s, f"this camera ({cam.hfov_deg:.1f} deg wide)")
    ow = settings.output_width
    if ow == "working":
        output = working
    elif ow == "input":
        output = rgb_size
    else:
        assert isinstance(ow, int)
        output = (ow, max(1, round(ow * rgb_size[1] / rgb_size[0])))
    matrix = scale_matrix(rgb_size, working)
    return ViewPlan("camera", reason, rgb_size, working, output, _rows(matrix), cam.scaled(output), source)


def _scaled_size(size: Size, s: float, what: str) -> Size:
    # The height follows the rounded width, so the aspect ratio is kept to half a pixel.
    width = max(1, round(size[0] * s))
    working = (width, max(1, round(width * size[1] / size[0])))
    if min(working) < MIN_WORKING_SIDE:
        raise DataError(
            f"at the model's angular scale {what} is only {working[0]}x{working[1]} pixels: its field of view is "
            "far narrower than the model's; check the CameraInfo or camera_hfov_deg"
        )
    if max(working) > MAX_SIZE_SIDE:
        raise DataError(
            f"at the model's angular scale {what} would be {working[0]}x{working[1]} pixels (at most "
            f"{MAX_SIZE_SIDE}); check the CameraInfo or camera_hfov_deg"
        )
    return working


def _rows(m: npt.NDArray[np.float64]) -> tuple[tuple[float, float, float], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=np.float64))  # type: ignore[misc]


def derive_through(camera: CameraModel, m: npt.NDArray[np.float64], size: Size) -> CameraModel:
    """The camera model of an image made by warping ``camera``'s image with the 3x3 pixel map ``m``.

    Exact for an affine ``m`` (scale, offset: the FLIR rig). For a homography with
    rotation or perspective, ``m K`` is split (RQ decomposition) into intrinsics
    and a rotation; the intrinsics are returned and the rotation is left out,
    which holds for distant scenes.
    """
    if Alignment.is_affine(m) and abs(m[0, 1]) < 1e-12 and abs(m[1, 0]) < 1e-12:
        return camera.transformed(m, size)
    mk = m @ camera.k_matrix()
    k_new = np.asarray(cv2.RQDecomp3x3(mk)[1], dtype=np.float64)  # (euler angles, R upper, Q, ...)
    # RQ leaves signs free: make the focal lengths positive (flipping the matching rotation rows).
    signs = np.diag(np.sign(np.diag(k_new)))
    k_new = k_new @ signs
    k_new = k_new / k_new[2, 2]
    p = np.hstack([k_new, np.zeros((3, 1))])
    return CameraModel.from_matrices(
        size, k_new, camera.d, camera.distortion_model, None, p, camera.frame_id, camera.source
    )
