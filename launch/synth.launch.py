"""Launch the synthetic thermal camera: ``ros2 launch thermal_synth_ros synth.launch.py``.

Arguments (``ros2 launch thermal_synth_ros synth.launch.py --show-args``):
  namespace                               the node and its relative topics in this namespace (e.g. front)
  rgb_topic, real_thermal_topic           inputs (``<rgb_topic>/compressed`` with input_transport:=compressed)
  thermal_topic, comparison_topic         outputs (``<thermal_topic>_color``, ``<real_thermal_topic>_agc`` follow)
                                          each image topic's CameraInfo is the ``camera_info`` beside it
                                          (``/cam/color/image_raw`` -> ``/cam/color/camera_info``)
  model_path, backend, device,
  input_transport, view, camera_hfov_deg  override the params file when non-empty
  params_file                             node parameters (default: config/synth.yaml)
  use_sim_time                            follow /clock (bag replay: ``thermal-synth replay --clock``)
  rviz                                    also start rviz2 with config/synth.rviz
  dds_transports                          FASTDDS_BUILTIN_TRANSPORTS for the node and rviz2 (empty: the profile)
  dds_profile                             Fast DDS XML profile used when dds_transports is empty
  log_level                               the node's log level

Examples:
  ros2 launch thermal_synth_ros synth.launch.py rgb_topic:=/camera/color/image_raw \\
      real_thermal_topic:=/flir/image_raw rviz:=true
  ros2 launch thermal_synth_ros synth.launch.py namespace:=front rgb_topic:=/front/camera/image_raw
"""

from __future__ import annotations

import posixpath

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchContext, LaunchDescription

PACKAGE = "thermal_synth_ros"
#: Node parameters a launch argument overrides only when given (so the params file keeps its say).
OVERRIDABLE = ("model_path", "backend", "device", "input_transport", "view", "camera_hfov_deg")
#: Overridable parameters that are numbers (launch arguments are text).
NUMERIC = ("camera_hfov_deg",)


def _is_true(context: LaunchContext, name: str) -> bool:
    return str(LaunchConfiguration(name).perform(context)).strip().lower() in ("true", "1", "yes", "on")


def _topic(context: LaunchContext, name: str) -> str:
    return str(LaunchConfiguration(name).perform(context)).strip()


def _info_topic(image_topic: str) -> str:
    """The CameraInfo topic beside an image topic (image_transport's rule: same namespace, ``camera_info``)."""
    return posixpath.join(posixpath.dirname(image_topic), "camera_info")


def _remappings(context: LaunchContext, *, absolute: bool) -> list[tuple[str, str]]:
    """Node topic -> launch argument topic; ``absolute`` for rviz2, whose config names /topics."""
    rgb, real = _topic(context, "rgb_topic"), _topic(context, "real_thermal_topic")
    thermal, comparison = _topic(context, "thermal_topic"), _topic(context, "comparison_topic")
    pairs = [
        ("rgb/image", rgb),
        ("rgb/image/compressed", f"{rgb}/compressed"),
        ("rgb/camera_info", _info_topic(rgb)),
        ("real_thermal/image", real),
        ("real_thermal/camera_info", _info_topic(real)),
        ("real_thermal/image_agc", f"{real}_agc"),
        ("thermal/image", thermal),
        ("thermal/camera_info", _info_topic(thermal)),
        ("thermal/image_color", f"{thermal}_color"),
        ("thermal/comparison", comparison),
    ]
    return [(f"/{src}" if absolute else src, dst) for src, dst in pairs]


def _dds_env(context: LaunchContext) -> dict[str, str]:
    """The same Fast DDS transports for the node and rviz2: a builtin choice if given, else the XML profile."""
    transports = _topic(context, "dds_transports")
    if transports:
        return {"FASTDDS_BUILTIN_TRANSPORTS": transports}
    return {"FASTDDS_DEFAULT_PROFILES_FILE": _topic(context, "dds_profile")}


