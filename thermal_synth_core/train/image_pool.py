"""CycleGAN's history of generated images, so the discriminator also sees older fakes (Shrivastava et al.)."""

from __future__ import annotations

import random
from typing import TypedDict

import torch

__all__ = ["ImagePool", "ImagePoolState"]


class ImagePoolState(TypedDict):
    """A pool's stored fakes (on the CPU) and its generator's ``random.Random.getstate()``."""

    images: list[torch.Tensor]
    rng: tuple[object, ...]


class ImagePool:
    """Keep up to ``size`` past fakes; return a batch mixing new fakes and stored ones, 50/50.

    The pool draws from its own :class:`random.Random` so its state can be saved and
    restored for an exact resume.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the size of ``images`` for the discriminator."""
        if self.size == 0:
            return images
        out: list[torch.Tensor] = []
        for single in images.detach():
            image = single.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif self.rng.random() > 0.5:
                index = self.rng.randrange(self.size)
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> ImagePoolState:
        """Everything needed to continue identically after a resume."""
        return {"images": [t.cpu() for t in self.images], "rng": self.rng.getstate()}

    def load_state_dict(self, state: ImagePoolState, device: torch.device) -> None:
        """Restore from :meth:`state_dict`."""
        self.images = [t.to(device) for t in state["images"]]
        self.rng.setstate(state["rng"])
