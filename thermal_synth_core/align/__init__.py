"""RGB <-> thermal alignment: the transform type, estimation from data, and visual checks."""

from thermal_synth_core.align.transform import Alignment, scale_matrix

__all__ = ["Alignment", "scale_matrix"]
