"""A deterministic, resumable stream of training batches.

The order of items is a pure function of ``(seed, epoch)`` (a seeded permutation
per epoch, sharded across ranks), and each item's augmentation is a pure function
of ``(seed, epoch, index)`` (see :mod:`thermal_synth_core.data.datasets`). So the
position in the stream is just "how many items this rank has consumed", which a
checkpoint stores as the step; resuming rebuilds the stream from that position
and sees exactly the batches an uninterrupted run would have seen, whatever the
number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NotRequired, Protocol, TypedDict, cast

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["Batch", "EpochDataset", "KeyedDataset", "StreamSampler", "make_loader"]


class Batch(TypedDict):
    """A collated training batch as the tasks read it: N x C x H x W tensors in [-1, 1].

    The datasets' other keys (frame ids, split, masks) ride along in the same dict, unread by training,
    except ``objects`` (N x 1 x H x W, 1 inside object boxes), which the object-weighted loss reads.
    """

    rgb: torch.Tensor
    thermal: torch.Tensor
    objects: NotRequired[torch.Tensor]


class EpochDataset(Protocol):
    """A map-style dataset whose augmentation depends on the epoch (``set_epoch``)."""

    def __len__(self) -> int:
        """Number of items in one epoch."""
        ...

    def __getitem__(self, index: int) -> Mapping[str, object]:
        """One item, augmented for the current epoch."""
        ...

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentation stream ``__getitem__`` draws from."""
        ...


class StreamSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` keys forever, starting at item ``start`` of this rank's stream."""

    def __init__(
        self, size: int, seed: int, start: int = 0, *, rank: int = 0, world_size: int = 1, shuffle: bool = True
    ) -> None:
        if size < 1:
            raise ValueError("cannot stream an empty dataset")
        self.size = size
        self.seed = seed
        self.start = start
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        # Every rank takes the same number of items per epoch (the tail is dropped), as DistributedSampler does.
        self.per_rank = max(size // world_size, 1) if world_size > 1 else size

    def epoch_indices(self, epoch: int) -> list[int]:
        """This rank's item order in ``epoch``."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        if self.world_size > 1:
            order = (order * self.world_size)[self.rank : self.per_rank * self.world_size : self.world_size]
        return order[: self.per_rank]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, offset = divmod(self.start, self.per_rank)
        while True:
            for index in self.epoch_indices(epoch)[offset:]:
                yield epoch, index
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:  # a DataLoader asks; the stream itself is endless
        return 2**62


class KeyedDataset(Dataset[Mapping[str, object]]):
    """Adapts an :class:`EpochDataset` to ``(epoch, index)`` keys, so workers never hold a stale epoch."""

    def __init__(self, dataset: EpochDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Mapping[str, object]:
        epoch, index = key
        self.dataset.set_epoch(epoch)
        return self.dataset[index]


def make_loader(
    dataset: EpochDataset,
    *,
    batch_size: int,
    seed: int,
    start_item: int,
    workers: int,
    pin_memory: bool,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[Batch]:
    """An endless iterator of collated batches starting at this rank's ``start_item``."""
    sampler = StreamSampler(len(dataset), seed, start_item, rank=rank, world_size=world_size)
    loader = DataLoader(
        KeyedDataset(dataset),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        drop_last=True,
    )
    # The default collate stacks each item's tensors under the item's own keys: a Batch (and the rest).
    return cast(Iterator[Batch], iter(loader))
