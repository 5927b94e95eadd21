"""One CycleGAN training step (Zhu et al. 2017) for RGB (domain A) <-> thermal (domain B).

As in the reference ``optimize_parameters``: translate both ways and back, update
both generators through frozen discriminators (GAN + cycle + identity terms),
then update each discriminator on real images vs. fakes drawn from an image pool.

RGB has three channels and thermal one, so the identity terms need a bridge the
reference (which asserts equal channel counts) does not have: G_A (RGB->thermal)
sees the thermal image replicated to three channels, and G_B (thermal->RGB) sees
the RGB image's luminance. Set ``loss.lambda_identity=0`` to drop them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from thermal_synth_core.models import build_discriminator, build_generator
from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.image_pool import ImagePool, ImagePoolState
from thermal_synth_core.train.losses import GANLoss
from thermal_synth_core.train.stream import Batch
from thermal_synth_core.train.task import Task, adam

__all__ = ["CycleGANTask", "luminance", "match_channels"]

_LUMA = (0.299, 0.587, 0.114)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W -> N x 1 x H x W (ITU-R BT.601 weights; the [-1, 1] range is kept)."""
    w = torch.tensor(_LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True)


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """The identity terms' bridge: replicate a single channel, or take RGB's luminance for one channel."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1)
    if channels == 1 and x.shape[1] == 3:
        return luminance(x)
    raise ValueError(f"cannot bridge {x.shape[1]} channels to {channels}")


class CycleGANTask(Task):
    """G_A: RGB -> thermal (the deployable one), G_B: thermal -> RGB, D_A on thermal, D_B on RGB."""

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m = cfg.model

        def generator(inp: int, out: int) -> nn.Module:
            return build_generator(
                m.generator, input_nc=inp, output_nc=out, ngf=m.ngf, norm=m.norm, use_dropout=m.dropout,
                init_type=m.init_type, init_gain=m.init_gain, **m.generator_kwargs,
            )  # fmt: skip

        def discriminator(inp: int) -> nn.Module:
            return build_discriminator(
                m.discriminator, input_nc=inp, ndf=m.ndf, n_layers=m.n_layers_d, norm=m.norm_d,
                init_type=m.init_type, init_gain=m.init_gain,
            )  # fmt: skip

        self.G_A = generator(m.input_nc, m.output_nc)
        self.G_B = generator(m.output_nc, m.input_nc)
        self.D_A = discriminator(m.output_nc)
        self.D_B = discriminator(m.input_nc)
        self.networks = {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}
        self.place_networks()
        self.opt_G = adam([*self.G_A.parameters(), *self.G_B.parameters()], cfg, device)
        self.opt_D_A = adam(self.D_A.parameters(), cfg, device)
        self.opt_D_B = adam(self.D_B.parameters(), cfg, device)
        self.optimizers = {"G": self.opt_G, "D_A": self.opt_D_A, "D_B": self.opt_D_B}
        self.gan = GANLoss(cfg.loss.gan_mode).to(device)
        self.pool_A = ImagePool(cfg.loss.pool_size, seed=cfg.seed * 2 + 1)  # fake RGB for D_B
        self.pool_B = ImagePool(cfg.loss.pool_size, seed=cfg.seed * 2 + 2)  # fake thermal for D_A
        self.finish_setup()

    @property
    def generator(self) -> nn.Module:
        """G_A, RGB -> thermal."""
        return self.G_A

    def _d_loss(self, disc: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        loss_real: torch.Tensor = self.gan(disc(real), True)
        loss_fake: torch.Tensor = self.gan(disc(fake.detach()), False)
        return (loss_real + loss_fake) * 0.5

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Generators first (through frozen Ds), then both discriminators."""
        lc = self.cfg.loss
        m = self.cfg.model
        real_a = self.to_device(batch["rgb"])
        real_b = self.to_device(batch["thermal"])
        g_a, g_b = self.run["G_A"], self.run["G_B"]

        self.set_requires_grad(self.D_A, False)
        self.set_requires_grad(self.D_B, False)
        self.opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            fake_b = g_a(real_a)
            rec_a = g_b(fake_b)
            fake_a = g_b(real_b)
            rec_b = g_a(fake_a)
            loss_g_a = self.gan(self.raw["D_A"](fake_b), True)
            loss_g_b = self.gan(self.raw["D_B"](fake_a), True)
            loss_cycle_a = F.l1_loss(rec_a, real_a) * lc.lambda_cycle
            loss_cycle_b = F.l1_loss(rec_b, real_b) * lc.lambda_cycle
            loss_g = loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b
            losses = {"G_A": loss_g_a, "G_B": loss_g_b, "cycle_A": loss_cycle_a, "cycle_B": loss_cycle_b}
            if lc.lambda_identity > 0:
                idt_a = g_a(match_channels(real_b, m.input_nc))
                idt_b = g_b(match_channels(real_a, m.output_nc))
                loss_idt_a = F.l1_loss(idt_a, real_b) * lc.lambda_cycle * lc.lambda_identity
                loss_idt_b = F.l1_loss(idt_b, real_a) * lc.lambda_cycle * lc.lambda_identity
                loss_g = loss_g + loss_idt_a + loss_idt_b
                losses |= {"idt_A": loss_idt_a, "idt_B": loss_idt_b}
        self.backward_step(loss_g, self.opt_G)

        self.set_requires_grad(self.D_A, True)
        self.set_requires_grad(self.D_B, True)
        self.opt_D_A.zero_grad(set_to_none=True)
        self.opt_D_B.zero_grad(set_to_none=True)
        with self.autocast():
            loss_d_a = self._d_loss(self.run["D_A"], real_b, self.pool_B.query(fake_b))
        self.backward_step(loss_d_a, self.opt_D_A)
        with self.autocast():
            loss_d_b = self._d_loss(self.run["D_B"], real_a, self.pool_A.query(fake_a))
        self.backward_step(loss_d_b, self.opt_D_B)
        self.end_step()
        losses |= {"D_A": loss_d_a, "D_B": loss_d_b}
        return {k: v.detach() for k, v in losses.items()}

    def extra_state(self) -> dict[str, ImagePoolState]:
        """The image pools (contents and their random generators)."""
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict[str, ImagePoolState]) -> None:
        """Restore the image pools."""
        if "pool_A" in state:
            self.pool_A.load_state_dict(state["pool_A"], self.device)
            self.pool_B.load_state_dict(state["pool_B"], self.device)
