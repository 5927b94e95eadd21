"""Procedural street scenes with a known RGB -> thermal mapping: dataset folders and rosbags.

Entry point: :func:`generate` (what ``thermal-synth synth-data`` runs).
"""

from __future__ import annotations

from pathlib import Path

from thermal_synth_core.data.synth.bag import BAG_INFO_TOPICS, BAG_TOPICS, write_bag
from thermal_synth_core.data.synth.folders import (
    FOLDER_LAYOUTS,
    GROUND_TRUTH_FILE,
    INFO_FILE,
    SynthOptions,
    SynthResult,
    flir_v1_alignment,
    flir_v2_alignment,
    generate_folders,
    other_rig_alignment,
)
from thermal_synth_core.data.synth.world import MASK_HOT_VEHICLE, MASK_PERSON

__all__ = [
    "BAG_INFO_TOPICS",
    "BAG_TOPICS",
    "GROUND_TRUTH_FILE",
    "INFO_FILE",
    "LAYOUTS",
    "MASK_HOT_VEHICLE",
    "MASK_PERSON",
    "SynthOptions",
    "SynthResult",
    "flir_v1_alignment",
    "flir_v2_alignment",
    "generate",
    "other_rig_alignment",
]

#: Layouts ``synth-data`` can write.
LAYOUTS = (*FOLDER_LAYOUTS, "bag")


def generate(out: str | Path, options: SynthOptions) -> SynthResult:
    """Write synthetic data in ``options.layout`` to ``out`` (a folder; for ``bag``, the bag folder)."""
    if options.layout == "bag":
        return write_bag(out, options)
    return generate_folders(out, options)
