"""thermal_synth_ros: the thin rclpy adapter around thermal_synth_core.

The node (``thermal_synth_node``), message <-> array conversion, bag replay and
the demo. All image work happens in ``thermal_synth_core``.
"""
