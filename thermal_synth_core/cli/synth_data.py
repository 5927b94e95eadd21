"""``thermal-synth synth-data``: a procedural world of paired RGB + thermal street scenes."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli._common import add_command, not_available_yet, positive_int

DESCRIPTION = """\
Generate paired RGB + thermal street scenes for tests and the demo. The mapping
is deliberately not grayscale: pedestrians are warm whatever their clothes, the
sky is cold whatever its colour, tyres and engines are hot on running cars only,
red decoys are cold, night scenes are dark in RGB and bright in thermal. Frames
carry sensor noise and AGC, a known RGB->thermal transform (FLIR v1 style),
missing and odd-size frames, and ground-truth masks of warm objects.

Layouts: flir-v1, flir-v2 and pairs mimic dataset folders; bag writes a rosbag2
drive (RGB Image + real thermal mono16) for evaluate/replay/demo.

Example:
  thermal-synth synth-data --out /tmp/flir_synth --layout flir-v1 --n 200
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "synth-data",
        "procedural paired RGB/thermal scenes (tests, demo)",
        DESCRIPTION,
        not_available_yet("synth-data", 4),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (or bag path for --layout bag)")
    p.add_argument(
        "--layout", required=True, choices=("flir-v1", "flir-v2", "pairs", "bag"), help="folder layout to mimic"
    )
    p.add_argument("--n", type=positive_int, default=100, metavar="N", help="number of frames")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
