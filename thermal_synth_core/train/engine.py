"""The training loop. It reads top to bottom; logging and checkpointing hang off it as small helpers.

``train(cfg)`` validates the configuration and data, builds the task (Pix2Pix
or CycleGAN), resumes if asked, then loops: draw a batch from the deterministic
stream, take one optimisation step, and every so often log, validate, save.
Outputs in ``cfg.out_dir``:

* ``model.safetensors`` — the deployable generator (latest), ``best.safetensors`` — the best by ``best_metric``;
* ``checkpoints/latest.pt``, ``checkpoints/best.pt`` — full training state for an exact resume;
* ``metrics.jsonl``, ``tensorboard/``, ``samples/*.png`` — what to look at;
* ``config.yaml`` — the resolved configuration of the run.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from thermal_synth_core.config import config_to_dict
from thermal_synth_core.data.datasets import PairedDataset, UnpairedDataset
from thermal_synth_core.data.manifest import Manifest, read_manifest
from thermal_synth_core.errors import DataError, TrainingError
from thermal_synth_core.fileio import atomic_write_text, remove_partials
from thermal_synth_core.modelfile import ModelSpec, ThermalFov, save_model
from thermal_synth_core.train import distributed
from thermal_synth_core.train.allocator import keep_freed_memory
from thermal_synth_core.train.checkpoint import (
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
from thermal_synth_core.train.stream import make_loader
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
    common: dict[str, Any] = {"crop_size": cfg.data.crop, "flip": cfg.data.flip, "seed": cfg.seed, "manifest": manifest}
    try:
        train_ds: PairedDataset | UnpairedDataset
        if cfg.mode == "pix2pix":
            train_ds = PairedDataset(root, cfg.data.train_split, **common)
        else:
            train_ds = UnpairedDataset(root, cfg.data.train_split, **common)
        val_ds = PairedDataset(
            root, cfg.data.val_split, load_size=cfg.data.val_size, flip=False, random_crop=False, manifest=manifest
        )
    except DataError as exc:
        raise TrainingError(str(exc)) from exc
    return manifest, train_ds, val_ds


def _check_resume_compatible(saved: dict[str, Any], cfg: TrainConfig, path: Path) -> None:
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
    arch_kwargs: dict[str, Any] = {"ngf": m.ngf, "norm": m.norm, "use_dropout": m.dropout, **m.generator_kwargs}
    return ModelSpec(
        arch=m.generator,
        arch_kwargs=arch_kwargs,
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
    best: dict[str, Any],
    info: distributed.DistInfo,
    gather: bool = True,
) -> None:
    """Rank 0 writes; with ``gather`` (collective: every rank must call) each rank's RNG state is kept."""
    rng = capture_rng()
    rngs: list[Any] = [rng]
    if info.distributed and gather:
        rngs = [None] * info.world_size
        dist.all_gather_object(rngs, rng)
    if info.is_main:
        save_checkpoint(
            path,
            {"step": step, "config": config_to_dict(cfg), "task": task.state_dict(), "rng": rngs, "best": best},
        )


