"""The handlers of ``thermal-synth replay`` and ``thermal-synth demo`` (they need ROS 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermal_synth_core.ui import summary
from thermal_synth_ros.dds import configure_dds
from thermal_synth_ros.demo import DemoOptions, run_demo
from thermal_synth_ros.replay import replay as replay_bag

__all__ = ["demo", "replay"]


def replay(args: argparse.Namespace) -> int:
    """Handler of ``thermal-synth replay``."""
    transports = configure_dds()
    result = replay_bag(
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


def demo(args: argparse.Namespace) -> int:
    """Handler of ``thermal-synth demo``."""
    result = run_demo(
        DemoOptions(
            out=Path(args.out),
            frames=args.frames,
            rgb_size=args.rgb_size,
            seed=args.seed,
            model=args.model,  # the demo resolves "default" (the embedded model) itself
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
