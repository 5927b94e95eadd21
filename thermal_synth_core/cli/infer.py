"""``thermal-synth infer``: RGB image files -> thermal PNGs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from thermal_synth_core.cli._common import add_command

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")

DESCRIPTION = """\
Run a model on one RGB image or a folder of them (searched recursively; the
sub-folder layout is kept) and write thermal PNGs named after the inputs:
8-bit for mono8 models, 16-bit PNG for mono16 ones. With --colormap, a
colour-mapped copy NAME_<colormap>.png is written beside each.

Frames are warped into the thermal camera's field of view with the alignment
stored in the model, so RGB images must have the aspect ratio the model was
trained with (any resolution of it). An unreadable or unusable image is
reported and skipped; the command then exits with status 1.

Example:
  thermal-synth infer --model model.safetensors --input frames/ --out thermal/ --colormap ironbow
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
    """Synthesize every input image; summary line with counts, backend and output folder."""
    import cv2
    import numpy as np

    from thermal_synth_core.errors import ThermalSynthError
    from thermal_synth_core.fileio import atomic_path
    from thermal_synth_core.infer import Synthesizer
    from thermal_synth_core.ui import progress, summary

    items = _inputs(Path(args.input))
    synth = Synthesizer(args.model, backend=args.backend, device=args.device, precision=args.precision)
    out_dir = Path(args.out)
    written, failed = 0, 0
    for image_path, rel in progress(items, total=len(items), desc="infer", unit="img"):
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if rgb is None:
            log.warning("skipped %s: not a readable image", image_path)
            failed += 1
            continue
        try:
            thermal = synth(np.asarray(rgb, dtype=np.uint8), channel_order="bgr")  # OpenCV reads BGR
        except ThermalSynthError as exc:
            log.warning("skipped %s: %s", image_path, exc)
            failed += 1
            continue
        outputs = [(out_dir / rel.parent / f"{rel.name}.png", thermal)]
        if args.colormap:
            outputs.append(
                (out_dir / rel.parent / f"{rel.name}_{args.colormap}.png", synth.colorize(thermal, args.colormap))
            )
        for path, image in outputs:
            with atomic_path(path) as tmp:
                if not cv2.imwrite(str(tmp), image):
                    raise ThermalSynthError(f"cannot write {path}")
        written += 1
    w, h = synth.output_size
    skipped = f", {failed} skipped" if failed else ""
    summary(
        f"infer: {written} image(s) -> {out_dir} ({synth.output_encoding} {w}x{h}, {synth.backend.describe()}){skipped}"
    )
    return 1 if failed else 0
