"""The one inference API: RGB frames in, thermal frames out (preprocess -> backend -> postprocess).

The ROS 2 node, ``thermal-synth infer``, evaluation and the benchmarks all use
:class:`Synthesizer`; it holds no ROS types, so it is tested on plain arrays.
Each frame is synthesised in an output view (``rig``, ``camera``, or ``auto``
choosing between them; see :mod:`thermal_synth_core.infer.view`), and
:meth:`Synthesizer.synthesize` returns the output's camera model with it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import DataError, ModelFileError
from thermal_synth_core.infer.backends import Backend, create_backend
from thermal_synth_core.infer.colormap import apply_colormap
from thermal_synth_core.infer.embedded import resolve_model_path
from thermal_synth_core.infer.imaging import ThermalImage, check_rgb, model_alignment, postprocess, warp_to_blob
from thermal_synth_core.infer.view import ViewPlan, ViewSettings, plan_view
from thermal_synth_core.modelfile import ModelSpec, read_spec

__all__ = ["Synthesis", "Synthesizer", "ThermalImage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Synthesis:
    """One synthesised frame with the camera model of its view and the plan that made it."""

    image: ThermalImage
    camera: CameraModel
    plan: ViewPlan


class Synthesizer:
    """Turn RGB frames into synthetic thermal frames with one model file and one backend.

    Args:
        model: model file (.safetensors); None or "default" for the embedded default model.
        backend: "auto", "torch", "onnxruntime" or "tensorrt".
        device: "auto", "cpu", "cuda" or "cuda:N".
        precision: "fp32", "fp16" or "bf16" (what each backend supports differs; errors say so).
        view: "auto", "rig" or "camera" (see :mod:`thermal_synth_core.infer.view`).
        camera_hfov_deg: the RGB camera's horizontal field of view, used in the ``camera`` view when a
            frame comes without a camera model (None: the model's own field of view, with a warning).
        output_width: ``camera`` view output: "working" (the network's working size), "input" (the RGB
            frame's size) or a width in pixels (height from the frame's aspect ratio).
        alignment: an alignment (object or YAML path) replacing the model's, for another vehicle's rig.
        rig_hfov_deg: that rig's thermal field of view (None: the model's own).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        backend: str = "auto",
        device: str = "auto",
        precision: str = "fp32",
        *,
        view: str = "auto",
        camera_hfov_deg: float | None = None,
        output_width: str | int = "working",
        alignment: Alignment | str | Path | None = None,
        rig_hfov_deg: float | None = None,
    ) -> None:
        self.model_path = resolve_model_path(model)
        self.spec: ModelSpec = read_spec(self.model_path)
        if self.spec.input_nc != 3:
            raise ModelFileError(
                f"{self.model_path}: the Synthesizer feeds RGB (3 channels), the model takes {self.spec.input_nc}"
            )
        if self.spec.output_nc != 1:
            raise ModelFileError(
                f"{self.model_path}: a thermal model outputs 1 channel, this one outputs {self.spec.output_nc}"
            )
        override = Alignment.load(alignment) if isinstance(alignment, str | Path) else alignment
        self.view_settings = ViewSettings(view, camera_hfov_deg, output_width, override, rig_hfov_deg)
        self.alignment = override if override is not None else model_alignment(self.spec)
        self._plans: dict[tuple[tuple[int, int], CameraModel | None], ViewPlan] = {}
        self.backend: Backend = create_backend(backend, self.model_path, self.spec, device, precision)
        self.backend_name: str = self.backend.name
        log.debug("synthesizer ready: %s, %s", self.model_path.name, self.backend.describe())

    # -- what the outputs look like --------------------------------------------------------------

    @property
    def view(self) -> str:
        """The view setting: "auto", "rig" or "camera" (each frame's actual view is in its plan)."""
        return self.view_settings.view

    @property
    def output_encoding(self) -> str:
        """``mono8`` or ``mono16`` (the ROS image encoding of the thermal output)."""
        return self.spec.output_encoding

    @property
    def output_size(self) -> tuple[int, int]:
        """(W, H) of the thermal output in the model's own ``rig`` view (see :meth:`plan` for other frames)."""
        return self.spec.output_size

    @property
    def input_size(self) -> tuple[int, int]:
        """(W, H) the network runs at in the model's own ``rig`` view."""
        return self.spec.input_size

    def plan(self, width: int, height: int, camera: CameraModel | None = None) -> ViewPlan:
        """How a ``width`` x ``height`` frame (with this camera model, if known) is synthesised.

        ``camera`` may be for any rescale of the frame's size (it is fitted); a camera model
        that fits neither raises DataError. A new plan is logged once (view, sizes, why).
        """
        if camera is not None:
            camera = camera.check("camera model").fitted_to((width, height))
        key = ((int(width), int(height)), camera)
        found = self._plans.get(key)
        if found is None:
            found = plan_view(self.spec, self.alignment, self.view_settings, key[0], camera)
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = found
            log.info("%s", found.describe())
            for warning in found.warnings():
                log.warning("%s", warning)
        return found

    # -- running ---------------------------------------------------------------------------------

    def preprocess(
        self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb", plan: ViewPlan | None = None
    ) -> npt.NDArray[np.float32]:
        """One frame -> the (1, 3, H, W) network input (at the plan's working size)."""
        image = check_rgb(rgb)
        if plan is None:
            plan = self.plan(image.shape[1], image.shape[0])
        elif plan.rgb_size != (image.shape[1], image.shape[0]):
            raise DataError(
                f"the frame is {image.shape[1]}x{image.shape[0]}, the plan is for {plan.rgb_size[0]}x{plan.rgb_size[1]}"
            )
        return warp_to_blob(image, plan.matrix_array(), plan.working_size, channel_order)

    def postprocess(self, output: npt.NDArray[np.float32], plan: ViewPlan | None = None) -> ThermalImage:
        """One (1, H, W) network output -> thermal frame at the plan's output size (default: :attr:`output_size`)."""
        return postprocess(output, self.spec, None if plan is None else plan.output_size)

    def synthesize(
        self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb", camera: CameraModel | None = None
    ) -> Synthesis:
        """Synthesize one H x W x 3 uint8 frame; returns the image, its camera model and the plan."""
        image = check_rgb(rgb)
        plan = self.plan(image.shape[1], image.shape[0], camera)
        out = self.backend.run(self.preprocess(image, channel_order, plan))
        return Synthesis(self.postprocess(out[0], plan), plan.camera, plan)

    def __call__(self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb") -> ThermalImage:
        """Synthesize the thermal view of one H x W x 3 uint8 frame (its camera model unknown)."""
        return self.synthesize(rgb, channel_order).image

    def run_batch(
        self, images: Sequence[npt.NDArray[np.uint8]], channel_order: str = "rgb", camera: CameraModel | None = None
    ) -> list[ThermalImage]:
        """Synthesize several frames in batches (frames of the same size are batched together)."""
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        frames = list(images)
        results: list[ThermalImage] = []
        step = max(1, self.backend.max_batch)
        start = 0
        while start < len(frames):
            try:
                plan = self.plan(*_size_of(frames[start]), camera)
                chunk = [frames[start]]
                while len(chunk) < step and start + len(chunk) < len(frames):
                    nxt = frames[start + len(chunk)]
                    if _size_of(nxt) != plan.rgb_size:
                        break
                    chunk.append(nxt)
                batch = np.concatenate([self.preprocess(f, channel_order, plan) for f in chunk])
            except DataError as exc:
                bad = start + _first_bad(frames[start:], self, channel_order)
                raise DataError(f"batch frame {bad}: {exc}") from exc
            out = self.backend.run(batch)
            results.extend(self.postprocess(o, plan) for o in out)
            start += len(chunk)
        return results

    def colorize(self, thermal: ThermalImage, colormap: str = "ironbow") -> npt.NDArray[np.uint8]:
        """A thermal frame as BGR8 with a colour map (see :mod:`thermal_synth_core.infer.colormap`)."""
        return apply_colormap(thermal, colormap)

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()

    def __repr__(self) -> str:
        return f"<Synthesizer {self.model_path.name} {self.spec.arch} view {self.view} {self.backend.describe()}>"


#: Plans kept (frame sizes x camera models); a stream uses one, a folder of mixed cameras a few.
_MAX_PLANS = 16


def _size_of(frame: Any) -> tuple[int, int]:
    image = check_rgb(frame, "batch frame")
    return int(image.shape[1]), int(image.shape[0])


def _first_bad(chunk: Sequence[Any], synth: Synthesizer, channel_order: str) -> int:
    for i, frame in enumerate(chunk):
        try:
            synth.preprocess(frame, channel_order)
        except DataError:
            return i
    return 0
