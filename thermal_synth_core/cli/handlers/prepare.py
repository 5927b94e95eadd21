"""The handler of ``thermal-synth prepare``: raw dataset (or recorded drives) -> aligned RGB/thermal training pairs."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermal_synth_core.data.drive import DriveOptions, prepare_drive
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.errors import ThermalSynthError
from thermal_synth_core.ui import summary


def drive_options(args: argparse.Namespace) -> DriveOptions:
    """The ``--bag`` source of ``prepare`` and ``align`` from the parsed flags (topics required)."""
    if not args.rgb_topic or not args.thermal_topic:
        raise ThermalSynthError(
            "--bag needs --rgb-topic and --thermal-topic (list a bag's topics with 'ros2 bag info')"
        )
    return DriveOptions(
        bags=tuple(Path(b) for b in args.bag),
        rgb_topic=args.rgb_topic,
        thermal_topic=args.thermal_topic,
        slop=args.slop,
        stride_s=getattr(args, "stride_s", 0.0),
        block_s=getattr(args, "block_s", 30.0),
        val_fraction=getattr(args, "val_fraction", 0.2),
        rgb_info_topic=args.rgb_info_topic,
        thermal_info_topic=args.thermal_info_topic,
    )


def run(args: argparse.Namespace) -> int:
    """Handler: prepare the dataset (or the drives) and print the summary line."""
    if args.bag is None and args.format is None:
        raise ThermalSynthError("prepare --root needs --format (or give --bag with --rgb-topic/--thermal-topic)")
    if args.bag is not None and args.format is not None:
        raise ThermalSynthError("--format is for --root; a --bag is read as a recorded drive")
    opts = PrepareOptions(
        root=Path(args.root or "."),
        fmt=args.format or "pairs",
        out=Path(args.out),
        alignment=args.alignment,
        size=args.size,
        thermal_bits=args.thermal_bits,
        workers=args.workers,
        include_unpaired=args.include_unpaired,
        overwrite=args.overwrite,
        estimate_frames=args.estimate_frames,
        seed=args.seed,
        thermal_hfov=args.thermal_hfov,
    )
    if args.bag is not None:
        summary(prepare_drive(drive_options(args), opts).summary())
        return 0
    summary(prepare_dataset(opts).summary())
    return 0
