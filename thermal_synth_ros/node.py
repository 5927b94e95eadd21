"""The ``thermal_synth`` ROS 2 node (executable ``thermal_synth_node``).

Follows the ros2/demos idiom: ``main(args=None)`` initialises rclpy, spins the
node, and shuts down cleanly on Ctrl-C or an external shutdown.
"""

from __future__ import annotations

from collections.abc import Sequence

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

NODE_NAME = "thermal_synth"


class ThermalSynthNode(Node):
    """RGB camera in, synthetic thermal out (the synthesis pipeline lands with issue #6)."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.declare_parameter("model_path", "")
        self.declare_parameter("backend", "auto")
        self.get_logger().info("thermal_synth node started")


def main(args: Sequence[str] | None = None) -> None:
    """Entry point of ``thermal_synth_node``."""
    rclpy.init(args=list(args) if args is not None else None)
    node = ThermalSynthNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
