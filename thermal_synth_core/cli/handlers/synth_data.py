"""The handler of ``thermal-synth synth-data``: a procedural world of paired RGB + thermal street scenes."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from thermal_synth_core.data.synth import SynthOptions, generate
from thermal_synth_core.data.synth.folders import INFO_FILE
from thermal_synth_core.errors import DataError
from thermal_synth_core.ui import summary


def _prepare_out(out: Path, force: bool) -> None:

    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not force:
        raise DataError(
            f"{out} is not empty; choose a new --out or pass --force to replace an earlier synth-data output"
        )
    if not (out / INFO_FILE).is_file():
        raise DataError(f"{out} is not a synth-data output ({INFO_FILE} missing); refusing to delete it")
    shutil.rmtree(out)


def run(args: argparse.Namespace) -> int:
    """Handler: generate the data and print the summary line."""
    out = Path(args.out)
    _prepare_out(out, args.force)
    options = SynthOptions(
        layout=args.layout,
        n=args.n,
        seed=args.seed,
        rgb_size=args.rgb_size,
        thermal_size=args.size,
        night_fraction=args.night_fraction,
        missing_fraction=args.missing_fraction,
        odd_fraction=args.odd_fraction,
        workers=args.workers,
        storage=args.storage,
        compressed=args.compressed,
        rgb_rate=args.rgb_rate,
        thermal_rate=args.thermal_rate,
        rig=args.rig,
        stops=args.stops,
        camera_info=args.camera_info,
    )
    r = generate(out, options)
    if r.layout == "bag":
        summary(
            f"synth-data bag ({r.extra['storage']}): {r.rgb_frames} RGB and {r.thermal_frames} thermal frames, "
            f"{r.extra['segments']} segments ({r.extra['nights']} at night)"
            + (f", rig {r.extra['rig']}" if "rig" in r.extra else "")
            + (f", {r.extra['stops']} stops" if "stops" in r.extra else "")
            + f" -> {r.out}"
        )
    else:
        summary(
            f"synth-data {r.layout}: {r.thermal_frames} thermal and {r.rgb_frames} RGB frames, {r.pairs} pairs at a "
            f"covered size -> {r.out} (ground truth: {r.out / 'ground_truth_alignment.yaml'})"
        )
    return 0
