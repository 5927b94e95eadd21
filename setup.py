"""Install the thermal_synth_ros ROS 2 package (ament_python).

One distribution holds three Python packages: ``thermal_synth_core`` (ROS-free
library and CLI), ``thermal_synth_ros`` (the rclpy node and tools) and
``training`` (``python -m training.train``). The ``data_files`` give the
ament_python layout that ``colcon build`` and ``ros2 launch`` expect.
"""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "thermal_synth_ros"

ROS_WHEELS = [
    # ROS 2 Kilted as PyPI wheels, for machines without a ROS install.
    "ros-kilted-rclpy",
    "ros-kilted-sensor-msgs",
    "ros-kilted-std-msgs",
    "ros-kilted-diagnostic-msgs",
    "ros-kilted-rosgraph-msgs",
    "ros-kilted-rmw-fastrtps-cpp",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Synthetic thermal camera for ROS 2 (RGB -> thermal with Pix2Pix/CycleGAN)",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["thermal_synth_core*", "thermal_synth_ros*", "training*"]),
    package_data={
        "thermal_synth_core": ["py.typed", "assets/*"],
        "thermal_synth_ros": ["py.typed", "fastdds_profile.xml"],
        "training": ["configs/*.yaml"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", sorted(str(p) for p in Path("launch").glob("*.py"))),
        (
            f"share/{PACKAGE}/config",
            # The Fast DDS profile lives in the Python package (the node finds it there when pip-installed)
            # and is installed beside the other config files for launch files and other processes.
            [*sorted(str(p) for p in Path("config").glob("*") if p.is_file()), f"{PACKAGE}/fastdds_profile.xml"],
        ),
    ],
    zip_safe=False,
    install_requires=[
        # torch is installed first and pinned by the Makefile (a loose torch
        # requirement on a fresh machine pulls a multi-GB CUDA build).
        "torch>=2.4",
        "numpy>=1.26",
        "opencv-python-headless>=4.9",
        "pyyaml>=6.0",
        "safetensors>=0.4",
        "onnx>=1.16",
        "onnxscript>=0.3",
        "onnxruntime>=1.18",
        "rosbags>=0.10",
        "rosbags-image>=0.10",
        "tqdm>=4.66",
        "rich>=13.0",
        "matplotlib>=3.8",
        "tensorboard>=2.16",
    ],
    extras_require={
        "ros": ROS_WHEELS,
        "dev": [
            "pytest>=8.0",
            "pytest-timeout>=2.3",
            "hypothesis>=6.100",
            "ruff==0.17.6",
            "mypy==2.4.1",
            "types-PyYAML",
            "types-tqdm",
            "colcon-common-extensions>=0.3",
            "colcon-ros>=0.5",
            # tensorrt-stubs is installed by the Makefile with --no-deps: its
            # metadata requires the real tensorrt, which needs NVIDIA's index.
        ],
        "gpu": ["tensorrt>=10.0", "onnxruntime-gpu>=1.18"],
    },
    entry_points={
        "console_scripts": [
            "thermal-synth = thermal_synth_core.cli:main",
            "thermal_synth_node = thermal_synth_ros.node:main",
        ],
        # Commands that need ROS 2 live in thermal_synth_ros and plug into the
        # ROS-free CLI here, so the core never imports rclpy.
        "thermal_synth.commands": [
            "replay = thermal_synth_ros.cli:register_replay",
            "demo = thermal_synth_ros.cli:register_demo",
        ],
        # ROS 2 benchmarks plug into `thermal-synth bench` the same way.
        "thermal_synth.benchmarks": [
            "node = thermal_synth_ros.cli:NODE_BENCHMARK",
            "startup = thermal_synth_ros.cli:STARTUP_BENCHMARK",
            "transports = thermal_synth_ros.cli:TRANSPORTS_BENCHMARK",
            "views = thermal_synth_ros.cli:VIEWS_BENCHMARK",
        ],
    },
)
