"""Training configuration: one typed dataclass per concern, loaded from ``training/configs/*.yaml``.

Every shipped config accepts the overrides users need under the same names:
``data.root=DIR``, ``out_dir=DIR``, ``steps=N``, ``device=cpu|cuda|auto`` and
``resume=auto|never|PATH``. Values are checked at start-up, before any data is
read or any network built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from thermal_synth_core.objects import OBJECT_CLASSES, ObjectClass

__all__ = [
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
]

Mode = Literal["pix2pix", "cyclegan"]
Metric = Literal[
    "val_l1",
    "val_psnr",
    "val_ssim",
    "val_warm_iou",
    "val_warm_contrast",
    "val_visible_person",
    "val_visible_person_day",
    "val_visible_person_night",
    "val_visible_car",
    "val_visible_car_day",
    "val_visible_car_night",
]

#: For each validation metric, whether larger is better (object visibility: a fraction of objects shown).
METRIC_HIGHER_IS_BETTER: dict[str, bool] = {
    "val_l1": False,
    "val_psnr": True,
    "val_ssim": True,
    "val_warm_iou": True,
    "val_warm_contrast": True,
    "val_visible_person": True,
    "val_visible_person_day": True,
    "val_visible_person_night": True,
    "val_visible_car": True,
    "val_visible_car_day": True,
    "val_visible_car_night": True,
}


@dataclass
class DataConfig:
    """Where the prepared pairs are and how batches are drawn from them."""

    root: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    crop: tuple[int, int] | None = (256, 256)
    flip: bool = True
    thermal_bits: Literal[8, 16] = 8
    workers: int = 2
    pin_memory: bool = True
    val_max_frames: int = 16
    val_size: tuple[int, int] | None = (320, 256)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.val_max_frames < 1:
            raise ValueError(f"val_max_frames must be >= 1, got {self.val_max_frames}")
        for name, size in (("crop", self.crop), ("val_size", self.val_size)):
            if size is not None and min(size) < 16:
                raise ValueError(f"{name} must be at least 16x16, got {size}")


@dataclass
class ModelConfig:
    """Generator and discriminator architectures (names from the model registries)."""

    generator: str = "unet_256"
    ngf: int = 64
    norm: Literal["batch", "instance", "none"] = "batch"
    dropout: bool = True
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal"
    init_gain: float = 0.02
    #: Free-form: extra keyword arguments of the chosen generator's builder (they differ per architecture).
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    discriminator: str = "basic"
    ndf: int = 64
    n_layers_d: int = 3
    norm_d: Literal["batch", "instance", "none"] = "batch"
    input_nc: int = 3
    output_nc: int = 1

    def __post_init__(self) -> None:
        if self.ngf < 1 or self.ndf < 1:
            raise ValueError("ngf and ndf must be >= 1")
        if self.input_nc < 1 or self.output_nc < 1:
            raise ValueError("input_nc and output_nc must be >= 1")


@dataclass
class LossConfig:
    """Objective weights; the thermal-aware terms are off unless set.

    ``object_weight`` (Pix2Pix, data with ``annotations.json``): pixels inside the boxes of
    ``object_classes`` weigh ``1 + object_weight`` in the L1 term and the generator's GAN
    term (see :mod:`thermal_synth_core.train.losses`); 0 leaves training exactly as without it.
    """

    gan_mode: Literal["vanilla", "lsgan"] = "vanilla"
    lambda_l1: float = 100.0
    lambda_ssim: float = 0.0
    warm_weight: float = 0.0
    warm_threshold: float = 0.6
    object_weight: float = 0.0
    object_classes: tuple[ObjectClass, ...] = ("person",)
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50

    def __post_init__(self) -> None:
        for name in ("lambda_l1", "lambda_ssim", "warm_weight", "object_weight", "lambda_cycle", "lambda_identity"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.warm_threshold < 1.0:
            raise ValueError(f"warm_threshold must be in [0, 1), got {self.warm_threshold}")
        if self.pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {self.pool_size}")
        if self.object_weight > 0 and not self.object_classes:
            raise ValueError(f"object_classes must name at least one of {', '.join(OBJECT_CLASSES)}")


@dataclass
class OptimConfig:
    """Adam with a constant phase, then linear decay to zero over the remaining steps.

    ``fused``: PyTorch's fused Adam kernel (CPU and CUDA); same update, last-bit rounding differences.
    """

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = 0.5
    fused: bool = True

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.decay_start <= 1.0:
            raise ValueError(f"decay_start is a fraction of steps in [0, 1], got {self.decay_start}")


@dataclass
class TrainConfig:
    """A whole training run."""

    mode: Mode = "pix2pix"
    out_dir: Path = Path("runs/default")
    steps: int = 1000
    batch_size: int = 1
    seed: int = 0
    device: Literal["cpu", "cuda", "auto"] = "auto"
    resume: str = "auto"
    amp: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    #: channels_last memory format; applied on CUDA only (on the CPU it is slower: see ``train.task``).
    channels_last: bool = True
    compile: bool = False
    threads: int = 0
    log_every: int = 50
    val_every: int = 500
    save_every: int = 500
    image_every: int = 500
    best_metric: Metric = "val_l1"
    notes: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "val_every", "save_every", "image_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0: PyTorch's default), got {self.threads}")
        if not 0 <= self.seed < 2**32:
            # Larger seeds overflow torch.Generator.manual_seed in the data stream, after start-up.
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.resume not in ("auto", "never") and not self.resume.strip():
            raise ValueError("resume must be 'auto', 'never' or a checkpoint path")
        if self.mode != "pix2pix" and self.loss.object_weight > 0:
            raise ValueError("loss.object_weight needs aligned pairs: set mode=pix2pix or loss.object_weight=0")

    @property
    def higher_is_better(self) -> bool:
        """Whether the chosen ``best_metric`` improves upwards."""
        return METRIC_HIGHER_IS_BETTER[self.best_metric]
