"""One SSIM: the training loss's ``ssim_torch`` and the metric ``metrics.ssim`` agree.

``metrics.ssim`` blurs with OpenCV and crops the window's half-width at every
border; ``ssim_torch`` convolves with PyTorch over the valid region only. Both
use the same parameters (``metrics.SSIM_*``), so on the same images they must give
the same number up to float32 rounding, from the smallest size SSIM is defined
on. Both compute a local variance as E[x^2] - E[x]^2 in float32, where the two
terms nearly cancel when the image is smooth; next to SSIM's C2 = 9e-4 that
rounding shows, so the stated tolerances grow as the images flatten:

* random images: ``TOLERANCE`` (1e-5; measured differences stay under 1e-6);
* structured images (ramps, edges, stripes, blurred discs): ``SMOOTH_TOLERANCE``
  (1e-4; measured up to 3e-5, on the smooth ramps);
* two flat images (zero variance: the whole variance term is rounding):
  ``FLAT_TOLERANCE`` (2.5e-4; measured 1.6e-4).

Evaluation reports SSIM to 3 decimals and /diagnostics to 4: none of this shows.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import torch

from thermal_synth_core import metrics
from thermal_synth_core.train.losses import ssim_loss, ssim_torch

#: Largest differences allowed (see the module docstring): float32 sums over 121-pixel windows, two libraries.
TOLERANCE = 1e-5
SMOOTH_TOLERANCE = 1e-4
FLAT_TOLERANCE = 2.5e-4

Image = npt.NDArray[np.float32]


def _torch_ssim(a: Image, b: Image) -> float:
    return float(ssim_torch(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]))


def _structured(h: int, w: int) -> dict[str, tuple[Image, Image]]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (x / (w - 1)).astype(np.float32)
    stripes = ((np.sin(x / 2.0) + 1.0) / 2.0).astype(np.float32)
    edge = (x > w / 2).astype(np.float32)
    disc = (((x - w / 2) ** 2 + (y - h / 2) ** 2) < (min(h, w) / 4) ** 2).astype(np.float32) * 0.8 + 0.1
    return {
        "identical": (stripes, stripes.copy()),
        "inverted ramp": (ramp, 1.0 - ramp),
        "flat vs flat": (np.full((h, w), 0.3, np.float32), np.full((h, w), 0.7, np.float32)),
        "flat vs edge": (np.full((h, w), 0.5, np.float32), edge),
        "edge vs shifted edge": (edge, np.roll(edge, 3, axis=1)),
        "disc vs blurred disc": (disc, np.asarray(cv2.GaussianBlur(disc, (0, 0), 3.0), np.float32)),
        "stripes vs ramp": (stripes, ramp),
    }


@pytest.mark.parametrize("shape", [(11, 11), (11, 40), (48, 64), (97, 120)])
@pytest.mark.parametrize("noise", [0.02, 0.2, 1.0])
def test_random_images_agree(shape: tuple[int, int], noise: float) -> None:
    rng = np.random.default_rng(hash((shape, noise)) % 2**32)
    a = rng.random(shape, dtype=np.float32)
    b = np.clip(a + noise * rng.standard_normal(shape).astype(np.float32), 0.0, 1.0)
    expected = metrics.ssim(a, b)
    assert _torch_ssim(a, b) == pytest.approx(expected, abs=TOLERANCE)
    assert -1.0 <= expected < 1.0


@pytest.mark.parametrize("shape", [(11, 11), (40, 56)])
def test_structured_images_agree(shape: tuple[int, int]) -> None:
    values = {}
    for name, (a, b) in _structured(*shape).items():
        expected = metrics.ssim(a, b)
        tolerance = FLAT_TOLERANCE if name == "flat vs flat" else SMOOTH_TOLERANCE
        assert _torch_ssim(a, b) == pytest.approx(expected, abs=tolerance), name
        values[name] = expected
    assert values["identical"] == pytest.approx(1.0, abs=1e-6)
    assert values["inverted ramp"] < 0.0 < values["disc vs blurred disc"] < 0.99  # the cases really differ


def test_a_batch_scores_the_mean_of_its_images_and_the_loss_is_one_minus_ssim() -> None:
    rng = np.random.default_rng(7)
    a = rng.random((3, 32, 40), dtype=np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape).astype(np.float32), 0.0, 1.0)
    per_image = [metrics.ssim(a[i], b[i]) for i in range(3)]
    batch = float(ssim_torch(torch.from_numpy(a)[:, None], torch.from_numpy(b)[:, None]))
    assert batch == pytest.approx(float(np.mean(per_image)), abs=TOLERANCE)
    # The loss takes generator outputs in [-1, 1].
    loss = float(ssim_loss(torch.from_numpy(a * 2 - 1)[:, None], torch.from_numpy(b * 2 - 1)[:, None]))
    assert loss == pytest.approx(1.0 - float(np.mean(per_image)), abs=TOLERANCE)
