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

Recorded drives (--bag instead of --root/--format): RGB and thermal frames of
one or more bags (rosbag2 sqlite3/mcap, ROS 1; Image or CompressedImage RGB,
mono8/mono16/16UC1 thermal) are paired by header stamp within --slop (each
thermal frame used once), thinned to at most one pair per --stride-s, with
near-duplicate thermal frames of a standing car skipped, tagged day or night
from the RGB brightness, and split by drive (several bags: whole bags to val)
or by blocks of --block-s seconds (one bag), never frame by frame. They are
extracted to OUT/extracted/ (extraction.json: every pair's bag, stamps, split,
condition; every skipped frame counted by reason), then prepared as above;
--alignment auto estimates the rig's alignment from them. The thermal field of
view comes from --thermal-hfov, else the thermal CameraInfo
(<topic namespace>/camera_info, or --thermal-info-topic).

Examples:
  thermal-synth prepare --root FLIR_ADAS_1_3 --format flir-v1 --out data/flir --alignment auto
  thermal-synth prepare --bag drive1 --bag drive2 --rgb-topic /camera/rgb/image_raw \
      --thermal-topic /thermal/image_raw --stride-s 0.5 --out data/our_rig
"""

BAG_HELP = "a recorded drive: rosbag2 folder, .db3/.mcap file or ROS 1 .bag (repeat for several drives)"


def add_bag_arguments(p: Any, *, selection: bool) -> None:
    """The ``--bag`` source (shared with ``align``); ``selection`` adds stride, standstill and split options."""
    g = p.add_argument_group("recorded drive (--bag)")
    g.add_argument("--rgb-topic", default=None, metavar="T", help="RGB image topic (Image or CompressedImage)")
    g.add_argument("--thermal-topic", default=None, metavar="T", help="thermal image topic (mono8/mono16/16UC1)")
    g.add_argument(
        "--slop", type=float, default=0.05, metavar="S", help="max header-stamp difference of a pair, seconds"
    )
    g.add_argument(
        "--rgb-info-topic", default=None, metavar="T", help="RGB CameraInfo topic (default: <namespace>/camera_info)"
    )
    g.add_argument(
        "--thermal-info-topic",
        default=None,
        metavar="T",
        help="thermal CameraInfo topic (default: <namespace>/camera_info); gives the thermal field of view",
    )
    if not selection:
        return
    g.add_argument(
        "--stride-s", type=float, default=0.0, metavar="S", help="at most one pair per S seconds (0: every pair)"
    )
    g.add_argument(
        "--block-s",
        type=float,
        default=30.0,
        metavar="S",
        help="length of the time blocks a single drive is split by (train/val)",
    )
    g.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="fraction of drives (several --bag) or time blocks (one) that go to val, evenly spaced",
    )


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    p = add_command(
        sub,
        "prepare",
        "raw dataset -> aligned training pairs + manifest",
        DESCRIPTION,
        HANDLER,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--root", metavar="DIR", help="dataset root as downloaded (e.g. FLIR_ADAS_1_3)")
    source.add_argument("--bag", action="append", metavar="PATH", help=BAG_HELP)
    p.add_argument(
        "--format", default=None, metavar="FORMAT", help=f"dataset layout (with --root): {', '.join(DATASET_FORMATS)}"
    )
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
    p.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        metavar="N",
        help="parallel worker processes (with --bag also the extraction's writer threads)",
    )
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
    add_bag_arguments(p, selection=True)
