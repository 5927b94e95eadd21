"""A tiny Pix2Pix config for unit tests of a training step (fast_unet, ngf 4, 64 px crops, CPU, fp32)."""

from __future__ import annotations

from thermal_synth_core.train.config import DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig


def tiny_pix2pix(**loss: float) -> TrainConfig:
    """The config, with ``loss`` overriding LossConfig fields (LSGAN)."""
    return TrainConfig(
        mode="pix2pix",
        steps=10,
        device="cpu",
        amp="fp32",
        channels_last=False,
        data=DataConfig(crop=(64, 64), workers=0, pin_memory=False),
        model=ModelConfig(generator="fast_unet", ngf=4, norm="instance", dropout=False, ndf=4, norm_d="instance"),
        loss=LossConfig(gan_mode="lsgan", **loss),  # type: ignore[arg-type]
        optim=OptimConfig(fused=False),
    )
