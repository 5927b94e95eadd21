"""Generators and discriminators: one registry each, reference-compatible parameter names.

>>> from thermal_synth_core.models import build_generator
>>> g = build_generator("unet_256", input_nc=3, output_nc=1)

Every generator accepts any H x W (see :class:`Generator`), and its state dict
uses the same names as the original pytorch-CycleGAN-and-pix2pix code, so its
checkpoints load (``thermal-synth import-reference``). :func:`load_generator`
turns a model file into its network.
"""

from thermal_synth_core.models.base import PAD_MODES, Generator, pad_amounts
from thermal_synth_core.models.complexity import count_macs, count_parameters
from thermal_synth_core.models.discriminators import NLayerDiscriminator, PixelDiscriminator
from thermal_synth_core.models.fast import FastUnetGenerator
from thermal_synth_core.models.layers import INIT_TYPES, NORMS, init_weights
from thermal_synth_core.models.loading import build_spec_generator, load_generator
from thermal_synth_core.models.registry import (
    DISCRIMINATORS,
    GENERATORS,
    ArchSpec,
    build_discriminator,
    build_generator,
    generator_info,
    list_discriminators,
    list_generators,
)
from thermal_synth_core.models.resnet import ResnetGenerator
from thermal_synth_core.models.unet import UnetGenerator

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "INIT_TYPES",
    "NORMS",
    "PAD_MODES",
    "ArchSpec",
    "FastUnetGenerator",
    "Generator",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "build_discriminator",
    "build_generator",
    "build_spec_generator",
    "count_macs",
    "count_parameters",
    "generator_info",
    "init_weights",
    "list_discriminators",
    "list_generators",
    "load_generator",
    "pad_amounts",
]
