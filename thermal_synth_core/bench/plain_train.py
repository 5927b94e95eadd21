"""The plain loop that ``thermal-synth bench train`` compares ours with: Pix2Pix and CycleGAN as the original trains.

Written after the shape of the original pytorch-CycleGAN-and-pix2pix code (not copied
from it): a model object with ``set_input``, ``forward``, ``backward_d``/``backward_g``
and ``optimize_parameters``; ``set_requires_grad`` on the discriminators around the
generator update; ``optimizer.zero_grad()`` with PyTorch's defaults; ``torch.optim.Adam``
with PyTorch's defaults (a per-parameter loop of tensor ops on the CPU, ``foreach`` on
CUDA); NCHW contiguous tensors; fp32; CycleGAN's two discriminators under one optimiser.
The training script reads the losses back as Python floats every ``print_freq`` (100)
iterations for its visualiser, and steps the learning rate once per epoch (outside the
timed iterations).

It runs the very networks and losses of our training step (the registries' networks
with the same weights, :class:`~thermal_synth_core.train.losses.GANLoss`, L1, the image
pools, the RGB/thermal identity bridge), so the two loops differ only in how they train.
Nothing here is slowed down on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Final

import torch
from torch import nn

from thermal_synth_core.train.cyclegan import match_channels
from thermal_synth_core.train.image_pool import ImagePool
from thermal_synth_core.train.losses import GANLoss
from thermal_synth_core.train.stream import Batch

__all__ = ["PRINT_FREQ", "PlainCycleGAN", "PlainLoop", "PlainModel", "PlainPix2Pix", "set_requires_grad"]

#: The original training script's default ``--print_freq``: losses are read back this often.
PRINT_FREQ: Final = 100


def set_requires_grad(nets: Iterable[nn.Module], requires_grad: bool) -> None:
    """Freeze or unfreeze whole networks (the discriminators while the generators learn)."""
    for net in nets:
        for param in net.parameters():
            param.requires_grad = requires_grad


class PlainModel:
    """What the plain training loop needs from a model."""

    loss_names: tuple[str, ...] = ()

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.losses: dict[str, torch.Tensor] = {}

    def set_input(self, batch: Batch) -> None:
        """Move the batch to the device."""
        raise NotImplementedError

    def optimize_parameters(self) -> None:
        """One training iteration."""
        raise NotImplementedError

    def get_current_losses(self) -> dict[str, float]:
        """The losses of the last iteration as Python floats (a host sync per loss on CUDA)."""
        return {name: self.losses[name].item() for name in self.loss_names}

    def networks(self) -> dict[str, nn.Module]:
        """Name -> network, named as in our training task."""
        raise NotImplementedError


def _adam(params: Iterable[nn.Parameter], lr: float, beta1: float) -> torch.optim.Adam:
    """Adam as the original builds it: learning rate and beta1 from the options, everything else default."""
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999))


class PlainPix2Pix(PlainModel):
    """Pix2Pix: G maps RGB to thermal; a conditional PatchGAN D judges (RGB, thermal) pairs."""

    loss_names = ("G_GAN", "G_L1", "D_real", "D_fake")

    def __init__(
        self,
        net_g: nn.Module,
        net_d: nn.Module,
        *,
        gan_mode: str,
        lambda_l1: float,
        lr: float,
        beta1: float,
        device: torch.device,
    ) -> None:
        super().__init__(device)
        self.net_g = net_g.to(device)
        self.net_d = net_d.to(device)
        self.lambda_l1 = lambda_l1
        self.criterion_gan = GANLoss("lsgan" if gan_mode == "lsgan" else "vanilla").to(device)
        self.criterion_l1 = nn.L1Loss()
        self.optimizer_g = _adam(self.net_g.parameters(), lr, beta1)
        self.optimizer_d = _adam(self.net_d.parameters(), lr, beta1)

    def networks(self) -> dict[str, nn.Module]:
        """G and D."""
        return {"G": self.net_g, "D": self.net_d}

    def set_input(self, batch: Batch) -> None:
        """RGB is domain A, thermal domain B."""
        self.real_a = batch["rgb"].to(self.device)
        self.real_b = batch["thermal"].to(self.device)

    def forward(self) -> None:
        """Generate the thermal image."""
        self.fake_b = self.net_g(self.real_a)

    def backward_d(self) -> None:
        """D: fake pairs (detached from G) -> 0, real pairs -> 1, averaged."""
        pred_fake = self.net_d(torch.cat((self.real_a, self.fake_b), 1).detach())
        self.losses["D_fake"] = self.criterion_gan(pred_fake, False)
        pred_real = self.net_d(torch.cat((self.real_a, self.real_b), 1))
        self.losses["D_real"] = self.criterion_gan(pred_real, True)
        loss_d = (self.losses["D_fake"] + self.losses["D_real"]) * 0.5
        loss_d.backward()  # type: ignore[no-untyped-call]

    def backward_g(self) -> None:
        """G: fool D and stay close to the target (L1)."""
        pred_fake = self.net_d(torch.cat((self.real_a, self.fake_b), 1))
        self.losses["G_GAN"] = self.criterion_gan(pred_fake, True)
        self.losses["G_L1"] = self.criterion_l1(self.fake_b, self.real_b) * self.lambda_l1
        loss_g = self.losses["G_GAN"] + self.losses["G_L1"]
        loss_g.backward()  # type: ignore[no-untyped-call]

    def optimize_parameters(self) -> None:
        """Generate once, update D, then update G through the frozen D."""
        self.forward()
        set_requires_grad([self.net_d], True)
        self.optimizer_d.zero_grad()
        self.backward_d()
        self.optimizer_d.step()
        set_requires_grad([self.net_d], False)
        self.optimizer_g.zero_grad()
        self.backward_g()
        self.optimizer_g.step()


class PlainCycleGAN(PlainModel):
    """CycleGAN: G_A RGB -> thermal, G_B thermal -> RGB, D_A judges thermal, D_B judges RGB."""

    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")

    def __init__(
        self,
        nets: dict[str, nn.Module],
        *,
        gan_mode: str,
        lambda_cycle: float,
        lambda_identity: float,
        pool_size: int,
        lr: float,
        beta1: float,
        device: torch.device,
    ) -> None:
        super().__init__(device)
        self.net_g_a = nets["G_A"].to(device)
        self.net_g_b = nets["G_B"].to(device)
        self.net_d_a = nets["D_A"].to(device)
        self.net_d_b = nets["D_B"].to(device)
        self.lambda_a = self.lambda_b = lambda_cycle
        self.lambda_identity = lambda_identity
        self.fake_a_pool = ImagePool(pool_size)
        self.fake_b_pool = ImagePool(pool_size)
        self.criterion_gan = GANLoss("lsgan" if gan_mode == "lsgan" else "vanilla").to(device)
        self.criterion_cycle = nn.L1Loss()
        self.criterion_idt = nn.L1Loss()
        self.optimizer_g = _adam(itertools.chain(self.net_g_a.parameters(), self.net_g_b.parameters()), lr, beta1)
        self.optimizer_d = _adam(itertools.chain(self.net_d_a.parameters(), self.net_d_b.parameters()), lr, beta1)

    def networks(self) -> dict[str, nn.Module]:
        """The two generators and the two discriminators."""
        return {"G_A": self.net_g_a, "G_B": self.net_g_b, "D_A": self.net_d_a, "D_B": self.net_d_b}

    def set_input(self, batch: Batch) -> None:
        """RGB is domain A, thermal domain B (drawn independently: unpaired)."""
        self.real_a = batch["rgb"].to(self.device)
        self.real_b = batch["thermal"].to(self.device)

    def forward(self) -> None:
        """Translate both ways and back."""
        self.fake_b = self.net_g_a(self.real_a)
        self.rec_a = self.net_g_b(self.fake_b)
        self.fake_a = self.net_g_b(self.real_b)
        self.rec_b = self.net_g_a(self.fake_a)

    def backward_d_basic(self, net_d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """A discriminator's loss on real vs. (detached) fake images; backpropagated here."""
        loss_real = self.criterion_gan(net_d(real), True)
        loss_fake = self.criterion_gan(net_d(fake.detach()), False)
        loss_d: torch.Tensor = (loss_real + loss_fake) * 0.5
        loss_d.backward()  # type: ignore[no-untyped-call]
        return loss_d

    def backward_d_a(self) -> None:
        """D_A on real thermal vs. generated thermal from the pool."""
        fake_b = self.fake_b_pool.query(self.fake_b)
        self.losses["D_A"] = self.backward_d_basic(self.net_d_a, self.real_b, fake_b)

    def backward_d_b(self) -> None:
        """D_B on real RGB vs. generated RGB from the pool."""
        fake_a = self.fake_a_pool.query(self.fake_a)
        self.losses["D_B"] = self.backward_d_basic(self.net_d_b, self.real_a, fake_a)

    def backward_g(self) -> None:
        """Both generators: identity, GAN through frozen Ds, and cycle terms."""
        lambda_idt = self.lambda_identity
        zero = torch.zeros((), device=self.device)
        if lambda_idt > 0:
            input_nc, output_nc = self.real_a.shape[1], self.real_b.shape[1]
            self.idt_a = self.net_g_a(match_channels(self.real_b, input_nc))
            self.losses["idt_A"] = self.criterion_idt(self.idt_a, self.real_b) * self.lambda_b * lambda_idt
            self.idt_b = self.net_g_b(match_channels(self.real_a, output_nc))
            self.losses["idt_B"] = self.criterion_idt(self.idt_b, self.real_a) * self.lambda_a * lambda_idt
        else:
            self.losses["idt_A"] = self.losses["idt_B"] = zero
        self.losses["G_A"] = self.criterion_gan(self.net_d_a(self.fake_b), True)
        self.losses["G_B"] = self.criterion_gan(self.net_d_b(self.fake_a), True)
        self.losses["cycle_A"] = self.criterion_cycle(self.rec_a, self.real_a) * self.lambda_a
        self.losses["cycle_B"] = self.criterion_cycle(self.rec_b, self.real_b) * self.lambda_b
        loss = self.losses
        loss_g = loss["G_A"] + loss["G_B"] + loss["cycle_A"] + loss["cycle_B"] + loss["idt_A"] + loss["idt_B"]
        loss_g.backward()  # type: ignore[no-untyped-call]

    def optimize_parameters(self) -> None:
        """Generators first (Ds frozen), then both discriminators under one optimiser."""
        self.forward()
        set_requires_grad([self.net_d_a, self.net_d_b], False)
        self.optimizer_g.zero_grad()
        self.backward_g()
        self.optimizer_g.step()
        set_requires_grad([self.net_d_a, self.net_d_b], True)
        self.optimizer_d.zero_grad()
        self.backward_d_a()
        self.backward_d_b()
        self.optimizer_d.step()


class PlainLoop:
    """The original training script's inner loop body: set the input, optimise, print every ``print_freq``."""

    def __init__(self, model: PlainModel, batch_size: int, print_freq: int = PRINT_FREQ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.print_freq = print_freq
        self.total_iters = 0
        self.printed: dict[str, float] = {}

    def step(self, batch: Batch) -> None:
        """One iteration; the losses are read back as floats on the visualiser's schedule."""
        self.total_iters += self.batch_size
        self.model.set_input(batch)
        self.model.optimize_parameters()
        if self.total_iters % self.print_freq == 0:
            self.printed = self.model.get_current_losses()
