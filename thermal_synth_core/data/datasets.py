"""PyTorch datasets over ``prepare``'s output: aligned pairs (Pix2Pix) and unpaired domains (CycleGAN).

Tensors follow one convention, the one the generators are trained and exported with:

* ``rgb``: float32, 3 x H x W, RGB order, ``x / 127.5 - 1`` (range [-1, 1]);
* ``thermal``: float32, 1 x H x W in [-1, 1]: 8-bit prepared thermal is already
  AGC-normalised (``x / 127.5 - 1``); raw 16-bit thermal goes through
  :func:`thermal_synth_core.agc.agc_normalize` on the whole frame first;
* ``mask`` (when the data has warm-object masks): float32, 1 x H x W, 1 inside warm objects;
* ``objects`` (when asked for with ``object_classes``): float32, 1 x H x W, 1 inside the
  annotated boxes of those classes (``OUT/<split>/annotations.json``; 0 on unannotated frames).

Object boxes of a split (:meth:`PairedDataset.boxes`) are given in the item's pixels: scaled
by ``load_size``, cropped and flipped as the item's images are.

Augmentation (resize, random crop, horizontal flip) is drawn from a generator
seeded by ``(seed, epoch, index)``, never from global state: an item is the same
in any DataLoader worker, and a resumed training run sees exactly the batches it
would have seen. Call :meth:`PairedDataset.set_epoch` at the start of each epoch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME, read_annotations
from thermal_synth_core.data.imageio import read_mask, read_rgb, read_thermal
from thermal_synth_core.data.layouts import FrameRecord
from thermal_synth_core.data.manifest import Manifest, PairEntry, read_manifest
from thermal_synth_core.errors import DataError
from thermal_synth_core.objects import Box

__all__ = [
    "PairItem",
    "PairedDataset",
    "UnpairedDataset",
    "UnpairedItem",
    "read_manifest",
    "rgb_to_tensor",
    "thermal_to_tensor",
]

log = logging.getLogger(__name__)


class _PairItemBase(TypedDict):
    rgb: torch.Tensor  # 3 x H x W in [-1, 1]
    thermal: torch.Tensor  # 1 x H x W in [-1, 1]
    id: str
    split: str


class PairItem(_PairItemBase, total=False):
    """An item of :class:`PairedDataset`; ``mask`` (1 x H x W, 0 or 1) when every pair of the split has one.

    ``objects`` (1 x H x W, 0 or 1): the boxes of the dataset's ``object_classes``, when it was given some.
    """

    mask: torch.Tensor
    objects: torch.Tensor


class UnpairedItem(TypedDict):
    """An item of :class:`UnpairedDataset`: an RGB and a thermal frame drawn independently."""

    rgb: torch.Tensor  # 3 x H x W in [-1, 1]
    thermal: torch.Tensor  # 1 x H x W in [-1, 1]
    id: str  # the RGB frame's
    rgb_id: str
    thermal_id: str
    split: str


Size = tuple[int, int]


def rgb_to_tensor(rgb: npt.NDArray[np.uint8]) -> torch.Tensor:
    """H x W x 3 uint8 (RGB order) -> 3 x H x W float32 in [-1, 1]."""
    arr = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)
    return torch.from_numpy(arr / 127.5 - 1.0)


def thermal_to_tensor(thermal: npt.NDArray[Any]) -> torch.Tensor:
    """H x W uint8 (AGC'd) or uint16 (raw, AGC-normalised here) -> 1 x H x W float32 in [-1, 1]."""
    return _unit_to_tensor(_thermal_unit(thermal))


def _thermal_unit(thermal: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """A whole thermal frame in [0, 1]: 8-bit is already AGC'd; raw 16-bit goes through the shared AGC."""
    if thermal.dtype == np.uint8:
        return np.asarray(thermal, dtype=np.float32) / np.float32(255.0)
    return agc_normalize(thermal)


def _unit_to_tensor(x: npt.NDArray[np.float32]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x * 2.0 - 1.0, dtype=np.float32)[None])


def _check_sizes(manifest: Manifest, crop_size: Size | None, load_size: Size | None) -> None:
    base = load_size or manifest.size
    if crop_size is not None and (crop_size[0] > base[0] or crop_size[1] > base[1]):
        raise DataError(
            f"crop size {crop_size[0]}x{crop_size[1]} is larger than the images ({base[0]}x{base[1]}); "
            "choose a smaller crop or a larger load size"
        )


def _split_or_error(manifest: Manifest, split: str) -> None:
    if split not in manifest.splits:
        available = ", ".join(manifest.splits) or "none"
        raise DataError(f"{manifest.root}: no split {split!r} in the manifest (available: {available})")


class _Augment:
    """Resize, crop and flip drawn from one generator, applied identically to several images."""

    def __init__(
        self, rng: np.random.Generator, shape: tuple[int, int], crop: Size | None, random_crop: bool, flip: bool
    ):
        h, w = shape
        if crop is None:
            self.box = (0, 0, w, h)
        else:
            cw, ch = crop
            if random_crop:
                x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            else:
                x0, y0 = (w - cw) // 2, (h - ch) // 2
            self.box = (x0, y0, cw, ch)
        self.flip = bool(flip and rng.random() < 0.5)

    def __call__(self, img: npt.NDArray[Any]) -> npt.NDArray[Any]:
        x0, y0, cw, ch = self.box
        out = img[y0 : y0 + ch, x0 : x0 + cw]
        if self.flip:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)

    def boxes(self, boxes: Iterable[Box]) -> tuple[Box, ...]:
        """``boxes`` cropped and flipped as the images are (what is left of each inside the crop)."""
        x0, y0, cw, ch = self.box
        out = []
        for b in boxes:
            moved = replace(b, x=b.x - x0, y=b.y - y0)
            if self.flip:
                moved = replace(moved, x=cw - moved.x - moved.w)
            inside = moved.clipped(cw, ch)
            if inside is not None:
                out.append(inside)
        return tuple(out)


