"""PyTorch datasets over ``prepare``'s output: aligned pairs (Pix2Pix) and unpaired domains (CycleGAN).

Tensors follow one convention, the one the generators are trained and exported with:

* ``rgb``: float32, 3 x H x W, RGB order, ``x / 127.5 - 1`` (range [-1, 1]);
* ``thermal``: float32, 1 x H x W in [-1, 1]: 8-bit prepared thermal is already
  AGC-normalised (``x / 127.5 - 1``); raw 16-bit thermal goes through
  :func:`thermal_synth_core.agc.agc_normalize` on the whole frame first;
* ``mask`` (when the data has warm-object masks): float32, 1 x H x W, 1 inside warm objects.

Augmentation (resize, random crop, horizontal flip) is drawn from a generator
seeded by ``(seed, epoch, index)``, never from global state: an item is the same
in any DataLoader worker, and a resumed training run sees exactly the batches it
would have seen. Call :meth:`PairedDataset.set_epoch` at the start of each epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.data.imageio import read_mask, read_rgb, read_thermal
from thermal_synth_core.data.manifest import Manifest, read_manifest
from thermal_synth_core.errors import DataError

__all__ = [
    "PairItem",
    "PairedDataset",
    "UnpairedDataset",
    "UnpairedItem",
    "read_manifest",
    "rgb_to_tensor",
    "thermal_to_tensor",
]


class _PairItemBase(TypedDict):
    rgb: torch.Tensor  # 3 x H x W in [-1, 1]
    thermal: torch.Tensor  # 1 x H x W in [-1, 1]
    id: str
    split: str


class PairItem(_PairItemBase, total=False):
    """An item of :class:`PairedDataset`; ``mask`` (1 x H x W, 0 or 1) when every pair of the split has one."""

    mask: torch.Tensor


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


def _load(img: npt.NDArray[Any], load_size: Size | None, nearest: bool = False) -> npt.NDArray[Any]:
    if load_size is None or (img.shape[1], img.shape[0]) == tuple(load_size):
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if load_size[0] < img.shape[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(img, load_size, interpolation=interp))


class PairedDataset(Dataset[PairItem]):
    """Aligned RGB/thermal pairs of one split, with identical crop and flip for both images of a pair.

    Items are dicts: ``rgb`` (3xHxW), ``thermal`` (1xHxW), ``mask`` (1xHxW, when
    every pair of the split has one), ``id`` and ``split``.
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

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> PairItem:
        if not 0 <= index < len(self.entries):
            raise IndexError(index)
        e = self.entries[index]
        rgb = _load(read_rgb(e.rgb), self.load_size)
        # Normalise the whole frame before cropping, like inference does.
        thermal = _load(_thermal_unit(read_thermal(e.thermal)), self.load_size)
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
