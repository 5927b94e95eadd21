"""``thermal-synth synth-data``: a procedural world of paired RGB + thermal street scenes."""

from __future__ import annotations

from typing import Any

from thermal_synth_core.cli.common import add_command, non_negative_int, parse_size, positive_float, positive_int
from thermal_synth_core.names import SYNTH_LAYOUTS, SYNTH_RIGS

#: The handler, imported only when the command runs.
HANDLER = "thermal_synth_core.cli.handlers.synth_data:run"

DESCRIPTION = """\
Generate paired RGB + thermal street scenes for tests and the demo. The mapping
is deliberately not grayscale: pedestrians are warm whatever their clothes, the
sky is cold whatever its colour, tyres and engines are hot on running cars only
(lights on), parked cars and red decoys (stop signs, hydrants, red cars) are
cold, night scenes are dark in RGB and bright in thermal. Frames carry sensor
noise and camera AGC, a known RGB->thermal transform (FLIR v1 style), missing
and odd-size frames, ground-truth masks of warm objects and COCO boxes of the
people and cars in the thermal frame (FLIR layouts' COCO files; pairs:
<split>/annotations.json), which prepare carries into the prepared dataset.

Layouts:
  flir-v1  FLIR_ADAS_1_3 folders: RGB 1800x1600 JPEG, thermal 640x512 (8-bit JPEG,
           16-bit TIFF), masks/; ~8% of thermal frames without RGB, some RGB at
           half size (covered by the alignment) or 1280x1024 (not covered)
  flir-v2  FLIR ADAS v2 folders: RGB 1224x1024; train/val unpaired like the real
           release; video test pairs via rgb_to_thermal_vid_map.json
  pairs    <split>/{rgb,thermal,thermal16,mask}/ co-registered, 320x256 by default
  bag      a rosbag2 drive (day then night segments): RGB Image rgb8 900x800 at
           10 Hz, thermal mono16 640x512 at 9 Hz, warm masks mono8; optionally a
           CompressedImage RGB topic; --camera-info adds /camera/rgb/camera_info and
           /thermal/camera_info; --rig other: another rig (offset, 2.05 RGB px per
           thermal px, 1.5 deg roll, narrower thermal view); --stops N: N standstills
           of 1.5-3 s (frames repeat apart from sensor noise), listed in synth_info.json

Every output holds ground_truth_alignment.yaml (the true RGB -> thermal
transform) and synth_info.json (what was generated, frame by frame).

Examples:
  thermal-synth synth-data --out /tmp/flir_synth --layout flir-v1 --n 200
  thermal-synth synth-data --out /tmp/drive --layout bag --n 100 --storage mcap --compressed
  thermal-synth synth-data --out /tmp/rig2 --layout bag --n 300 --rig other --stops 2 --camera-info
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "synth-data",
        "procedural paired RGB/thermal scenes (tests, demo)",
        DESCRIPTION,
        HANDLER,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (the bag folder for --layout bag)")
    p.add_argument("--layout", required=True, choices=SYNTH_LAYOUTS, help="folder layout to mimic")
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
        "--rig",
        choices=SYNTH_RIGS,
        default="flir",
        help="bag: the camera rig (flir: FLIR v1 style; other: another offset, scale, a 1.5 deg roll and a "
        "narrower thermal view); ground_truth_alignment.yaml describes it",
    )
    p.add_argument(
        "--stops",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="bag: N standstills of 1.5-3 s where car and scene stand still (listed in synth_info.json)",
    )
    p.add_argument(
        "--camera-info",
        action="store_true",
        help="bag: also write CameraInfo on /camera/rgb/camera_info and /thermal/camera_info",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it holds an earlier synth-data output (anything else is never deleted)",
    )
