"""CLI commands that need ROS 2, plugged into ``thermal-synth`` via entry points.

Registering a command must not import rclpy (``--help`` works without ROS 2):
the handlers live in :mod:`thermal_synth_ros.cli_handlers`, imported when a command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.cli.common import BenchmarkSpec, add_command, parse_size, positive_float, positive_int
from thermal_synth_ros.dds import STARTUP_CHOICES, TRANSPORT_CHOICES

#: The handlers, imported only when a command runs (they import rclpy).
HANDLERS = "thermal_synth_ros.cli_handlers"

REPLAY = """\
Publish a recorded bag onto live ROS 2 topics, keeping the recorded header stamps,
for machines without 'ros2 bag'. With --clock, also publish /clock so nodes with
use_sim_time follow the bag's time. Together with the node, this is the live
replay evaluation path.

Messages are published as recorded (rosbag2: the raw CDR bytes; ROS 1: converted),
so header stamps are exactly those of the drive. Publishers are reliable (they
serve reliable and best-effort subscribers); latched topics stay latched.

Large images: like the node and the launch file, replay uses the package's Fast
DDS profile (shared memory with a 64 MiB segment, plus UDPv4) unless
FASTDDS_BUILTIN_TRANSPORTS or FASTDDS_DEFAULT_PROFILES_FILE is set. Participants
with Fast DDS's default transports (RViz, a recorder) see it; LARGE_DATA ones do
not, so choose one setting for every process on these topics.

Examples:
  thermal-synth replay --bag drive.mcap --clock
  thermal-synth replay --bag drive/ --rate 0.5 --loop --topics /camera/rgb/image /flir/image
"""

DEMO = """\
Run the whole system on the embedded default model, live, on this machine:

  1. generate a short synthetic drive (RGB camera + real thermal camera, day then night);
  2. start the thermal_synth node (a real ROS 2 process) on the embedded model;
  3. replay the drive into it and record what it publishes (an mcap rosbag2);
  4. evaluate the model offline on the same drive, against the real thermal and the
     grayscale baseline, and write the HTML report;
  5. draw a contact sheet: RGB | synthetic | real thermal, day and night.

Everything stays on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) on a private
ROS_DOMAIN_ID, with the package's Fast DDS transports. Output in --out:
evaluation/ (report.html, metrics.json, frames.csv, samples/), contact_sheet.png,
input_drive/ (the drive), node_output/ (what the node published, playable in RViz
or Foxglove), demo_summary.json, logs/.