def _train(cfg: TrainConfig, info: distributed.DistInfo) -> TrainResult:
    started = time.monotonic()
    manifest, train_ds, val_ds = _open_data(cfg)
    out = cfg.out_dir
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if info.device.type == "cpu":
        keep_freed_memory()  # each step reuses the memory it freed instead of page-faulting it in again
        cores = len(os.sched_getaffinity(0))
        warning = cpu_contention_warning(torch.get_num_threads(), os.getloadavg()[0], cores)
        if warning and info.is_main:
            log.warning("%s", warning)
    torch.manual_seed(cfg.seed)

    # -- networks, optimisers, resume ---------------------------------------------------------
    task: Task = Pix2PixTask(cfg, info.device) if cfg.mode == "pix2pix" else CycleGANTask(cfg, info.device)
    start_step = 0
    best: dict[str, Any] = {"step": None, "value": None}
    if info.is_main:
        # A run killed mid-write (SIGKILL, power cut) leaves checkpoint-sized temporary files behind.
        removed = sum(remove_partials(d) for d in (out, out / "checkpoints", out / "samples"))
        if removed:
            log.info("removed %d temporary files left by an interrupted run in %s", removed, out)
    ckpt_path = find_resume_checkpoint(out, cfg.resume)
    if ckpt_path is not None:
        state = load_checkpoint(ckpt_path)
        _check_resume_compatible(state["config"], cfg, ckpt_path)
        task.load_state_dict(state["task"])
        rngs = state["rng"]
        restore_rng(rngs[info.rank] if info.rank < len(rngs) else rngs[0])
        start_step = int(state["step"])
        best = dict(state.get("best") or best)
        if info.is_main:
            log.info("resumed from %s at step %d", ckpt_path, start_step)
    if start_step >= cfg.steps and info.is_main:
        log.info("nothing to do: the checkpoint is at step %d of %d", start_step, cfg.steps)

    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    recorder = Recorder(out, info.is_main, start_step)

    # -- the loop -----------------------------------------------------------------------------
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
        total=cfg.steps, initial=start_step, desc=f"{cfg.mode} {out.name}", unit="step",
        disable=not info.is_main or not sys.stderr.isatty(), dynamic_ncols=True,
    )  # fmt: skip
    running: dict[str, torch.Tensor] = {}
    since_log = 0
    last_val: dict[str, float] = {}
    model_path = out / "model.safetensors"
    best_model_path = out / "best.safetensors"
    sign = 1.0 if cfg.higher_is_better else -1.0

    for step in range(start_step, cfg.steps):
        batch = next(batches)
        losses = task.train_step(batch)
        for k, v in losses.items():
            running[k] = running[k] + v if k in running else v.clone()
        since_log += 1
        done = step + 1
        final = done == cfg.steps

        if done % cfg.log_every == 0 or final:
            means = {k: float(v.item()) / since_log for k, v in running.items()}  # the one host sync
            running, since_log = {}, 0
            recorder.scalars(done, {**means, "lr": task.lr})
            bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()}, refresh=False)
            if bar.disable and info.is_main:  # no terminal: one log line instead of a bar
                log.info("step %d/%d %s", done, cfg.steps, " ".join(f"{k}={v:.3f}" for k, v in means.items()))

        if info.is_main and done % cfg.image_every == 0:
            with torch.no_grad():
                fake = task.generator(task.to_device(batch["rgb"][:1])).float()
            recorder.images(done, "train", [[batch["rgb"][0], fake[0].cpu(), batch["thermal"][0]]], png=False)

        if info.is_main and (done % cfg.val_every == 0 or final):
            result = validate(task.generator, val_ds, info.device, cfg.data.val_max_frames)
            last_val = result.values
            recorder.scalars(done, last_val, kind="val")
            recorder.images(done, "val", result.rows)
            value = last_val.get(cfg.best_metric, math.nan)
            if not math.isnan(value) and (best["value"] is None or sign * value > sign * float(best["value"])):
                best = {"step": done, "value": value}
                save_model(best_model_path, task.generator, _model_spec(cfg, manifest, done, last_val))
                # Only rank 0 validates, so this write cannot be collective.
                _save_state(
                    out / "checkpoints" / "best.pt", task, cfg=cfg, step=done, best=best, info=info, gather=False
                )

        if done % cfg.save_every == 0 or final:
            if info.is_main:
                save_model(model_path, task.generator, _model_spec(cfg, manifest, done, last_val))
            _save_state(out / "checkpoints" / "latest.pt", task, cfg=cfg, step=done, best=best, info=info)
        bar.update(1)

    bar.close()
    recorder.close()
    if start_step >= cfg.steps and info.is_main and not model_path.exists():
        save_model(model_path, task.generator, _model_spec(cfg, manifest, start_step, last_val))
    return TrainResult(
        out_dir=out,
        steps=cfg.steps,
        resumed_from=start_step,
        best_step=best["step"],
        best_value=best["value"],
        last_val=last_val,
        model_path=model_path,
        best_model_path=best_model_path if best["step"] is not None else None,
        seconds=time.monotonic() - started,
        is_main=info.is_main,
    )
