"""Datasets: layouts of public datasets, synthetic data, ``prepare``, manifests and training datasets.

Training and evaluation use:

* :func:`read_manifest` / :class:`Manifest`: ``prepare``'s output, validated (alignment included);
* :class:`PairedDataset` / :class:`UnpairedDataset` (``thermal_synth_core.data.datasets``, imports torch);
* :func:`scan_dataset` / :class:`FrameRecord`: raw dataset folders by format.
"""

from thermal_synth_core.data.layouts import FORMATS, LAYOUTS, FrameRecord, get_layout, scan_dataset
from thermal_synth_core.data.manifest import Manifest, PairEntry, SingleEntry, read_manifest

__all__ = [
    "FORMATS",
    "LAYOUTS",
    "FrameRecord",
    "Manifest",
    "PairEntry",
    "SingleEntry",
    "get_layout",
    "read_manifest",
    "scan_dataset",
]
