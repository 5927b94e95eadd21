"""The handler of ``thermal-synth import-reference``: original pytorch-CycleGAN-and-pix2pix checkpoint -> model file."""

from __future__ import annotations

import argparse

from thermal_synth_core.models.reference import import_reference
from thermal_synth_core.ui import summary


def run(args: argparse.Namespace) -> int:
    """Convert the checkpoint and print a one-line summary."""
    spec = import_reference(
        args.checkpoint,
        args.out,
        arch=args.arch,
        ngf=args.ngf,
        norm=args.norm,
        input_nc=args.input_nc,
        output_nc=args.output_nc,
        use_dropout=args.dropout,
        mode=args.mode,
        input_size=args.input_size,
        output_size=args.output_size,
        output_bits=args.output_bits,
        thermal_hfov=args.thermal_hfov,
    )
    w, h = spec.input_size
    summary(
        f"import-reference: wrote {args.out} ({spec.arch}, ngf {args.ngf}, {args.norm} norm, "
        f"{'dropout' if spec.arch_kwargs.get('use_dropout') else 'no dropout'}, mode {spec.run_mode}, runs at {w}x{h})"
    )
    return 0
