"""CLI commands that need ROS 2, plugged into ``thermal-synth`` via entry points.

Registering a command must not import rclpy (``--help`` works without ROS 2);
the handlers import what they need when they run.
"""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_float

REPLAY = """\
Publish a recorded bag onto live ROS 2 topics, keeping the recorded header stamps,
for machines without 'ros2 bag'. With --clock, also publish /clock so nodes with
use_sim_time follow the bag's time. Together with the node, this is the live
replay evaluation path.

Messages are published as recorded (rosbag2: the raw CDR bytes; ROS 1: converted),
so header stamps are exactly those of the drive. Publishers are reliable (they
serve reliable and best-effort subscribers); latched topics stay latched.

Large images: FASTDDS_BUILTIN_TRANSPORTS defaults to LARGE_DATA here, as in the
node and the launch file; every participant (node, RViz, recorder) must use the
same setting or they do not see each other.

Examples:
  thermal-synth replay --bag drive.mcap --clock
  thermal-synth replay --bag drive/ --rate 0.5 --loop --topics /camera/rgb/image /flir/image
"""

DEMO = """\
Run the whole system on the embedded default model: generate a short synthetic
drive (RGB + real thermal), start the ROS 2 node, replay the drive into it live,
record what it publishes, evaluate offline, and write the HTML report, a contact
sheet and the output bag to --out.
"""


def register_replay(sub: Any) -> None:
    """Add ``thermal-synth replay``."""
    p = add_command(sub, "replay", "publish a bag onto live ROS 2 topics (needs ROS 2)", REPLAY, _replay)
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
        "(discovery takes ~2 s with LARGE_DATA; 0 starts at once)",
    )


def _replay(args: argparse.Namespace) -> int:
    from thermal_synth_core.ui import summary
    from thermal_synth_ros.dds import ENV_VAR, configure_dds
    from thermal_synth_ros.replay import replay

    transports = configure_dds()
    result = replay(
        args.bag, rate=args.rate, loop=args.loop, clock=args.clock, topics=args.topics, delay=max(0.0, args.delay)
    )
    how = "interrupted after" if result.interrupted else "replayed"
    skipped = f"; skipped {', '.join(result.skipped)} (type not available)" if result.skipped else ""
    summary(
        f"{how} {result.published} messages on {len(result.topics)} topics in {result.seconds:.1f} s "
        f"({result.loops} pass{'es' if result.loops != 1 else ''}, rate {args.rate:g}"
        f"{', /clock' if args.clock else ''}, {ENV_VAR}={transports}){skipped}"
    )
    return 0


def register_demo(sub: Any) -> None:
    """Add ``thermal-synth demo``."""
    p = add_command(
        sub, "demo", "the whole system on the embedded model (needs ROS 2)", DEMO, not_available_yet("demo", 8)
    )
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder")
