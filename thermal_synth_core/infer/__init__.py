"""Inference: the :class:`Synthesizer`, its backends, colour maps and the embedded default model."""

from thermal_synth_core.infer.backends import BACKENDS, PRECISIONS, choose_backend, create_backend, list_backends
from thermal_synth_core.infer.colormap import COLORMAPS, apply_colormap, list_colormaps
from thermal_synth_core.infer.embedded import default_model_path, resolve_model_path
from thermal_synth_core.infer.imaging import CHANNEL_ORDERS, postprocess, preprocess
from thermal_synth_core.infer.synthesizer import Synthesis, Synthesizer, ThermalImage
from thermal_synth_core.infer.view import OUTPUT_WIDTH_CHOICES, VIEWS, ViewPlan, ViewSettings, parse_output_width

__all__ = [
    "BACKENDS",
    "CHANNEL_ORDERS",
    "COLORMAPS",
    "OUTPUT_WIDTH_CHOICES",
    "PRECISIONS",
    "VIEWS",
    "Synthesis",
    "Synthesizer",
    "ThermalImage",
    "ViewPlan",
    "ViewSettings",
    "apply_colormap",
    "choose_backend",
    "create_backend",
    "default_model_path",
    "list_backends",
    "list_colormaps",
    "parse_output_width",
    "postprocess",
    "preprocess",
    "resolve_model_path",
]
