"""Typed errors, each said in the user's terms: which file, key or topic, and what to do.

Every error the product raises on purpose derives from :class:`ThermalSynthError`;
the CLI prints its message without a traceback and exits non-zero. Anything else
reaching the top level is a bug.
"""


class ThermalSynthError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class ConfigError(ThermalSynthError):
    """A configuration file or override is missing, malformed or of the wrong type."""


class DataError(ThermalSynthError):
    """A dataset, image or manifest is missing, unreadable or inconsistent."""


class AlignmentError(ThermalSynthError):
    """An RGB -> thermal alignment cannot be estimated, read or applied."""


class ModelFileError(ThermalSynthError):
    """A model file is missing, truncated, foreign or inconsistent with its metadata."""


class ArchitectureError(ThermalSynthError):
    """An unknown architecture name or invalid architecture arguments."""


class BackendError(ThermalSynthError):
    """An inference backend is unknown, unavailable, or failed to run."""


class ExportError(ThermalSynthError):
    """ONNX or TensorRT export failed or did not verify."""


class BagError(ThermalSynthError):
    """A rosbag is missing, corrupt, or lacks the requested topics."""


class TrainingError(ThermalSynthError):
    """Training cannot start or continue (bad data, bad checkpoint, ...)."""


class MessageError(ThermalSynthError):
    """A ROS message (live or from a bag) cannot be turned into an image: bad encoding, size or data."""
