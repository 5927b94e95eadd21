"""The one seam between the node and the synthesis library.

The node only needs what :class:`ThermalModel` describes (the attributes and
call of ``thermal_synth_core.infer.Synthesizer``) and a colour-map function, so
it can be tested with a stand-in, and the library's loading rules stay in the
library. :func:`load_thermal_model` and :func:`load_colorizer` are the only
places that use ``thermal_synth_core.infer``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from thermal_synth_core.camera import CameraModel
from thermal_synth_core.errors import AlignmentError, ModelFileError
from thermal_synth_core.infer import Synthesis, Synthesizer
from thermal_synth_core.infer.colormap import apply_colormap
from thermal_synth_core.infer.embedded import is_embedded

__all__ = ["Colorizer", "ModelParams", "ThermalModel", "load_colorizer", "load_thermal_model"]

#: ``(thermal HxW uint8|uint16, colour-map name) -> HxWx3 uint8 BGR``; raises on an unknown name.
Colorizer: TypeAlias = Callable[[npt.NDArray[Any], str], npt.NDArray[np.uint8]]


class ThermalModel(Protocol):
    """What the node uses of a ``Synthesizer``: RGB frame in, single-channel thermal frame out."""

    spec: Any
    """Model metadata (``arch``, provenance, ...), shown in diagnostics."""
    backend_name: str

    @property
    def output_encoding(self) -> str:
        """``"mono8"`` or ``"mono16"``: what ``__call__`` returns (uint8 or uint16)."""
        ...

    @property
    def output_size(self) -> tuple[int, int]:
        """``(width, height)`` of the returned frames."""
        ...

    def synthesize(
        self, rgb: npt.NDArray[np.uint8], channel_order: str = "rgb", camera: CameraModel | None = None
    ) -> Synthesis:
        """Thermal (H x W, uint8 or uint16) of an H x W x 3 uint8 image, its camera model and its view plan."""
        ...


@dataclass(frozen=True)
class ModelParams:
    """The node parameters that choose and load the model (changing any needs a restart)."""

    model_path: str = ""
    backend: str = "auto"
    device: str = "auto"
    precision: str = "fp32"
    view: str = "auto"
    camera_hfov_deg: float = 0.0  # 0: unknown
    output_width: str = "working"
    alignment_path: str = ""
    rig_hfov_deg: float = 0.0  # 0: the model's own

    @property
    def is_default(self) -> bool:
        """True when the embedded default model is meant (``model_path`` empty or ``default``)."""
        return is_embedded(self.model_path)

    def describe(self) -> str:
        """The model as people should read it in logs and diagnostics."""
        return "embedded default model" if self.is_default else self.model_path


def load_thermal_model(params: ModelParams) -> ThermalModel:
    """Load the ``Synthesizer`` for ``params``; raises a ThermalSynthError the node reports as fatal."""
    path: Path | None = None
    if not params.is_default:
        # Said here in the node's terms; the Synthesizer checks the file's contents.
        path = Path(params.model_path).expanduser()
        if not path.is_file():
            raise ModelFileError(
                f"model file {path} (parameter model_path) does not exist or is not a file; "
                "set model_path to a .safetensors model, or leave it empty for the embedded default model"
            )
    alignment: Path | None = None
    if params.alignment_path.strip():
        alignment = Path(params.alignment_path).expanduser()
        if not alignment.is_file():
            raise AlignmentError(
                f"alignment file {alignment} (parameter alignment_path) does not exist; set it to a YAML written by "
                "'thermal-synth align estimate', or leave it empty for the model's own rig"
            )
    model: ThermalModel = Synthesizer(
        path,
        backend=params.backend,
        device=params.device,
        precision=params.precision,
        view=params.view,
        camera_hfov_deg=params.camera_hfov_deg or None,
        output_width=params.output_width,
        alignment=alignment,
        rig_hfov_deg=params.rig_hfov_deg or None,
    )
    return model


def load_colorizer() -> Colorizer:
    """The library's colour maps (white-hot, black-hot, ironbow, inferno)."""
    colorize: Colorizer = apply_colormap
    return colorize
