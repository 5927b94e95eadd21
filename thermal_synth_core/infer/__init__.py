"""Inference: the :class:`Synthesizer`, its backends, colour maps and the embedded default model."""

from thermal_synth_core.infer.backends import BACKENDS, PRECISIONS, choose_backend, create_backend, list_backends
from thermal_synth_core.infer.colormap import COLORMAPS, apply_colormap, list_colormaps
from thermal_synth_core.infer.embedded import default_model_path, resolve_model_path
from thermal_synth_core.infer.imaging import CHANNEL_ORDERS, postprocess, preprocess
from thermal_synth_core.infer.synthesizer import Synthesizer, ThermalImage

__all__ = [
    "BACKENDS",
    "CHANNEL_ORDERS",
    "COLORMAPS",
    "PRECISIONS",
    "Synthesizer",
    "ThermalImage",
    "apply_colormap",
    "choose_backend",
    "create_backend",
    "default_model_path",
    "list_backends",
    "list_colormaps",
    "postprocess",
    "preprocess",
    "resolve_model_path",
]
