"""The smallest training run that still logs, validates and checkpoints: shared by resume and fault tests."""

from __future__ import annotations

#: Steps of a tiny run; every 4th step is logged and checkpointed.
STEPS = 24

#: ``key=value`` overrides on top of ``--config smoke``.
TINY = [
    f"steps={STEPS}",
    "batch_size=2",
    "data.crop=[64,64]",
    "data.val_size=[64,64]",
    "data.val_max_frames=2",
    "data.workers=0",
    "log_every=4",
    "val_every=8",
    "save_every=4",
    "image_every=8",
    "threads=1",
]
