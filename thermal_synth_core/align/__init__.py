"""RGB <-> thermal alignment: the transform type, estimation from data, and visual checks."""

from thermal_synth_core.align.estimate import EstimateResult, FrameFit, estimate_alignment, estimate_from_dataset
from thermal_synth_core.align.points import alignment_from_points, read_points
from thermal_synth_core.align.transform import Alignment, scale_matrix

__all__ = [
    "Alignment",
    "EstimateResult",
    "FrameFit",
    "alignment_from_points",
    "estimate_alignment",
    "estimate_from_dataset",
    "read_points",
    "scale_matrix",
]
