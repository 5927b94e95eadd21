"""One Pix2Pix training step (Isola et al. 2017) with the thermal-aware reconstruction terms.

Same mathematics as the reference implementation's ``optimize_parameters``:
generate once; update D on (RGB, fake) vs. (RGB, real) halved; then update G
with the GAN term through a frozen D plus weighted L1 (and, optionally, SSIM).
Differences are about speed only (fused Adam, channels_last and AMP on CUDA,
optional torch.compile, no host syncs: losses stay on the device until logged).
"""

from __future__ import annotations

import torch
from torch import nn

from thermal_synth_core.models import build_discriminator, build_generator
from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.losses import GANLoss, patch_weights, ssim_loss, warm_weighted_l1
from thermal_synth_core.train.stream import Batch
from thermal_synth_core.train.task import Task, adam

__all__ = ["Pix2PixTask"]


class Pix2PixTask(Task):
    """Generator G: RGB -> thermal; conditional PatchGAN D on (RGB, thermal)."""

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m = cfg.model
        self.G = build_generator(
            m.generator,
            input_nc=m.input_nc,
            output_nc=m.output_nc,
            ngf=m.ngf,
            norm=m.norm,
            use_dropout=m.dropout,
            init_type=m.init_type,
            init_gain=m.init_gain,
            **m.generator_kwargs,
        )
        self.D = build_discriminator(
            m.discriminator,
            input_nc=m.input_nc + m.output_nc,
            ndf=m.ndf,
            n_layers=m.n_layers_d,
            norm=m.norm_d,
            init_type=m.init_type,
            init_gain=m.init_gain,
        )
        self.networks = {"G": self.G, "D": self.D}
        self.place_networks()
        self.opt_G = adam(self.G.parameters(), cfg, device)
        self.opt_D = adam(self.D.parameters(), cfg, device)
        self.optimizers = {"G": self.opt_G, "D": self.opt_D}
        self.gan = GANLoss(cfg.loss.gan_mode).to(device)
        self.finish_setup()

    @property
    def generator(self) -> nn.Module:
        """The network that ships as the model file."""
        return self.G

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One D update and one G update; returns detached loss tensors (no host sync)."""
        lc = self.cfg.loss
        real_a = self.to_device(batch["rgb"])
        real_b = self.to_device(batch["thermal"])
        # Object boxes (loss.object_weight > 0): 1 inside boxes of loss.object_classes, cropped/flipped like the images.
        objects = self.to_device(batch["objects"]) if lc.object_weight > 0 and "objects" in batch else None
        net_g, net_d = self.run["G"], self.run["D"]
        net_d_frozen = self.raw["D"]  # G's GAN term: no DDP gradient sync needed for a frozen D

        with self.autocast():
            fake_b = net_g(real_a)

        # D: real pairs -> 1, fake pairs -> 0.
        self.set_requires_grad(self.D, True)
        self.opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            pred_fake = net_d(torch.cat((real_a, fake_b.detach()), 1))
            loss_d_fake = self.gan(pred_fake, False)
            pred_real = net_d(torch.cat((real_a, real_b), 1))
            loss_d_real = self.gan(pred_real, True)
            loss_d = (loss_d_fake + loss_d_real) * 0.5
        self.backward_step(loss_d, self.opt_D)

        # G: fool D, stay close to the target.
        self.set_requires_grad(self.D, False)
        self.opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            pred_g = net_d_frozen(torch.cat((real_a, fake_b), 1))
            weight = None if objects is None else patch_weights(objects, pred_g, lc.object_weight)
            loss_g_gan = self.gan(pred_g, True, weight)
            loss_g_l1 = (
                warm_weighted_l1(
                    fake_b, real_b, lc.warm_weight, lc.warm_threshold, objects=objects, object_weight=lc.object_weight
                )
                * lc.lambda_l1
            )
            loss_g = loss_g_gan + loss_g_l1
            losses = {"D_real": loss_d_real, "D_fake": loss_d_fake, "G_GAN": loss_g_gan, "G_L1": loss_g_l1}
            if lc.lambda_ssim > 0:
                loss_g_ssim = ssim_loss(fake_b.float(), real_b.float()) * lc.lambda_ssim
                loss_g = loss_g + loss_g_ssim
                losses["G_SSIM"] = loss_g_ssim
        self.backward_step(loss_g, self.opt_G)
        self.end_step()
        return {k: v.detach() for k, v in losses.items()}