def _actions(context: LaunchContext) -> list[Node]:
    use_sim_time = _is_true(context, "use_sim_time")
    dds_env = _dds_env(context)
    overrides: dict[str, object] = {"use_sim_time": use_sim_time}
    for name in OVERRIDABLE:
        value = str(LaunchConfiguration(name).perform(context)).strip()
        if value:
            overrides[name] = float(value) if name in NUMERIC else value
    share = str(FindPackageShare(PACKAGE).perform(context))
    namespace = _topic(context, "namespace")
    actions = [
        Node(
            package=PACKAGE,
            executable="thermal_synth_node",
            name="thermal_synth",
            namespace=namespace,
            output="screen",
            emulate_tty=True,
            parameters=[LaunchConfiguration("params_file"), overrides],
            remappings=_remappings(context, absolute=False),
            ros_arguments=["--log-level", LaunchConfiguration("log_level")],
            additional_env=dds_env,
        )
    ]
    if _is_true(context, "rviz"):
        actions.append(
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                namespace=namespace,  # its config's topics then resolve beside the node's
                arguments=["-d", f"{share}/config/synth.rviz"],
                parameters=[{"use_sim_time": use_sim_time}],
                remappings=_remappings(context, absolute=True),
                additional_env=dds_env,
            )
        )
    return actions


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, set the DDS transports, start the node and (optionally) RViz."""
    share = FindPackageShare(PACKAGE)
    arguments = [
        ("namespace", "", "namespace of the node and its relative topics (one per camera: front, rear, ...)"),
        ("rgb_topic", "rgb/image", "RGB camera topic (sensor_msgs/Image; its CameraInfo is camera_info beside it)"),
        ("real_thermal_topic", "real_thermal/image", "real thermal camera topic, if the vehicle has one"),
        ("thermal_topic", "thermal/image", "synthetic thermal output topic (mono8/mono16)"),
        ("comparison_topic", "thermal/comparison", "RGB | synthetic | real side-by-side output topic"),
        ("model_path", "", "model file (.safetensors); empty: the params file's, there empty: the embedded model"),
        ("backend", "", "auto, torch, onnxruntime or tensorrt; empty: the params file's"),
        ("device", "", "auto, cpu, cuda or cuda:N; empty: the params file's"),
        ("input_transport", "", "raw or compressed (<rgb_topic>/compressed); empty: the params file's"),
        ("view", "", "output view: auto, rig or camera; empty: the params file's"),
        ("camera_hfov_deg", "", "the RGB camera's horizontal field of view without CameraInfo; empty: params file"),
        ("use_sim_time", "false", "use /clock, e.g. during bag replay"),
        ("rviz", "false", "also start rviz2 with config/synth.rviz"),
        ("log_level", "info", "log level of the node: debug, info, warn, error"),
    ]
    return LaunchDescription(
        [
            *(DeclareLaunchArgument(n, default_value=d, description=text) for n, d, text in arguments),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "config", "synth.yaml"]),
                description="node parameters YAML",
            ),
            DeclareLaunchArgument(
                "dds_transports",
                # A value exported in the shell wins, as in the node and `thermal-synth replay`.
                default_value=EnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", default_value=""),
                description=(
                    "FASTDDS_BUILTIN_TRANSPORTS for the node and rviz2 (e.g. LARGE_DATA); empty: the XML profile "
                    "of dds_profile. The camera driver must use transports that reach the node (see README)"
                ),
            ),
            DeclareLaunchArgument(
                "dds_profile",
                default_value=EnvironmentVariable(
                    "FASTDDS_DEFAULT_PROFILES_FILE",
                    default_value=PathJoinSubstitution([share, "config", "fastdds_profile.xml"]),
                ),
                description=(
                    "Fast DDS XML profile for the node and rviz2 when dds_transports is empty (default: the "
                    "package's, shared memory with a 64 MiB segment + UDPv4)"
                ),
            ),
            OpaqueFunction(function=_actions),
        ]
    )
