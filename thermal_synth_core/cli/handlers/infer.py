"""The handler of ``thermal-synth infer``: RGB image files -> thermal PNGs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from thermal_synth_core.camera import CameraModel
from thermal_synth_core.cli.handlers.view_args import view_options
from thermal_synth_core.errors import DataError, ThermalSynthError
from thermal_synth_core.fileio import atomic_path
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.ui import progress, summary

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")


def _inputs(root: Path) -> list[tuple[Path, Path]]:
    """(image, path relative to the output folder without suffix) for every input image."""
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