def _box_mask(boxes: Iterable[Box], shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """H x W uint8: 1 on every pixel a box touches, else 0."""
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    for b in boxes:
        x0, x1 = max(math.floor(b.x), 0), min(math.ceil(b.x + b.w), w)
        y0, y1 = max(math.floor(b.y), 0), min(math.ceil(b.y + b.h), h)
        mask[y0:y1, x0:x1] = 1
    return mask


def _split_boxes(manifest: Manifest, split: str, entries: list[PairEntry]) -> dict[str, tuple[Box, ...]]:
    """Boxes per pair of ``split`` (by thermal file stem) from its ``annotations.json``.

    Problems with the file are logged, not raised: they never stop training.
    """
    records = [FrameRecord(split, e.thermal.stem, e.rgb, e.thermal) for e in entries]
    found = read_annotations(manifest.root, "pairs", records)
    for issue in found.issues:
        log.warning("annotations %s: %s", issue.path, issue.problem)
    return {fid: objects.boxes for (s, fid), objects in found.frames.items() if s == split}


def _load(img: npt.NDArray[Any], load_size: Size | None, nearest: bool = False) -> npt.NDArray[Any]:
    if load_size is None or (img.shape[1], img.shape[0]) == tuple(load_size):
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if load_size[0] < img.shape[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(img, load_size, interpolation=interp))


class PairedDataset(Dataset[PairItem]):
    """Aligned RGB/thermal pairs of one split, with identical crop and flip for both images of a pair.

    Items are dicts: ``rgb`` (3xHxW), ``thermal`` (1xHxW), ``mask`` (1xHxW, when
    every pair of the split has one), ``objects`` (1xHxW, when ``object_classes`` is
    given: the split must then have annotations), ``id`` and ``split``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        *,
        crop_size: Size | None = None,
        flip: bool = True,
        thermal_bits: int | None = None,
        seed: int = 0,
        random_crop: bool = True,
        load_size: Size | None = None,
        manifest: Manifest | None = None,
        object_classes: Collection[str] = (),
    ) -> None:
        self.manifest = manifest or read_manifest(root)
        _split_or_error(self.manifest, split)
        if thermal_bits is not None and thermal_bits != self.manifest.thermal_bits:
            raise DataError(
                f"{self.manifest.root} holds {self.manifest.thermal_bits}-bit thermal, not {thermal_bits}-bit; "
                f"run prepare with --thermal-bits {thermal_bits} or use the data as it is"
            )
        self.entries = self.manifest.pairs_in(split)
        if not self.entries:
            raise DataError(f"{self.manifest.root}: split {split!r} has no aligned pairs (only single-camera frames)")
        _check_sizes(self.manifest, crop_size, load_size)
        self.split = split
        self.crop_size = crop_size
        self.load_size = load_size
        self.flip = flip
        self.random_crop = random_crop
        self.seed = seed
        self.epoch = 0
        self.has_mask = all(e.mask is not None for e in self.entries)
        annotations = self.manifest.root / split / ANNOTATIONS_NAME
        #: Whether the split has an ``annotations.json`` (its frames may still hold no object).
        self.has_boxes = annotations.is_file()
        self._boxes: dict[str, tuple[Box, ...]] | None = None  # read on first use
        self.object_classes = frozenset(object_classes)
        if self.object_classes and not self.has_boxes:
            raise DataError(
                f"{annotations} not found: object masks need the split's annotations "
                "(prepare a dataset whose source has object annotations)"
            )

    @property
    def thermal_bits(self) -> int:
        """Bit depth of the prepared thermal images."""
        return self.manifest.thermal_bits

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation stream of an epoch (deterministic per seed, epoch and index)."""
        self.epoch = int(epoch)

    def condition(self, index: int) -> str | None:
        """The lighting condition (``day``/``night``) of item ``index``: pairs from a drive have one, else None."""
        return self.entries[index].condition

    def _source_boxes(self, index: int) -> tuple[Box, ...] | None:
        """Item ``index``'s boxes in the prepared frame's pixels; None when the frame is not annotated."""
        if not self.has_boxes:
            return None
        if self._boxes is None:
            self._boxes = _split_boxes(self.manifest, self.split, self.entries)
        return self._boxes.get(self.entries[index].thermal.stem)

    def boxes(self, index: int) -> tuple[Box, ...] | None:
        """Item ``index``'s annotated boxes in its own pixels (resized, cropped, flipped); None if unannotated."""
        found = self._source_boxes(index)
        if found is None:
            return None
        w, h = self.manifest.size
        lw, lh = self.load_size or (w, h)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        aug = _Augment(rng, (lh, lw), self.crop_size, self.random_crop, self.flip)
        return aug.boxes(b.scaled(lw / w, lh / h) for b in found)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> PairItem:
        if not 0 <= index < len(self.entries):
            raise IndexError(index)
        e = self.entries[index]
        rgb = _load(read_rgb(e.rgb), self.load_size)
        # Normalise the whole frame before cropping, like inference does.
        thermal_unit = _thermal_unit(read_thermal(e.thermal))
        thermal = _load(thermal_unit, self.load_size)
        if rgb.shape[:2] != thermal.shape[:2]:
            raise DataError(f"{e.rgb} and {e.thermal} differ in size; re-run 'thermal-synth prepare'")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        aug = _Augment(rng, thermal.shape[:2], self.crop_size, self.random_crop, self.flip)
        item: PairItem = {
            "rgb": rgb_to_tensor(aug(rgb)),
            "thermal": _unit_to_tensor(aug(thermal)),
            "id": e.frame_id,
            "split": e.split,
        }
        if self.has_mask and e.mask is not None:
            mask = _load(read_mask(e.mask), self.load_size, nearest=True)
            item["mask"] = torch.from_numpy((aug(mask) > 0).astype(np.float32)[None])
        if self.object_classes:
            chosen = (b for b in self._source_boxes(index) or () if b.category in self.object_classes)
            objects = _load(_box_mask(chosen, thermal_unit.shape[:2]), self.load_size, nearest=True)
            item["objects"] = torch.from_numpy(aug(objects).astype(np.float32)[None])
        return item


class UnpairedDataset(Dataset[UnpairedItem]):
    """RGB and thermal frames of one split sampled independently (CycleGAN).

    Uses every RGB and thermal frame of the split: both images of each pair and,
    if ``prepare --include-unpaired`` wrote them, single-camera frames. Item ``i``
    takes RGB frame ``i % n_rgb`` and a thermal frame drawn at random (seeded);
    each side gets its own crop and flip. ``len`` is the larger domain's size.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        *,
        crop_size: Size | None = None,
        flip: bool = True,
        seed: int = 0,
        random_crop: bool = True,
        load_size: Size | None = None,
        manifest: Manifest | None = None,
    ) -> None:
        self.manifest = manifest or read_manifest(root)
        _split_or_error(self.manifest, split)
        self.rgb = self.manifest.rgb_frames(split)
        self.thermal = self.manifest.thermal_frames(split)
        if not self.rgb or not self.thermal:
            missing = "RGB" if not self.rgb else "thermal"
            raise DataError(f"{self.manifest.root}: split {split!r} has no {missing} frames")
        _check_sizes(self.manifest, crop_size, load_size)
        self.split = split
        self.crop_size = crop_size
        self.load_size = load_size
        self.flip = flip
        self.random_crop = random_crop
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the sampling/augmentation stream of an epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return max(len(self.rgb), len(self.thermal))

    def __getitem__(self, index: int) -> UnpairedItem:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rgb_id, rgb_path = self.rgb[index % len(self.rgb)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        th_id, th_path = self.thermal[int(rng.integers(len(self.thermal)))]
        rgb = _load(read_rgb(rgb_path), self.load_size)
        thermal = _load(_thermal_unit(read_thermal(th_path)), self.load_size)
        aug_rgb = _Augment(rng, rgb.shape[:2], self.crop_size, self.random_crop, self.flip)
        aug_th = _Augment(rng, thermal.shape[:2], self.crop_size, self.random_crop, self.flip)
        return {
            "rgb": rgb_to_tensor(aug_rgb(rgb)),
            "thermal": _unit_to_tensor(aug_th(thermal)),
            "id": rgb_id,
            "rgb_id": rgb_id,
            "thermal_id": th_id,
            "split": self.split,
        }
