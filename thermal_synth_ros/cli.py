"""CLI commands that need ROS 2, plugged into ``thermal-synth`` via entry points.

Registering a command must not import rclpy (``--help`` works without ROS 2);
the handlers import what they need when they run.
"""

from __future__ import annotations

import argparse
from typing import Any

from thermal_synth_core.cli._common import add_command, parse_size, positive_float, positive_int

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
        "(discovery takes ~0.1-2 s; 0 starts at once)",
    )


def _replay(args: argparse.Namespace) -> int:
    from thermal_synth_core.ui import summary
    from thermal_synth_ros.dds import configure_dds
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
        f"{', /clock' if args.clock else ''}, {transports}){skipped}"
    )
    return 0


def register_demo(sub: Any) -> None:
    """Add ``thermal-synth demo``."""
    p = add_command(sub, "demo", "the whole system on the embedded model (needs ROS 2)", DEMO, _demo)
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


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from thermal_synth_core.ui import summary
    from thermal_synth_ros.demo import DemoOptions, run_demo

    result = run_demo(
        DemoOptions(
            out=Path(args.out),
            frames=args.frames,
            rgb_size=args.rgb_size,
            seed=args.seed,
            model=None if args.model == "default" else args.model,
            backend=args.backend,
            domain_id=args.domain_id,
        )
    )
    m = result.metrics
    summary(
        f"demo: {result.frames_synthesised} frames synthesised live (latency p50 {result.latency_ms_p50:.0f} ms); "
        f"warm-region score model {m.get('model_warm_iou', float('nan')):.3f} vs grayscale "
        f"{m.get('baseline_warm_iou', float('nan')):.3f}; open {result.report}, {result.contact_sheet} "
        f"and the node's output bag {result.output_bag} "
        f"({result.seconds:.0f} s)"
    )
    return 0
