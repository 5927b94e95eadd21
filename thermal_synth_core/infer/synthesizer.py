"""The one inference API: RGB frames in, thermal frames out (preprocess -> backend -> postprocess).

The ROS 2 node, ``thermal-synth infer``, evaluation and the benchmarks all use
:class:`Synthesizer`; it holds no ROS types, so it is tested on plain arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from thermal_synth_core.errors import DataError, ModelFileError
from thermal_synth_core.infer.backends import Backend, create_backend
from thermal_synth_core.infer.colormap import apply_colormap
from thermal_synth_core.infer.embedded import resolve_model_path
from thermal_synth_core.infer.imaging import ThermalImage, model_alignment, postprocess, preprocess
from thermal_synth_core.modelfile import ModelSpec, read_spec

__all__ = ["Synthesizer", "ThermalImage"]

log = logging.getLogger(__name__)


class Synthesizer:
    """Turn RGB frames into synthetic thermal frames with one model file and one backend.

    Args:
        model: model file (.safetensors); None or "default" for the embedded default model.
        backend: "auto", "torch", "onnxruntime" or "tensorrt".
        device: "auto", "cpu", "cuda" or "cuda:N".
        precision: "fp32", "fp16" or "bf16" (what each backend supports differs; errors say so).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        backend: str = "auto",
        device: str = "auto",
        precision: str = "fp32",
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
        self.alignment = model_alignment(self.spec)
        self.backend: Backend = create_backend(backend, self.model_path, self.spec, device, precision)
        self.backend_name: str = self.backend.name
        log.debug("synthesizer ready: %s, %s", self.model_path.name, self.backend.describe())

    # -- what the outputs look like --------------------------------------------------------------

    @property
    def output_encoding(self) -> str:
        """``mono8`` or ``mono16`` (the ROS image encoding of the thermal output)."""
        return self.spec.output_encoding

    @property
    def output_size(self) -> tuple[int, int]:
        """(W, H) of the thermal output."""
        return self.spec.output_size

    @property
    def input_size(self) -> tuple[int, int]:
        """(W, H) the network runs at."""
        return self.spec.input_size

    # -- running ---------------------------------------------------------------------------------

    def preprocess(self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb") -> npt.NDArray[np.float32]:
        """One frame -> the (1, 3, H, W) network input."""
        return preprocess(rgb, self.spec, self.alignment, channel_order)

    def postprocess(self, output: npt.NDArray[np.float32]) -> ThermalImage:
        """One (1, H, W) network output -> thermal frame at :attr:`output_size`."""
        return postprocess(output, self.spec)

    def __call__(self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb") -> ThermalImage:
        """Synthesize the thermal view of one H x W x 3 uint8 frame."""
        out = self.backend.run(self.preprocess(rgb, channel_order))
        return self.postprocess(out[0])

    def run_batch(self, images: Sequence[npt.NDArray[np.uint8]], channel_order: str = "rgb") -> list[ThermalImage]:
        """Synthesize several frames (any sizes of the alignment's aspect ratio) in batches."""
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        frames = list(images)
        results: list[ThermalImage] = []
        step = max(1, self.backend.max_batch)
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            try:
                batch = np.concatenate([self.preprocess(f, channel_order) for f in chunk])
            except DataError as exc:
                raise DataError(f"batch frame {start + _first_bad(chunk, self, channel_order)}: {exc}") from exc
            out = self.backend.run(batch)
            results.extend(self.postprocess(o) for o in out)
        return results

    def colorize(self, thermal: ThermalImage, colormap: str = "ironbow") -> npt.NDArray[np.uint8]:
        """A thermal frame as BGR8 with a colour map (see :mod:`thermal_synth_core.infer.colormap`)."""
        return apply_colormap(thermal, colormap)

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()

    def __repr__(self) -> str:
        return f"<Synthesizer {self.model_path.name} {self.spec.arch} {self.backend.describe()}>"


def _first_bad(chunk: Sequence[Any], synth: Synthesizer, channel_order: str) -> int:
    for i, frame in enumerate(chunk):
        try:
            synth.preprocess(frame, channel_order)
        except DataError:
            return i
    return 0
