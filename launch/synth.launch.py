"""Launch the synthetic thermal camera: ``ros2 launch thermal_synth_ros synth.launch.py``.

Arguments (``ros2 launch thermal_synth_ros synth.launch.py --show-args``):
  rgb_topic, thermal_topic, real_thermal_topic   topic remappings
  model_path, backend                            override config/synth.yaml when non-empty
  params_file                                    node parameters (default: config/synth.yaml)
  use_sim_time                                   follow /clock (bag replay)
  rviz                                           also start rviz2 with config/synth.rviz
  dds_transports                                 FASTDDS_BUILTIN_TRANSPORTS for the node
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchContext, LaunchDescription

PACKAGE = "thermal_synth_ros"


def _node(context: LaunchContext) -> list[Node]:
    # Only non-empty arguments override the params file, so a model_path set in
    # the file is not clobbered by an empty default here.
    overrides: dict[str, object] = {
        "use_sim_time": LaunchConfiguration("use_sim_time").perform(context).lower() in ("true", "1", "yes"),
    }
    for name in ("model_path", "backend"):
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value
    return [
        Node(
            package=PACKAGE,
            executable="thermal_synth_node",
            name="thermal_synth",
            output="screen",
            emulate_tty=True,
            parameters=[LaunchConfiguration("params_file"), overrides],
            remappings=[
                ("rgb/image", LaunchConfiguration("rgb_topic")),
                ("rgb/image/compressed", [LaunchConfiguration("rgb_topic"), "/compressed"]),
                ("real_thermal/image", LaunchConfiguration("real_thermal_topic")),
                ("thermal/image", LaunchConfiguration("thermal_topic")),
            ],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, the node and (optionally) RViz."""
    share = FindPackageShare(PACKAGE)
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "rgb_topic", default_value="rgb/image", description="RGB camera topic (sensor_msgs/Image)"
            ),
            DeclareLaunchArgument(
                "thermal_topic", default_value="thermal/image", description="synthetic thermal output topic"
            ),
            DeclareLaunchArgument(
                "real_thermal_topic",
                default_value="real_thermal/image",
                description="real thermal camera topic, if the vehicle has one",
            ),
            DeclareLaunchArgument(
                "model_path",
                default_value="",
                description="model file (.safetensors); empty: the params file's, else the embedded model",
            ),
            DeclareLaunchArgument(
                "backend",
                default_value="",
                description="auto, torch, onnxruntime or tensorrt; empty: the params file's",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "config", "synth.yaml"]),
                description="node parameters YAML",
            ),
            DeclareLaunchArgument(
                "use_sim_time", default_value="false", description="use /clock (e.g. during bag replay)"
            ),
            DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 with config/synth.rviz"),
            DeclareLaunchArgument(
                "dds_transports",
                default_value="LARGE_DATA",
                description="FASTDDS_BUILTIN_TRANSPORTS for the node; every participant on the camera topic must match",
            ),
            SetEnvironmentVariable("FASTDDS_BUILTIN_TRANSPORTS", LaunchConfiguration("dds_transports")),
            OpaqueFunction(function=_node),
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                arguments=["-d", PathJoinSubstitution([share, "config", "synth.rviz"])],
                condition=IfCondition(LaunchConfiguration("rviz")),
            ),
        ]
    )
