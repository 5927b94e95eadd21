"""The training loop. It reads top to bottom; logging and checkpointing hang off it as small helpers.

``train(cfg)`` validates the configuration and data, builds the task (Pix2Pix
or CycleGAN), resumes if asked, then loops: draw a batch from the deterministic
stream, take one optimisation step, and every so often log, validate, save.
Outputs in ``cfg.out_dir``:

* ``model.safetensors`` — the deployable generator (latest), ``best.safetensors`` — the best by ``best_metric``;
* ``checkpoints/latest.pt``, ``checkpoints/best.pt`` — full training state for an exact resume;
* ``metrics.jsonl``, ``tensorboard/``, ``samples/*.png`` — what to look at (on data prepared from recorded
  drives, validation also reports L1 and warm-region IoU by day and at night: ``val_warm_iou_night``, ...);
* ``config.yaml`` — the resolved configuration of the run.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Never

import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from thermal_synth_core.config import config_to_dict
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME
from thermal_synth_core.data.datasets import PairedDataset, UnpairedDataset
from thermal_synth_core.data.manifest import Manifest, read_manifest
from thermal_synth_core.errors import DataError, TrainingError
from thermal_synth_core.fileio import atomic_write_text, remove_partials
from thermal_synth_core.modelfile import ModelSpec, ThermalFov, save_model
from thermal_synth_core.train import distributed
from thermal_synth_core.train.allocator import keep_freed_memory
from thermal_synth_core.train.checkpoint import (
    BestSoFar,
    RngState,
    capture_rng,
    find_resume_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from thermal_synth_core.train.config import TrainConfig
from thermal_synth_core.train.cyclegan import CycleGANTask
from thermal_synth_core.train.pix2pix import Pix2PixTask
from thermal_synth_core.train.recorder import Recorder
from thermal_synth_core.train.stream import Batch, make_loader
from thermal_synth_core.train.task import Task
from thermal_synth_core.train.validate import validate

__all__ = ["TrainResult", "train"]

log = logging.getLogger(__name__)

#: Config sections that must match between a checkpoint and the run resuming from it.
_RESUME_MUST_MATCH = ("mode", "model", "batch_size", "seed")


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    out_dir: Path
    steps: int
    resumed_from: int
    best_step: int | None
    best_value: float | None
    last_val: dict[str, float]
    model_path: Path
    best_model_path: Path | None
    seconds: float
    is_main: bool = True


def cpu_contention_warning(threads: int, load: float, cores: int) -> str | None:
    """A warning when CPU training with several threads starts on a CPU that others keep busy, else None.

    PyTorch's OpenMP threads wait for each other by spinning: when another process holds the
    cores, each wait burns a time slice. Measured on the 2-core development machine beside another
    training run, 60 smoke steps took 260-293 s with 2 threads and 19-35 s with 1 (quiet: 12 vs 16 s).
    """
    if threads <= 1 or load < 0.5 * cores:
        return None
    return (
        f"the CPU is already busy (1-minute load {load:.1f} on {cores} cores) and training uses {threads} threads: "
        "PyTorch's threads spin while they wait for each other, so each step can take ten times longer beside "
        "another CPU-heavy process. Set threads=1 (or stop the other process) for a run that shares the CPU"
    )


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) the training described by ``cfg``; see the module docstring for outputs."""
    info = distributed.setup(cfg.device)
    threads = torch.get_num_threads()
    try:
        return _train(cfg, info)
    finally:
        torch.set_num_threads(threads)  # cfg.threads must not outlive the run (tests train in-process)
        distributed.teardown()


