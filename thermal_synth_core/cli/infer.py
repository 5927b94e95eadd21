"""``thermal-synth infer``: RGB image files -> thermal PNGs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command, add_view_arguments, view_options

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")

DESCRIPTION = """\
Run a model on one RGB image or a folder of them (searched recursively; the
sub-folder layout is kept) and write thermal PNGs named after the inputs:
8-bit for mono8 models, 16-bit PNG for mono16 ones. With --colormap, a
colour-mapped copy NAME_<colormap>.png is written beside each.

Output view (--view, the same word as the node's `view` parameter):
  rig     warp the frame into the thermal view of the rig the alignment describes
          (the model's, or --alignment FILE): frames of that rig's RGB camera (its
          aspect ratio, any resolution); output at that thermal camera's size.
  camera  synthesise in the camera's own view, pixel-aligned with the RGB frame:
          the frame is resized to the model's angular scale (degrees per pixel of
          its training data), which needs the camera's field of view: from
          --camera-info (a camera_info.yaml), else --camera-hfov, else the model's
          own (a warning says so). Output size: --output-width.
  auto    rig for frames with the alignment reference's aspect ratio, else camera
          (the default; the choice is logged once per frame size).

A camera_info.yaml (the ROS camera_calibration_parsers layout) describing the
outputs is written to the output folder, or NAME_camera_info.yaml beside each
output when the frames do not all share one. An unreadable or unusable image is
reported and skipped; the command then exits with status 1.

Examples:
  thermal-synth infer --input frames/ --out thermal/ --colormap ironbow
  thermal-synth infer --input dashcam/ --out thermal/ --view camera --camera-hfov 90 --output-width input
"""


def register(sub: Any) -> None:
    """Add this command to the ``thermal-synth`` subparsers."""
    from thermal_synth_core.infer.backends import list_backends
    from thermal_synth_core.infer.colormap import list_colormaps

    backends = ["auto", *list_backends()]
    colormaps = list_colormaps()
    p = add_command(sub, "infer", "RGB images -> thermal PNGs", DESCRIPTION, run)
    p.add_argument(
        "--model", default="default", metavar="M", help="model file (.safetensors), or 'default' for the embedded model"
    )
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an RGB image or a folder of images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for thermal PNGs")
    p.add_argument(
        "--backend",
        default="auto",
        choices=backends,
        metavar="B",
        help=f"inference backend: {', '.join(backends)} (auto: TensorRT, else CUDA torch, else ONNX Runtime CPU)",
    )
    p.add_argument(
        "--colormap",
        default=None,
        choices=colormaps,
        metavar="C",
        help=f"also write colour-mapped PNGs: {', '.join(colormaps)}",
    )
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--precision", default="fp32", choices=("fp32", "fp16", "bf16"), help="numeric precision of the backend"
    )
    add_view_arguments(p)


def _inputs(root: Path) -> list[tuple[Path, Path]]:
    """(image, path relative to the output folder without suffix) for every input image."""
    from thermal_synth_core.errors import DataError

    if root.is_file():
        return [(root, Path(root.stem))]
    if not root.is_dir():
        raise DataError(f"input not found: {root}")
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {root}")
    return [(p, p.relative_to(root).with_suffix("")) for p in found]


def run(args: argparse.Namespace) -> int:
    """Synthesize every input image; summary line with counts, views, backend and output folder."""
    import cv2
    import numpy as np

    from thermal_synth_core.camera import CameraModel
    from thermal_synth_core.errors import ThermalSynthError
    from thermal_synth_core.fileio import atomic_path
    from thermal_synth_core.infer import Synthesizer
    from thermal_synth_core.ui import progress, summary

    items = _inputs(Path(args.input))
    camera = CameraModel.load_yaml(args.camera_info) if args.camera_info else None
    synth = Synthesizer(
        args.model, backend=args.backend, device=args.device, precision=args.precision, **view_options(args)
    )
    out_dir = Path(args.out)
    written, failed = 0, 0
    cameras: dict[Path, CameraModel] = {}
    views: dict[str, str] = {}
    for image_path, rel in progress(items, total=len(items), desc="infer", unit="img"):
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if rgb is None:
            log.warning("skipped %s: not a readable image", image_path)
            failed += 1
            continue
        try:
            result = synth.synthesize(np.asarray(rgb, dtype=np.uint8), "bgr", camera)  # OpenCV reads BGR
        except ThermalSynthError as exc:
            log.warning("skipped %s: %s", image_path, exc)
            failed += 1
            continue
        thermal = result.image
        base = out_dir / rel.parent / rel.name
        outputs = [(base.with_name(f"{rel.name}.png"), thermal)]
        if args.colormap:
            outputs.append((base.with_name(f"{rel.name}_{args.colormap}.png"), synth.colorize(thermal, args.colormap)))
        for path, image in outputs:
            with atomic_path(path) as tmp:
                if not cv2.imwrite(str(tmp), image):
                    raise ThermalSynthError(f"cannot write {path}")
        cameras[base] = result.camera
        plan = result.plan
        views.setdefault(
            f"{plan.view} {plan.output_size[0]}x{plan.output_size[1]}",
            f"{plan.rgb_size[0]}x{plan.rgb_size[1]}",
        )
        written += 1
    info = _write_camera_infos(out_dir, cameras)
    skipped = f", {failed} skipped" if failed else ""
    shown = "; ".join(f"{view} from {rgb}" for view, rgb in views.items()) or "none"
    summary(
        f"infer: {written} image(s) -> {out_dir} ({synth.output_encoding}, {shown}, {synth.backend.describe()})"
        f"{info}{skipped}"
    )
    return 1 if failed else 0


def _write_camera_infos(out_dir: Path, cameras: dict[Path, Any]) -> str:
    """One camera_info.yaml when every output shares a camera model, else one per output; the summary part."""
    distinct = set(cameras.values())
    if not distinct:
        return ""
    if len(distinct) == 1:
        path = next(iter(distinct)).save_yaml(out_dir / "camera_info.yaml")
        return f", {path.name}"
    for base, camera in cameras.items():
        camera.save_yaml(base.with_name(f"{base.name}_camera_info.yaml"))
    return f", {len(cameras)} NAME_camera_info.yaml"
