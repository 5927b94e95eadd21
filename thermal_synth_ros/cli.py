"""CLI commands that need ROS 2, plugged into ``thermal-synth`` via entry points.

Registering a command must not import rclpy (``--help`` works without ROS 2);
the handlers import what they need when they run.
"""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_float

REPLAY = """\
Publish a recorded bag onto live ROS 2 topics, keeping the recorded header stamps,
for machines without 'ros2 bag'. With --clock, also publish /clock so nodes with
use_sim_time follow the bag's time. Together with the node, this is the live
replay evaluation path.

Example:
  thermal-synth replay --bag drive.mcap --rate 1.0 --clock --topics /camera/rgb/image
"""

DEMO = """\
Run the whole system on the embedded default model: generate a short synthetic
drive (RGB + real thermal), start the ROS 2 node, replay the drive into it live,
record what it publishes, evaluate offline, and write the HTML report, a contact
sheet and the output bag to --out.
"""


def register_replay(sub: Any) -> None:
    """Add ``thermal-synth replay``."""
    p = add_command(
        sub, "replay", "publish a bag onto live ROS 2 topics (needs ROS 2)", REPLAY, not_available_yet("replay", 7)
    )
    p.add_argument("--bag", required=True, metavar="PATH", help="rosbag2 directory/file or ROS 1 .bag")
    p.add_argument("--rate", type=positive_float, default=1.0, metavar="R", help="playback speed factor")
    p.add_argument("--loop", action="store_true", help="start again at the end of the bag")
    p.add_argument("--clock", action="store_true", help="publish /clock from the bag's time (for use_sim_time)")
    p.add_argument("--topics", nargs="+", default=None, metavar="TOPIC", help="only these topics (default: all)")


def register_demo(sub: Any) -> None:
    """Add ``thermal-synth demo``."""
    p = add_command(
        sub, "demo", "the whole system on the embedded model (needs ROS 2)", DEMO, not_available_yet("demo", 8)
    )
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder")