The embedded model was trained on procedural scenes only: it is a demonstration.
"""


def register_replay(sub: Any) -> None:
    """Add ``thermal-synth replay``."""
    p = add_command(sub, "replay", "publish a bag onto live ROS 2 topics (needs ROS 2)", REPLAY, f"{HANDLERS}:replay")
    p.add_argument(
        "--bag", required=True, metavar="PATH", help="rosbag2 folder, .mcap or .db3 file, or ROS 1 .bag file"
    )
    p.add_argument("--rate", type=positive_float, default=1.0, metavar="R", help="playback speed factor")
    p.add_argument("--loop", action="store_true", help="start again at the end of the bag (until Ctrl-C)")
    p.add_argument("--clock", action="store_true", help="publish /clock from the bag's time (for use_sim_time)")
    p.add_argument(
        "--topics", nargs="+", default=None, metavar="TOPIC", help="only these topics (default: every topic)"
    )
    p.add_argument(
        "--delay",
        type=float,
        default=3.0,
        metavar="S",
        help="wait up to S seconds for every topic to have a subscriber before the first message "
        "(discovery takes ~0.1-2 s; 0 starts at once)",
    )


def register_demo(sub: Any) -> None:
    """Add ``thermal-synth demo``."""
    p = add_command(sub, "demo", "the whole system on the embedded model (needs ROS 2)", DEMO, f"{HANDLERS}:demo")
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder")
    p.add_argument("--frames", type=positive_int, default=80, metavar="N", help="RGB frames in the drive (10 Hz)")
    p.add_argument(
        "--rgb-size", type=parse_size, default=(900, 800), metavar="WxH", help="RGB camera size (aspect 9:8)"
    )
    p.add_argument("--seed", type=int, default=3, help="seed of the synthetic drive")
    p.add_argument("--model", default="default", metavar="M", help="model file, or 'default' for the embedded one")
    p.add_argument("--backend", default="auto", metavar="B", help="inference backend of the node and the evaluation")
    p.add_argument(
        "--domain-id", type=int, default=None, metavar="ID", help="ROS_DOMAIN_ID (default: a random free one)"
    )


def _node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="", metavar="PATH", help="model file (default: the embedded model)")
    parser.add_argument("--backend", default="auto", help="inference backend")
    parser.add_argument("--frames", type=positive_int, default=100, metavar="N", help="end-to-end frames to time")
    parser.add_argument(
        "--domain-id",
        type=int,
        default=97,
        metavar="ID",
        help="ROS_DOMAIN_ID to run on (the other-process floor runs on ID+100, or ID-100 above 132)",
    )


def _startup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=positive_int, default=50, metavar="N", help="starts per transport configuration")
    p.add_argument(
        "--transports",
        nargs="+",
        default=list(STARTUP_CHOICES),
        metavar="NAME",
        help=f"configurations, taking turns: {', '.join(STARTUP_CHOICES)} (default: both)",
    )
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="a start without a frame by then failed")
    p.add_argument("--bound", type=float, default=15.0, metavar="S", help="the time to first frame reported against")


def _transports_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--choices",
        nargs="+",
        default=list(TRANSPORT_CHOICES),
        metavar="NAME",
        help=f"from {', '.join(TRANSPORT_CHOICES)} (default: all)",
    )
    p.add_argument("--frames", type=positive_int, default=60, metavar="N", help="frames sent per pair")
    p.add_argument("--size", type=parse_size, default=(1920, 1080), metavar="WxH", help="frame size (rgb8)")
    p.add_argument(
        "--match-timeout", type=float, default=10.0, metavar="S", help="a pair not matched by then never matched"
    )


def _views_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="", metavar="PATH", help="model file (default: the embedded model)")
    parser.add_argument("--backend", default="auto", help="inference backend")
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=[(1280, 720), (1920, 1080)],
        metavar="WxH",
        help="camera frame sizes",
    )
    parser.add_argument(
        "--hfov", type=positive_float, default=90.0, metavar="DEG", help="the cameras' horizontal field of view"
    )
    parser.add_argument("--frames", type=positive_int, default=30, metavar="N", help="end-to-end frames per size")
    parser.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID (default: a free one)")


# The ROS 2 benchmarks of ``thermal-synth bench`` (entry-point group ``thermal_synth.benchmarks``):
# their modules import rclpy, so they are named here and imported only when one runs.
NODE_BENCHMARK = BenchmarkSpec(
    "node",
    "ROS 2 node: end-to-end latency vs. in-process model; conversion + publish cost per frame",
    _node_arguments,
    "thermal_synth_ros.bench:run",
)
STARTUP_BENCHMARK = BenchmarkSpec(
    "startup",
    "fresh node + camera processes: time to the first synthetic frame, per Fast DDS transport choice",
    _startup_arguments,
    "thermal_synth_ros.startup:run",
)
TRANSPORTS_BENCHMARK = BenchmarkSpec(
    "transports",
    "Fast DDS transport choices: which publisher/subscriber pairs carry large frames, and how many arrive",
    _transports_arguments,
    "thermal_synth_ros.transports_bench:run",
)
VIEWS_BENCHMARK = BenchmarkSpec(
    "views",
    "camera view on 1280x720 and 1920x1080 cameras: Synthesizer vs. plain approaches, node end-to-end",
    _views_arguments,
    "thermal_synth_ros.views_bench:run",
)
