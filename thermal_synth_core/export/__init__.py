"""Export: model file -> ONNX (verified against PyTorch) -> TensorRT engine (cached by what it depends on)."""

from thermal_synth_core.export.onnx_export import (
    EXPORT_VERSION,
    INPUT_NAME,
    OUTPUT_NAME,
    PRECISIONS,
    TOLERANCE,
    ParityReport,
    export_onnx,
    min_side,
    onnx_metadata,
    verify_onnx,
)

__all__ = [
    "EXPORT_VERSION",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "PRECISIONS",
    "TOLERANCE",
    "ParityReport",
    "export_onnx",
    "min_side",
    "onnx_metadata",
    "verify_onnx",
]
