"""``python -m training.train``: train Pix2Pix or CycleGAN generators from a YAML config.

Usage:
  python -m training.train --config training/configs/pix2pix.yaml data.root=data/flir out_dir=runs/p2p
  torchrun --nproc_per_node 4 -m training.train --config training/configs/pix2pix.yaml data.root=...

Overrides are dotted key=value pairs, type-checked against the config; unknown
keys are rejected before any training starts. Every config accepts data.root=DIR,
out_dir=DIR, steps=N, device=cpu|cuda|auto and resume=auto|never|PATH.

The run writes OUT_DIR/model.safetensors (deployable, latest), OUT_DIR/best.safetensors
(best by best_metric), checkpoints/latest.pt and best.pt (exact resume; resume=auto
continues after a crash or kill), metrics.jsonl, tensorboard/ and samples/*.png.
Shipped configs: pix2pix, cyclegan, pix2pix_fast, smoke (training/configs/).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from thermal_synth_core.config import load_config
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.engine import train
from thermal_synth_core.ui import console, setup_logging, summary

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m training.train``."""
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        required=True,
        metavar="YAML",
        help="training config: a path, or the name of a shipped one (pix2pix, cyclegan, pix2pix_fast, smoke)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=1, help="more log detail")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. steps=1000")
    return parser


def resolve_config_path(value: str) -> Path:
    """A path as given, or a shipped config by name (``smoke`` -> training/configs/smoke.yaml)."""
    path = Path(value)
    if not path.exists() and not path.suffix and (CONFIG_DIR / f"{value}.yaml").exists():
        return CONFIG_DIR / f"{value}.yaml"
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, validate the config, train; returns the exit code."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        cfg = load_config(TrainConfig, resolve_config_path(args.config), args.overrides)
        result = train(cfg)
    except ThermalSynthError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: resume with the same command (resume=auto)")
        return 130
    if not result.is_main:
        return 0
    best = (
        f"best {cfg.best_metric}={result.best_value:.4f} at step {result.best_step}"
        if result.best_step is not None
        else "no validation yet"
    )
    val = ", ".join(f"{k}={v:.4f}" for k, v in result.last_val.items())
    summary(
        f"trained {cfg.mode} to step {result.steps} (from {result.resumed_from}) in {result.seconds:.0f}s; "
        f"{best}; last val: {val or 'n/a'}; model: {result.model_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
