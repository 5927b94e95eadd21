"""The node's parameters: one table of names, types, defaults, ranges and whether they change live.

Declared with descriptors (``ros2 param describe /thermal_synth colormap`` tells
the type, range and meaning), loaded from ``config/synth.yaml`` by the launch
file. Parameters marked ``live`` take effect at run time; the others choose the
model, transport or QoS and need a restart, which the node says when a change
is attempted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

__all__ = ["INPUT_TRANSPORTS", "OUTPUT_ENCODINGS", "PARAMETERS", "VIEWS", "ParamSpec", "descriptor"]

INPUT_TRANSPORTS = ("raw", "compressed")
VIEWS = ("auto", "rig", "camera")
OUTPUT_ENCODINGS = ("auto", "mono8", "mono16")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: default (its type follows), meaning, limits, and whether it changes live."""

    name: str
    default: Any
    description: str
    live: bool
    choices: tuple[str, ...] = ()
    range: tuple[float, float] | None = None


PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("model_path", "", "model file (.safetensors); empty or 'default': the embedded default model", False),
    ParamSpec("backend", "auto", "inference backend: auto, torch, onnxruntime or tensorrt", False),
    ParamSpec("device", "auto", "inference device: auto, cpu, cuda or cuda:N", False),
    ParamSpec("precision", "fp32", "inference precision: fp32, fp16 or bf16 (fp16/bf16 on GPU backends)", False),
    ParamSpec(
        "view",
        "auto",
        "output view: rig (warp into the training rig's thermal view), camera (this camera's own view at the "
        "model's angular scale), auto (rig for frames of the alignment's aspect ratio, else camera)",
        False,
        choices=VIEWS,
    ),
    ParamSpec(
        "camera_hfov_deg",
        0.0,
        "the RGB camera's horizontal field of view in degrees, for the camera view when rgb/camera_info is "
        "absent; 0: the model's own (a warning says so)",
        False,
        range=(0.0, 179.0),
    ),
    ParamSpec(
        "output_width",
        "working",
        "camera view output width: working (the network's working size), input (the RGB frame's), or pixels",
        False,
    ),
    ParamSpec(
        "alignment_path",
        "",
        "alignment YAML (thermal-synth align estimate) replacing the model's, for rig view on this vehicle's rig",
        False,
    ),
    ParamSpec(
        "rig_hfov_deg",
        0.0,
        "with alignment_path: that rig's thermal horizontal field of view in degrees; 0: the model's own",
        False,
        range=(0.0, 179.0),
    ),
    ParamSpec(
        "input_transport",
        "raw",
        "raw: subscribe rgb/image (sensor_msgs/Image); compressed: rgb/image/compressed (CompressedImage)",
        False,
        choices=INPUT_TRANSPORTS,
    ),
    ParamSpec("colormap", "ironbow", "colour map of thermal/image_color: white-hot, black-hot, ironbow, inferno", True),
    ParamSpec(
        "output_encoding",
        "auto",
        "thermal/image encoding: auto (what the model produces), mono8 or mono16",
        True,
        choices=OUTPUT_ENCODINGS,
    ),
    ParamSpec("publish_color", True, "publish thermal/image_color (only computed while subscribed)", True),
    ParamSpec(
        "publish_comparison",
        True,
        "publish thermal/comparison and real_thermal/image_agc when real thermal arrives (only while subscribed)",
        True,
    ),
    ParamSpec(
        "sync_slop",
        0.05,
        "seconds: pair an RGB frame with the real thermal frame of nearest header stamp at most this far away",
        True,
        range=(0.0, 10.0),
    ),
    ParamSpec(
        "max_rate_hz",
        0.0,
        "at most this many frames per second are synthesised; 0: as fast as frames come",
        True,
        range=(0.0, 1000.0),
    ),
    ParamSpec("thermal_frame_id", "", "frame_id of the outputs; empty: the RGB message's frame_id", True),
    ParamSpec(
        "input_qos.reliability",
        "best_effort",
        "QoS reliability of rgb/image and real_thermal/image: best_effort or reliable",
        False,
        choices=("best_effort", "reliable"),
    ),
    ParamSpec("input_qos.depth", 1, "QoS keep-last depth of the inputs", False, range=(1, 100)),
    ParamSpec(
        "output_qos.reliability",
        "reliable",
        "QoS reliability of the outputs: reliable (RViz, ros2 bag record) or best_effort",
        False,
        choices=("best_effort", "reliable"),
    ),
    ParamSpec("output_qos.depth", 5, "QoS keep-last depth of the outputs", False, range=(1, 100)),
    ParamSpec("diagnostics_period", 1.0, "seconds between /diagnostics messages", False, range=(0.05, 60.0)),
    ParamSpec(
        "stall_timeout",
        5.0,
        "seconds an input may stay quiet before /diagnostics and the log say the link stalled, and what to check",
        True,
        range=(0.5, 3600.0),
    ),
)


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """The ROS parameter descriptor of ``spec``: type, description, range, and what a change needs."""
    kinds = {
        bool: ParameterType.PARAMETER_BOOL,
        int: ParameterType.PARAMETER_INTEGER,
        float: ParameterType.PARAMETER_DOUBLE,
        str: ParameterType.PARAMETER_STRING,
    }
    constraints = [f"one of: {', '.join(spec.choices)}"] if spec.choices else []
    constraints.append("changes take effect at run time" if spec.live else "changing it needs a node restart")
    d = ParameterDescriptor(
        name=spec.name,
        type=kinds[type(spec.default)],
        description=spec.description,
        additional_constraints="; ".join(constraints),
    )
    if spec.range is not None:
        lo, hi = spec.range
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
        else:
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d
