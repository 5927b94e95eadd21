"""CycleGAN's image pool: fills first, then swaps 50/50, and resumes exactly."""

from __future__ import annotations

import torch

from thermal_synth_core.train.image_pool import ImagePool


def _fakes(start: int, n: int = 1) -> torch.Tensor:
    """``n`` 1 x 2 x 2 images, each filled with its own number (so outputs can be traced back)."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(image[0, 0, 0]) for image in batch]


def test_a_pool_of_size_zero_passes_images_through() -> None:
    pool = ImagePool(0)
    images = _fakes(0, 3)
    assert pool.query(images) is images


def test_the_pool_returns_new_images_until_it_is_full() -> None:
    pool = ImagePool(4, seed=1)
    assert _ids(pool.query(_fakes(0, 3))) == [0, 1, 2]
    assert _ids(pool.query(_fakes(3, 1))) == [3]
    assert [_ids(t.unsqueeze(0))[0] for t in (i[0] for i in pool.images)] == [0, 1, 2, 3]


def test_a_full_pool_returns_old_and_new_images_about_half_and_half() -> None:
    pool = ImagePool(5, seed=3)
    pool.query(_fakes(0, 5))
    old = 0
    n = 400
    for i in range(n):
        out = _ids(pool.query(_fakes(100 + i)))
        assert len(out) == 1
        if out[0] != 100 + i:
            old += 1
            assert out[0] < 100 + i  # an earlier fake, never an invented one
    assert 0.4 * n < old < 0.6 * n
    # Swapped-out images were replaced by the new ones: the pool keeps the recent history.
    assert max(_ids(torch.cat(pool.images))) > 100


def test_the_pool_detaches_what_it_returns() -> None:
    pool = ImagePool(2)
    images = _fakes(0, 2).requires_grad_(True)
    assert not pool.query(images * 2).requires_grad


def test_state_dict_resumes_the_same_sequence() -> None:
    pool = ImagePool(3, seed=7)
    for i in range(6):
        pool.query(_fakes(10 * i, 2))
    state = pool.state_dict()
    resumed = ImagePool(3, seed=999)
    resumed.load_state_dict(state, torch.device("cpu"))
    for i in range(6, 20):
        assert _ids(pool.query(_fakes(10 * i, 2))) == _ids(resumed.query(_fakes(10 * i, 2)))