def _open_data(cfg: TrainConfig) -> tuple[Manifest, PairedDataset | UnpairedDataset, PairedDataset]:
    """Check the data before anything heavy happens; errors say which key or folder to fix."""
    if cfg.data.root is None:
        raise TrainingError("data.root is not set: pass data.root=DIR (a folder written by 'thermal-synth prepare')")
    root = cfg.data.root
    if not root.is_dir():
        raise TrainingError(f"data.root={root} does not exist or is not a folder; run 'thermal-synth prepare' first")
    try:
        manifest = read_manifest(root)
    except DataError as exc:
        raise TrainingError(f"data.root={root}: {exc}") from exc
    for key, split in (("data.train_split", cfg.data.train_split), ("data.val_split", cfg.data.val_split)):
        if split not in manifest.splits or not manifest.pairs_in(split):
            available = ", ".join(f"{s} ({len(manifest.pairs_in(s))} pairs)" for s in manifest.splits) or "none"
            raise TrainingError(f"{key}={split!r}: the split is empty or missing in {root} (splits: {available})")
    if cfg.data.thermal_bits != manifest.thermal_bits:
        raise TrainingError(
            f"data.thermal_bits={cfg.data.thermal_bits} but {root} holds {manifest.thermal_bits}-bit thermal; "
            f"set data.thermal_bits={manifest.thermal_bits} or re-run prepare with --thermal-bits"
        )
    if cfg.loss.object_weight > 0:
        _check_annotated(manifest, cfg.data.train_split)
    try:
        train_ds = _train_dataset(cfg, root, manifest)
        val_ds = PairedDataset(
            root, cfg.data.val_split, load_size=cfg.data.val_size, flip=False, random_crop=False, manifest=manifest
        )
    except DataError as exc:
        raise TrainingError(str(exc)) from exc
    if cfg.best_metric.startswith("val_visible") and not val_ds.has_boxes:
        raise TrainingError(
            f"best_metric={cfg.best_metric} needs object boxes in the val split, but "
            f"{root / cfg.data.val_split / ANNOTATIONS_NAME} does not exist; choose another best_metric"
        )
    return manifest, train_ds, val_ds


def _train_dataset(cfg: TrainConfig, root: Path, manifest: Manifest) -> PairedDataset | UnpairedDataset:
    """The training split: unpaired domains (CycleGAN) or pairs, with object boxes when the loss weighs them."""
    d = cfg.data
    if cfg.mode == "cyclegan":
        return UnpairedDataset(root, d.train_split, crop_size=d.crop, flip=d.flip, seed=cfg.seed, manifest=manifest)
    classes = cfg.loss.object_classes if cfg.loss.object_weight > 0 else ()
    return PairedDataset(
        root, d.train_split, crop_size=d.crop, flip=d.flip, seed=cfg.seed, manifest=manifest, object_classes=classes
    )


def _check_annotated(manifest: Manifest, split: str) -> None:
    """Start-up check of ``loss.object_weight``: the train split needs object boxes."""
    path = manifest.root / split / ANNOTATIONS_NAME
    if not path.is_file():
        raise TrainingError(
            f"loss.object_weight > 0 needs object boxes, but {path} does not exist; prepare data whose source "
            "has annotations (FLIR, KAIST, LLVIP, synth-data) or set loss.object_weight=0"
        )


def _check_resume_compatible(saved: dict[str, object], cfg: TrainConfig, path: Path) -> None:
    current = config_to_dict(cfg)
    for key in _RESUME_MUST_MATCH:
        if saved.get(key) != current.get(key):
            raise TrainingError(
                f"cannot resume from {path}: '{key}' differs from the checkpoint ({saved.get(key)!r} there, "
                f"{current.get(key)!r} now); use another out_dir or resume=never"
            )


def _thermal_fov(manifest: Manifest) -> ThermalFov | None:
    camera = manifest.thermal_camera
    return None if camera is None else ThermalFov(camera.hfov_deg, camera.width, camera.source)


def _model_spec(cfg: TrainConfig, manifest: Manifest, step: int, val: dict[str, float]) -> ModelSpec:
    m = cfg.model
    return ModelSpec(
        arch=m.generator,
        arch_kwargs={"ngf": m.ngf, "norm": m.norm, "use_dropout": m.dropout, **m.generator_kwargs},
        input_nc=m.input_nc,
        output_nc=m.output_nc,
        output_bits=manifest.thermal_bits,
        # The network runs at the prepared size; users get frames at the thermal camera's own size.
        input_size=manifest.size,
        output_size=manifest.alignment.thermal_size,
        alignment=manifest.alignment,
        # The angular scale the network learns: the prepared thermal frames' field of view (None: the manifest
        # predates it; the model file then falls back to the FLIR ADAS camera's 45 deg).
        thermal_fov=_thermal_fov(manifest),
        provenance={
            "trained_by": "thermal-synth training (python -m training.train)",
            "mode": cfg.mode,
            "step": step,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "dataset": str(manifest.root),
            "dataset_format": manifest.format,
            "val": val,
            "config": config_to_dict(cfg),
            "notes": cfg.notes,
        },
    )


