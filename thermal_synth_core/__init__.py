"""thermal_synth_core: the ROS-free library behind the synthetic thermal camera.

Data ingestion and alignment, generator architectures, training, export,
inference, metrics, evaluation and the ``thermal-synth`` CLI. Nothing here
imports rclpy; the ROS 2 node in ``thermal_synth_ros`` is a thin adapter.
"""

__version__ = "0.1.0"
