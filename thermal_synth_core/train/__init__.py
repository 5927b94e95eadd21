"""Training of RGB -> thermal generators: Pix2Pix (paired) and CycleGAN (unpaired).

Entry point: ``python -m training.train --config training/configs/NAME.yaml [key=value ...]``
(see :mod:`training.train`); the loop itself is :func:`thermal_synth_core.train.engine.train`.
"""

from thermal_synth_core.train.config import TrainConfig

__all__ = ["TrainConfig"]