def _save_state(
    path: Path,
    task: Task,
    *,
    cfg: TrainConfig,
    step: int,
    best: BestSoFar,
    info: distributed.DistInfo,
    gather: bool = True,
) -> None:
    """Rank 0 writes; with ``gather`` (collective: every rank must call) each rank's RNG state is kept."""
    rng = capture_rng()
    rngs: list[RngState] = [rng]
    if info.distributed and gather:
        gathered: list[RngState | None] = [None] * info.world_size
        dist.all_gather_object(gathered, rng)
        rngs = [r for r in gathered if r is not None]
    if info.is_main:
        save_checkpoint(
            path,
            {"step": step, "config": config_to_dict(cfg), "task": task.state_dict(), "rng": rngs, "best": best},
        )


# -- the steps of a run, in the order _train takes them --------------------------------------------


def _set_up_process(cfg: TrainConfig, info: distributed.DistInfo) -> None:
    """Threads and allocator as configured; warn when CPU training starts beside a busy CPU."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if info.device.type == "cpu":
        keep_freed_memory()  # each step reuses the memory it freed instead of page-faulting it in again
        cores = len(os.sched_getaffinity(0))
        warning = cpu_contention_warning(torch.get_num_threads(), os.getloadavg()[0], cores)
        if warning and info.is_main:
            log.warning("%s", warning)


def _remove_partials(out: Path) -> None:
    """A run killed mid-write (SIGKILL, power cut) leaves checkpoint-sized temporary files behind."""
    removed = sum(remove_partials(d) for d in (out, out / "checkpoints", out / "samples"))
    if removed:
        log.info("removed %d temporary files left by an interrupted run in %s", removed, out)


def _resume(task: Task, cfg: TrainConfig, info: distributed.DistInfo) -> tuple[int, BestSoFar]:
    """Load the checkpoint ``cfg.resume`` names, if any, into ``task``; the step to start at and the best so far."""
    best: BestSoFar = {"step": None, "value": None}
    ckpt_path = find_resume_checkpoint(cfg.out_dir, cfg.resume)
    if ckpt_path is None:
        return 0, best
    state = load_checkpoint(ckpt_path)
    _check_resume_compatible(state["config"], cfg, ckpt_path)
    task.load_state_dict(state["task"])
    rngs = state["rng"]
    restore_rng(rngs[info.rank] if info.rank < len(rngs) else rngs[0])
    start_step = int(state["step"])
    best = state.get("best") or best
    if info.is_main:
        log.info("resumed from %s at step %d", ckpt_path, start_step)
    return start_step, best


def _open_outputs(cfg: TrainConfig, info: distributed.DistInfo, start_step: int) -> Recorder:
    """The run's folder with its resolved ``config.yaml``, and the recorder of metrics and images."""
    if info.is_main:
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg.out_dir / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    return Recorder(cfg.out_dir, info.is_main, start_step)


@dataclass(frozen=True)
class _Run:
    """What the loop's periodic steps share: set up once, before the first step."""

    cfg: TrainConfig
    info: distributed.DistInfo
    task: Task
    manifest: Manifest
    val_ds: PairedDataset
    recorder: Recorder
    bar: tqdm[Never]  # stepped by hand, not iterated

    @property
    def model_path(self) -> Path:
        """The deployable generator, rewritten at every save."""
        return self.cfg.out_dir / "model.safetensors"

    @property
    def best_model_path(self) -> Path:
        """The generator at the best validation value so far."""
        return self.cfg.out_dir / "best.safetensors"


@dataclass
class _Progress:
    """What the loop carries from step to step besides the task itself."""

    best: BestSoFar
    last_val: dict[str, float] = field(default_factory=dict)
    #: Loss sums since the last log line, kept on the device (no host sync per step).
    running: dict[str, torch.Tensor] = field(default_factory=dict)
    since_log: int = 0


def _accumulate(progress: _Progress, losses: dict[str, torch.Tensor]) -> None:
    """Add one step's detached losses to the running sums."""
    for k, v in losses.items():
        progress.running[k] = progress.running[k] + v if k in progress.running else v.clone()
    progress.since_log += 1


def _log_losses(run: _Run, progress: _Progress, done: int) -> None:
    """The mean losses since the last log line (the loop's one host sync) to metrics, bar and log."""
    means = {k: float(v.item()) / progress.since_log for k, v in progress.running.items()}
    progress.running, progress.since_log = {}, 0
    run.recorder.scalars(done, {**means, "lr": run.task.lr})
    run.bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()}, refresh=False)
    if run.bar.disable and run.info.is_main:  # no terminal: one log line instead of a bar
        log.info("step %d/%d %s", done, run.cfg.steps, " ".join(f"{k}={v:.3f}" for k, v in means.items()))


