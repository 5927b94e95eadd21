"""``thermal-synth prepare``: raw dataset -> aligned RGB/thermal training pairs."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, parse_size, positive_int

DESCRIPTION = """\
Pair RGB and thermal frames of a dataset, warp each RGB frame into the thermal
camera's field of view at thermal resolution, and write the aligned pairs plus
manifest.json (counts per split, skipped frames with reasons).

Re-running skips finished pairs; an interrupted run resumes. Writes are atomic.

Example:
  thermal-synth prepare --root FLIR_ADAS_1_3 --format flir-v1 --out data/flir --alignment auto
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub, "prepare", "raw dataset -> aligned training pairs + manifest", DESCRIPTION, not_available_yet("prepare", 4)
    )
    p.add_argument("--root", required=True, metavar="DIR", help="dataset root as downloaded (e.g. FLIR_ADAS_1_3)")
    p.add_argument(
        "--format", required=True, metavar="FORMAT", help="dataset layout: flir-v1, flir-v2, kaist, llvip or pairs"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory for aligned pairs and manifest.json")
    p.add_argument(
        "--alignment",
        default="auto",
        metavar="FILE|auto",
        help="RGB->thermal alignment YAML from 'align estimate', or 'auto' to estimate it from the data first",
    )
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="output size (default: the thermal camera's native size)",
    )
    p.add_argument(
        "--thermal-bits",
        type=int,
        choices=(8, 16),
        default=8,
        help="8: AGC-normalised thermal; 16: keep raw 16-bit thermal where the dataset has it",
    )
    p.add_argument("--workers", type=positive_int, default=2, metavar="N", help="parallel worker processes")
