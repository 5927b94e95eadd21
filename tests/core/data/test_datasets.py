"""Training datasets: tensor conventions, identical augmentation for a pair, determinism, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from thermal_synth_core.align import Alignment
from thermal_synth_core.data.datasets import PairedDataset, UnpairedDataset, rgb_to_tensor, thermal_to_tensor
from thermal_synth_core.data.imageio import write_image
from thermal_synth_core.data.manifest import SCHEMA
from thermal_synth_core.errors import DataError

W, H = 64, 48


def _coordinate_dataset(root: Path, n: int = 4, bits: int = 8, masks: bool = True) -> Path:
    """A prepared dataset whose images encode pixel coordinates, so crops and flips can be checked exactly."""
    xs = np.tile(np.arange(W, dtype=np.uint16), (H, 1))
    ys = np.tile(np.arange(H, dtype=np.uint16)[:, None], (1, W))
    pairs = []
    for i in range(n):
        fid = f"f{i}"
        rgb = np.stack([xs * 3, ys * 5, np.full_like(xs, i * 40)], axis=2).astype(np.uint8)
        write_image(root / "train" / "rgb" / f"{fid}.png", rgb)
        thermal = (xs * 3).astype(np.uint8) if bits == 8 else (xs * 100 + 1000).astype(np.uint16)
        write_image(root / "train" / "thermal" / f"{fid}.png", thermal)
        item = {"split": "train", "id": fid, "rgb": f"train/rgb/{fid}.png", "thermal": f"train/thermal/{fid}.png"}
        if masks:
            write_image(root / "train" / "mask" / f"{fid}.png", ((xs > W // 2) * 255).astype(np.uint8))
            item["mask"] = f"train/mask/{fid}.png"
        pairs.append(item)
    manifest = {
        "schema": SCHEMA,
        "version": 1,
        "format": "pairs",
        "alignment": Alignment.identity((W, H)).to_dict(),
        "thermal_bits": bits,
        "size": [W, H],
        "has_masks": masks,
        "pairs": pairs,
        "unpaired": [{"split": "train", "id": "lonely", "kind": "thermal", "path": "train/thermal/f0.png"}],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_tensor_conventions(tmp_path: Path) -> None:
    ds = PairedDataset(_coordinate_dataset(tmp_path), "train", flip=False)
    item = ds[1]
    assert item["rgb"].shape == (3, H, W) and item["rgb"].dtype == torch.float32
    assert item["thermal"].shape == (1, H, W) and item["mask"].shape == (1, H, W)
    assert float(item["rgb"].min()) >= -1.0 and float(item["rgb"].max()) <= 1.0
    assert item["id"] == "f1" and item["split"] == "train"
    np.testing.assert_allclose(item["rgb"][0, 0, :3].numpy(), np.array([0, 3, 6]) / 127.5 - 1, atol=1e-6)
    assert set(np.unique(item["mask"].numpy())) == {0.0, 1.0}


def test_crop_and_flip_are_identical_for_the_pair(tmp_path: Path) -> None:
    ds = PairedDataset(_coordinate_dataset(tmp_path), "train", crop_size=(32, 24), seed=3)
    flips = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            rgb_x = item["rgb"][0]  # x * 3, scaled to [-1, 1]
            th_x = item["thermal"][0]
            assert torch.allclose(rgb_x, th_x, atol=1e-6), "RGB and thermal cropped/flipped differently"
            x = (item["mask"][0] > 0) == (rgb_x > (W // 2 + 0.5) * 3 / 127.5 - 1)
            assert bool(x.all()), "mask cropped/flipped differently"
            flips.add(bool(rgb_x[0, 0] > rgb_x[0, -1]))
    assert flips == {True, False}


def test_deterministic_given_seed_and_epoch(tmp_path: Path) -> None:
    root = _coordinate_dataset(tmp_path)
    a = PairedDataset(root, "train", crop_size=(16, 16), seed=7)
    b = PairedDataset(root, "train", crop_size=(16, 16), seed=7)
    assert all(torch.equal(a[i]["rgb"], b[i]["rgb"]) for i in range(len(a)))
    a.set_epoch(1)
    assert any(not torch.equal(a[i]["rgb"], b[i]["rgb"]) for i in range(len(a)))
    c = PairedDataset(root, "train", crop_size=(16, 16), seed=8)
    assert any(not torch.equal(c[i]["rgb"], b[i]["rgb"]) for i in range(len(c)))
    centre = PairedDataset(root, "train", crop_size=(16, 16), random_crop=False, flip=False)
    assert float(centre[0]["rgb"][0, 0, 0]) == pytest.approx(((W - 16) // 2) * 3 / 127.5 - 1)


def test_sixteen_bit_goes_through_the_shared_agc(tmp_path: Path) -> None:
    ds = PairedDataset(_coordinate_dataset(tmp_path, bits=16), "train", flip=False, load_size=(32, 24))
    th = ds[0]["thermal"]
    assert th.shape == (1, 24, 32)
    assert float(th.min()) == pytest.approx(-1.0, abs=0.05) and float(th.max()) == pytest.approx(1.0, abs=0.05)
    raw = np.tile(np.arange(W, dtype=np.uint16) * 100 + 1000, (H, 1))
    assert torch.allclose(
        thermal_to_tensor(raw)[0, 0], PairedDataset(tmp_path, "train", flip=False)[0]["thermal"][0, 0]
    )
    assert rgb_to_tensor(np.zeros((2, 2, 3), np.uint8)).shape == (3, 2, 2)


def test_unpaired_samples_domains_independently(tmp_path: Path) -> None:
    ds = UnpairedDataset(_coordinate_dataset(tmp_path, n=6), "train", crop_size=(16, 16), seed=1)
    assert len(ds) == 7  # 6 pair thermal frames + 1 thermal-only frame
    items = [ds[i] for i in range(len(ds))]
    assert {it["rgb_id"] for it in items} == {f"f{i}" for i in range(6)}
    assert any(it["rgb_id"] != it["thermal_id"] for it in items)
    assert items[0]["rgb"].shape == (3, 16, 16) and items[0]["thermal"].shape == (1, 16, 16)


def test_dataset_errors(tmp_path: Path) -> None:
    root = _coordinate_dataset(tmp_path)
    with pytest.raises(DataError, match=r"no split 'val'.*available: train"):
        PairedDataset(root, "val")
    with pytest.raises(DataError, match="holds 8-bit thermal, not 16-bit"):
        PairedDataset(root, "train", thermal_bits=16)
    with pytest.raises(DataError, match="crop size 128x128 is larger than the images"):
        PairedDataset(root, "train", crop_size=(128, 128))
    with pytest.raises(DataError, match=r"no manifest\.json"):
        PairedDataset(tmp_path / "train", "train")


def test_real_prepared_data_loads(synth_pairs: Path, tmp_path: Path) -> None:
    from torch.utils.data import DataLoader

    from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset

    out = tmp_path / "prep"
    prepare_dataset(PrepareOptions(root=synth_pairs, fmt="pairs", out=out, workers=1))
    ds = PairedDataset(out, "train", crop_size=(256, 256))
    batch = next(iter(DataLoader(ds, batch_size=4, num_workers=0)))
    assert batch["rgb"].shape == (4, 3, 256, 256) and batch["mask"].shape == (4, 1, 256, 256)
    assert ds.manifest.model_metadata()["alignment"]["rgb_size"] == [320, 256]
