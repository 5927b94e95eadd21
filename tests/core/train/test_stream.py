"""The deterministic, resumable batch stream: order by (seed, epoch), resume by position, shards per rank."""

from __future__ import annotations

import itertools

import pytest
import torch

from thermal_synth_core.train.stream import Batch, KeyedDataset, StreamSampler, make_loader


def _take(sampler: StreamSampler, n: int) -> list[tuple[int, int]]:
    return list(itertools.islice(iter(sampler), n))


def test_each_epoch_is_a_seeded_permutation() -> None:
    keys = _take(StreamSampler(10, seed=3), 30)
    epochs = [[index for epoch, index in keys if epoch == e] for e in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert epochs[0] != epochs[1]  # reshuffled every epoch
    assert epochs[0] != list(range(10))
    assert _take(StreamSampler(10, seed=3), 30) == keys  # a pure function of the seed
    assert _take(StreamSampler(10, seed=4), 30) != keys


def test_without_shuffle_the_order_is_the_index_order() -> None:
    assert [i for _, i in _take(StreamSampler(4, seed=0, shuffle=False), 8)] == [0, 1, 2, 3] * 2


@pytest.mark.parametrize("start", [0, 1, 7, 10, 23])
def test_starting_at_an_item_resumes_the_uninterrupted_stream(start: int) -> None:
    whole = _take(StreamSampler(10, seed=5), 40)
    assert _take(StreamSampler(10, seed=5, start=start), 40 - start) == whole[start:]


def test_ranks_share_out_each_epoch_without_overlap() -> None:
    size, world = 11, 3
    shards = [StreamSampler(size, seed=2, rank=r, world_size=world) for r in range(world)]
    for epoch in range(3):
        orders = [s.epoch_indices(epoch) for s in shards]
        assert [len(o) for o in orders] == [size // world] * world  # the tail is dropped
        seen = [i for o in orders for i in o]
        assert len(set(seen)) == len(seen)
    # Each rank resumes its own stream too.
    assert _take(StreamSampler(size, seed=2, start=4, rank=1, world_size=world), 5) == _take(shards[1], 9)[4:]


def test_an_empty_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        StreamSampler(0, seed=0)


class _EpochTagged:
    """A dataset whose items say which epoch and index produced them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.epoch = 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        key = torch.tensor([self.epoch, index], dtype=torch.float32)
        return {"rgb": key.view(1, 1, 2), "thermal": key.view(1, 1, 2)}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def test_keyed_dataset_sets_the_epoch_of_each_item() -> None:
    dataset = KeyedDataset(_EpochTagged(5))
    for epoch, index in ((3, 2), (0, 4)):
        rgb = dataset[(epoch, index)]["rgb"]
        assert isinstance(rgb, torch.Tensor)
        assert rgb.flatten().tolist() == [epoch, index]


def _keys(batch: Batch) -> list[tuple[int, int]]:
    return [(int(e), int(i)) for e, i in batch["rgb"].view(-1, 2).tolist()]


def test_make_loader_batches_the_stream_and_resumes_it() -> None:
    def loader(start_item: int) -> list[list[tuple[int, int]]]:
        batches = make_loader(_EpochTagged(6), batch_size=2, seed=1, start_item=start_item, workers=0, pin_memory=False)
        return [_keys(next(batches)) for _ in range(5)]

    whole = loader(0)
    flat = [k for batch in whole for k in batch]
    assert flat == _take(StreamSampler(6, seed=1), 10)  # the sampler's order, crossing epochs
    assert loader(4)[:3] == whole[2:]  # start_item = step * batch_size resumes exactly
