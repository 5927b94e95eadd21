"""``thermal-synth synth-data``: a procedural world of paired RGB + thermal street scenes."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command, parse_size, positive_float, positive_int

DESCRIPTION = """\
Generate paired RGB + thermal street scenes for tests and the demo. The mapping
is deliberately not grayscale: pedestrians are warm whatever their clothes, the
sky is cold whatever its colour, tyres and engines are hot on running cars only
(lights on), parked cars and red decoys (stop signs, hydrants, red cars) are
cold, night scenes are dark in RGB and bright in thermal. Frames carry sensor
noise and camera AGC, a known RGB->thermal transform (FLIR v1 style), missing
and odd-size frames, and ground-truth masks of warm objects.

Layouts:
  flir-v1  FLIR_ADAS_1_3 folders: RGB 1800x1600 JPEG, thermal 640x512 (8-bit JPEG,
           16-bit TIFF), masks/; ~8% of thermal frames without RGB, some RGB at
           half size (covered by the alignment) or 1280x1024 (not covered)
  flir-v2  FLIR ADAS v2 folders: RGB 1224x1024; train/val unpaired like the real
           release; video test pairs via rgb_to_thermal_vid_map.json
  pairs    <split>/{rgb,thermal,thermal16,mask}/ co-registered, 320x256 by default
  bag      a rosbag2 drive (day then night segments): RGB Image rgb8 900x800 at
           10 Hz, thermal mono16 640x512 at 9 Hz, warm masks mono8; optionally a
           CompressedImage RGB topic

Every output holds ground_truth_alignment.yaml (the true RGB -> thermal
transform) and synth_info.json (what was generated, frame by frame).

Examples:
  thermal-synth synth-data --out /tmp/flir_synth --layout flir-v1 --n 200
  thermal-synth synth-data --out /tmp/drive --layout bag --n 100 --storage mcap --compressed
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(sub, "synth-data", "procedural paired RGB/thermal scenes (tests, demo)", DESCRIPTION, run)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (the bag folder for --layout bag)")
    p.add_argument(
        "--layout", required=True, choices=("flir-v1", "flir-v2", "pairs", "bag"), help="folder layout to mimic"
    )
    p.add_argument("--n", type=positive_int, default=100, metavar="N", help="number of frames (RGB frames for bag)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    p.add_argument(
        "--rgb-size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="RGB size (defaults: flir-v1 1800x1600, flir-v2 1224x1024, pairs = --size, bag 900x800); "
        "same aspect ratio as the default",
    )
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="thermal size (defaults: 640x512; pairs 320x256)",
    )
    p.add_argument("--night-fraction", type=float, default=0.3, metavar="F", help="fraction of night frames (0..1)")
    p.add_argument(
        "--missing-fraction",
        type=float,
        default=0.08,
        metavar="F",
        help="flir layouts: fraction of thermal frames without RGB",
    )
    p.add_argument(
        "--odd-fraction",
        type=float,
        default=0.06,
        metavar="F",
        help="flir layouts: fraction of RGB frames at an odd size",
    )
    p.add_argument("--workers", type=positive_int, default=1, metavar="N", help="parallel worker processes")
    p.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3", help="bag: rosbag2 storage format")
    p.add_argument("--compressed", action="store_true", help="bag: also write a CompressedImage (JPEG) RGB topic")
    p.add_argument("--rgb-rate", type=positive_float, default=10.0, metavar="HZ", help="bag: RGB frame rate")
    p.add_argument("--thermal-rate", type=positive_float, default=9.0, metavar="HZ", help="bag: thermal frame rate")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it holds an earlier synth-data output (anything else is never deleted)",
    )


def _prepare_out(out: Path, force: bool) -> None:
    from thermal_synth_core.data.synth.folders import INFO_FILE
    from thermal_synth_core.errors import DataError

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
    from thermal_synth_core.data.synth import SynthOptions, generate
    from thermal_synth_core.ui import summary

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
    )
    r = generate(out, options)
    if r.layout == "bag":
        summary(
            f"synth-data bag ({r.extra['storage']}): {r.rgb_frames} RGB and {r.thermal_frames} thermal frames, "
            f"{r.extra['segments']} segments ({r.extra['nights']} at night) -> {r.out}"
        )
    else:
        summary(
            f"synth-data {r.layout}: {r.thermal_frames} thermal and {r.rgb_frames} RGB frames, {r.pairs} pairs at a "
            f"covered size -> {r.out} (ground truth: {r.out / 'ground_truth_alignment.yaml'})"
        )
    return 0
