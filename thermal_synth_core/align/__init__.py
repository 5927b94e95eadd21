"""RGB <-> thermal alignment: the transform type, estimation from frame pairs, and visual checks.

This package works on images in memory and never reads a dataset: sampling a
dataset's frames for estimation or a visual check is :mod:`thermal_synth_core.data.rig`'s
(``data`` depends on ``align``, never the reverse).
"""

from thermal_synth_core.align.estimate import EstimateResult, FrameFit, estimate_alignment
from thermal_synth_core.align.points import alignment_from_points, read_points
from thermal_synth_core.align.transform import Alignment, scale_matrix

__all__ = [
    "Alignment",
    "EstimateResult",
    "FrameFit",
    "alignment_from_points",
    "estimate_alignment",
    "read_points",
    "scale_matrix",
]
