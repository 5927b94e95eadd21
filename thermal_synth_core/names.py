"""The names that command lines and config files accept, with no heavy imports.

``thermal-synth --help`` (and every ``<command> --help``) builds its parsers
from these tuples without importing torch, OpenCV, ONNX Runtime or rclpy. Plain
tuples of names (views, output widths, bag storages, precisions, alignment
models) are defined only here and imported by the library; for registries that
map names to code (dataset layouts, backends, colour maps, generators),
``tests/core/test_names.py`` checks that the registry offers exactly these names.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALIGNMENT_MODELS",
    "BACKENDS",
    "COLORMAPS",
    "DATASET_FORMATS",
    "GENERATORS",
    "INFER_BENCH_ARCHS",
    "OUTPUT_STORAGES",
    "OUTPUT_WIDTH_CHOICES",
    "PRECISIONS",
    "REFERENCE_ARCHS",
    "SYNTH_LAYOUTS",
    "SYNTH_RIGS",
    "TRAIN_MODES",
    "VIEWS",
]

#: Dataset folder layouts that ``prepare`` and ``align`` read.
DATASET_FORMATS: Final = ("flir-v1", "flir-v2", "kaist", "llvip", "pairs")
#: Layouts ``synth-data`` writes.
SYNTH_LAYOUTS: Final = ("flir-v1", "flir-v2", "pairs", "bag")
#: Camera rigs of ``synth-data --layout bag`` (``--rig``): FLIR v1 style, or another offset, scale and rotation.
SYNTH_RIGS: Final = ("flir", "other")
#: Transform models ``align estimate`` fits.
ALIGNMENT_MODELS: Final = ("homography", "affine", "similarity")
#: Output views of a synthesizer (``infer``, ``evaluate``, the node).
VIEWS: Final = ("auto", "rig", "camera")
#: Words ``--output-width`` takes besides a number of pixels.
OUTPUT_WIDTH_CHOICES: Final = ("working", "input")
#: Inference backends (``auto`` is accepted too).
BACKENDS: Final = ("torch", "onnxruntime", "tensorrt")
#: Numeric precisions of a backend.
PRECISIONS: Final = ("fp32", "fp16", "bf16")
#: Colour maps of the ``image_color`` output.
COLORMAPS: Final = ("white-hot", "black-hot", "ironbow", "inferno")
#: Storage plug-ins of a bag that ``evaluate --write-bag`` writes (``auto``: the input bag's).
OUTPUT_STORAGES: Final = ("auto", "sqlite3", "mcap")
#: Generator architectures of the model registry.
GENERATORS: Final = ("unet_128", "unet_256", "unet_512", "resnet_6blocks", "resnet_9blocks", "fast_unet")
#: The generators ``bench infer`` times by default.
INFER_BENCH_ARCHS: Final = ("unet_256", "resnet_9blocks", "fast_unet")
#: Generator architectures of the original pytorch-CycleGAN-and-pix2pix (``--netG``) that can be imported.
REFERENCE_ARCHS: Final = ("unet_128", "unet_256", "unet_512", "resnet_6blocks", "resnet_9blocks")
#: Training modes (``mode`` in a training config).
TRAIN_MODES: Final = ("pix2pix", "cyclegan")
