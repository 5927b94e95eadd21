"""``thermal-synth prepare``: raw dataset -> aligned RGB/thermal training pairs."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, parse_size, positive_int
from thermal_synth_core.names import DATASET_FORMATS

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.prepare:run"

DESCRIPTION = """\
Pair RGB and thermal frames of a dataset, warp each RGB frame into the thermal
camera's field of view at thermal resolution, and write the aligned pairs plus
manifest.json (counts per split, skipped frames with reasons).

Output:
  OUT/<split>/rgb/<id>.png       RGB warped into the thermal view
  OUT/<split>/thermal/<id>.png   8-bit robust-percentile AGC, or raw 16-bit (--thermal-bits 16)
  OUT/<split>/mask/<id>.png      warm-object masks, when the dataset has them (synthetic data)
  OUT/manifest.json              pairs, single-camera frames, skipped frames and why
  OUT/alignment.yaml             the RGB -> thermal alignment used

Re-running skips finished pairs; an interrupted run resumes. Writes are atomic.

Formats: flir-v1 (FLIR_ADAS_1_3), flir-v2 (FLIR ADAS v2; only the video test set
has pairs), kaist, llvip, pairs (<split>/rgb + <split>/thermal).

Thermal field of view: manifest.json records the thermal camera's horizontal
field of view (HFOV) over its full frame and the width of the thermal frames
written; training puts it into the model file so inference reproduces the
angular scale (degrees per pixel) on any camera. Presets: flir-v1 and flir-v2
45 deg (FLIR Tau2, 13 mm), kaist 47.75 deg (FLIR A35; from the paper's 39 deg
vertical FOV), llvip 8.3 deg (an estimate from the camera's 75 mm lens; prepare
warns). Synthetic data from synth-data records its own. pairs (your own data)
has no preset: pass --thermal-hfov, or 45 deg is assumed with a warning.
--thermal-hfov overrides any preset.

Example:
  thermal-synth prepare --root FLIR_ADAS_1_3 --format flir-v1 --out data/flir --alignment auto
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "prepare",
        "raw dataset -> aligned training pairs + manifest",
        DESCRIPTION,
        HANDLER,
    )
    p.add_argument("--root", required=True, metavar="DIR", help="dataset root as downloaded (e.g. FLIR_ADAS_1_3)")
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"dataset layout: {', '.join(DATASET_FORMATS)}")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory for aligned pairs and manifest.json")
    p.add_argument(
        "--alignment",
        default="auto",
        metavar="FILE|auto",
        help="RGB->thermal alignment YAML from 'align estimate', or 'auto': the dataset's own (co-registered "
        "cameras, alignment.yaml of the pairs layout) or else estimated from the data first",
    )
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="output size, same aspect ratio as the thermal camera (default: the thermal camera's native size)",
    )
    p.add_argument(
        "--thermal-bits",
        type=int,
        choices=(8, 16),
        default=8,
        help="8: AGC-normalised thermal; 16: keep raw 16-bit thermal where the dataset has it",
    )
    p.add_argument("--workers", type=positive_int, default=2, metavar="N", help="parallel worker processes")
    p.add_argument(
        "--include-unpaired",
        action="store_true",
        help="also write single-camera frames (e.g. FLIR v2 train/val) for unpaired (CycleGAN) training",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier prepare run in --out that used other settings (removes its images and manifest)",
    )
    p.add_argument(
        "--estimate-frames",
        type=positive_int,
        default=60,
        metavar="N",
        help="frame pairs sampled when --alignment auto has to estimate the alignment",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for the estimation frame sample")
    p.add_argument(
        "--thermal-hfov",
        type=float,
        default=None,
        metavar="DEG",
        help="horizontal field of view of the thermal camera over its full frame, in degrees (0-180), recorded "
        "in manifest.json and the trained model; overrides the format's preset (default: the preset; pairs: "
        "45, with a warning)",
    )