def _record_train_images(run: _Run, batch: Batch, done: int) -> None:
    """One (RGB, generated, real) row of the current batch, to TensorBoard."""
    with torch.no_grad():
        fake = run.task.generator(run.task.to_device(batch["rgb"][:1])).float()
    run.recorder.images(done, "train", [[batch["rgb"][0], fake[0].cpu(), batch["thermal"][0]]], png=False)


def _validate_and_keep_best(run: _Run, progress: _Progress, done: int) -> None:
    """Validate (rank 0), record the figures, and save the best model and checkpoint when they improve."""
    cfg = run.cfg
    result = validate(run.task.generator, run.val_ds, run.info.device, cfg.data.val_max_frames)
    progress.last_val = result.values
    run.recorder.scalars(done, progress.last_val, kind="val")
    run.recorder.images(done, "val", result.rows)
    value = progress.last_val.get(cfg.best_metric, math.nan)
    best_value = progress.best["value"]
    sign = 1.0 if cfg.higher_is_better else -1.0
    if not math.isnan(value) and (best_value is None or sign * value > sign * float(best_value)):
        progress.best = {"step": done, "value": value}
        save_model(run.best_model_path, run.task.generator, _model_spec(cfg, run.manifest, done, progress.last_val))
        # Only rank 0 validates, so this write cannot be collective.
        _save_state(
            cfg.out_dir / "checkpoints" / "best.pt",
            run.task,
            cfg=cfg,
            step=done,
            best=progress.best,
            info=run.info,
            gather=False,
        )


def _save_latest(run: _Run, progress: _Progress, done: int) -> None:
    """The deployable model (rank 0) and the latest checkpoint (collective)."""
    if run.info.is_main:
        save_model(run.model_path, run.task.generator, _model_spec(run.cfg, run.manifest, done, progress.last_val))
    _save_state(
        run.cfg.out_dir / "checkpoints" / "latest.pt", run.task, cfg=run.cfg, step=done, best=progress.best,
        info=run.info,
    )  # fmt: skip


def _train(cfg: TrainConfig, info: distributed.DistInfo) -> TrainResult:
    started = time.monotonic()
    manifest, train_ds, val_ds = _open_data(cfg)
    _set_up_process(cfg, info)
    torch.manual_seed(cfg.seed)
    task: Task = Pix2PixTask(cfg, info.device) if cfg.mode == "pix2pix" else CycleGANTask(cfg, info.device)
    if info.is_main:
        _remove_partials(cfg.out_dir)
    start_step, best = _resume(task, cfg, info)
    if start_step >= cfg.steps and info.is_main:
        log.info("nothing to do: the checkpoint is at step %d of %d", start_step, cfg.steps)
    recorder = _open_outputs(cfg, info, start_step)
    batches = make_loader(
        train_ds,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        start_item=start_step * cfg.batch_size,
        workers=cfg.data.workers,
        pin_memory=cfg.data.pin_memory and info.device.type == "cuda",
        rank=info.rank,
        world_size=info.world_size,
    )
    bar = tqdm(
        total=cfg.steps, initial=start_step, desc=f"{cfg.mode} {cfg.out_dir.name}", unit="step",
        disable=not info.is_main or not sys.stderr.isatty(), dynamic_ncols=True,
    )  # fmt: skip
    run = _Run(cfg, info, task, manifest, val_ds, recorder, bar)
    progress = _Progress(best)

    for step in range(start_step, cfg.steps):
        batch = next(batches)
        _accumulate(progress, task.train_step(batch))
        done = step + 1
        final = done == cfg.steps
        if done % cfg.log_every == 0 or final:
            _log_losses(run, progress, done)
        if info.is_main and done % cfg.image_every == 0:
            _record_train_images(run, batch, done)
        if info.is_main and (done % cfg.val_every == 0 or final):
            _validate_and_keep_best(run, progress, done)
        if done % cfg.save_every == 0 or final:
            _save_latest(run, progress, done)
        bar.update(1)

    bar.close()
    recorder.close()
    if start_step >= cfg.steps and info.is_main and not run.model_path.exists():
        save_model(run.model_path, task.generator, _model_spec(cfg, manifest, start_step, progress.last_val))
    return TrainResult(
        out_dir=cfg.out_dir,
        steps=cfg.steps,
        resumed_from=start_step,
        best_step=progress.best["step"],
        best_value=progress.best["value"],
        last_val=progress.last_val,
        model_path=run.model_path,
        best_model_path=run.best_model_path if progress.best["step"] is not None else None,
        seconds=time.monotonic() - started,
        is_main=info.is_main,
    )
