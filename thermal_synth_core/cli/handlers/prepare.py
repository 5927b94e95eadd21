"""The handler of ``thermal-synth prepare``: raw dataset -> aligned RGB/thermal training pairs."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.ui import summary


def run(args: argparse.Namespace) -> int:
    """Handler: prepare the dataset and print the summary line."""
    result = prepare_dataset(
        PrepareOptions(
            root=Path(args.root),
            fmt=args.format,
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
    )
    summary(result.summary())
    return 0
