"""``thermal-synth bench train``: training iterations/s, our step vs. a plain loop written like the original.

For Pix2Pix (``unet_256`` + 70x70 PatchGAN, batch norm, dropout, vanilla GAN, L1 x100)
and CycleGAN (``resnet_9blocks`` + PatchGANs, instance norm, LSGAN, cycle x10,
identity x0.5, pool 50), as in ``training/configs/{pix2pix,cyclegan}.yaml``:

* **ours**: the training step ``python -m training.train`` runs
  (:class:`~thermal_synth_core.train.pix2pix.Pix2PixTask` /
  :class:`~thermal_synth_core.train.cyclegan.CycleGANTask`) plus the loop's per-step
  work (adding the detached losses up; one host sync per ``log_every`` steps), in a
  process set up as the training's is (:mod:`thermal_synth_core.train.allocator` on the CPU);
* **plain**: :mod:`thermal_synth_core.bench.plain_train`, the original's training loop
  shape on the same networks (same initial weights) and losses, in a process with
  Python's and PyTorch's defaults, as the original's ``train.py`` runs.

Each loop runs in its own worker process; both see the same random batches. A first
iteration of each from the same weights and random state checks that they compute the
same losses; then, after warm-up, they take turns, one iteration (a block of iterations
on CUDA) at a time in ABBA order, so load on the shared machine falls on both alike.
Each turn's ratio (plain time / ours time) is the paired figure that such load disturbs
least. On the CPU both run fp32; on CUDA ours uses its AMP (the JSON says so).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Final, Literal, Never, NotRequired, TypedDict, cast

import torch
from rich.table import Table
from torch import nn
from tqdm import tqdm

from thermal_synth_core.bench import write_result
from thermal_synth_core.bench.plain_train import PRINT_FREQ, PlainCycleGAN, PlainLoop, PlainModel, PlainPix2Pix
from thermal_synth_core.errors import ConfigError, TrainingError
from thermal_synth_core.models import build_discriminator, build_generator, count_parameters
from thermal_synth_core.train.allocator import keep_freed_memory
from thermal_synth_core.train.config import DataConfig, LossConfig, ModelConfig, TrainConfig
from thermal_synth_core.train.cyclegan import CycleGANTask
from thermal_synth_core.train.distributed import resolve_device
from thermal_synth_core.train.pix2pix import Pix2PixTask
from thermal_synth_core.train.stream import Batch
from thermal_synth_core.train.task import Task, uses_channels_last
from thermal_synth_core.ui import console, summary

ARCHS: Final = ("pix2pix", "cyclegan")
#: Target on the 2-core development CPU (issue #5): ours / plain iterations/s for Pix2Pix, equal numerics.
TARGET_PIX2PIX_RATIO: Final = 1.3
#: Timed iterations per loop when --iters is not given: (normal, --quick).
DEFAULT_ITERS: Final = {"pix2pix": (20, 3), "cyclegan": (4, 2)}
#: Iterations per timed block on CUDA, where one iteration is too short to time alone and a sync
#: after each would take away the host running ahead; on the CPU every iteration is timed alone.
CUDA_BLOCK: Final = 10
#: The shipped configs log (and so sync) every this many steps.
LOG_EVERY: Final = 100
#: Per-loop statistics whose ratios are reported besides the paired one.
STATS: Final = ("p50", "mean", "best")


# -- the documents: what the workers reply and what train.json holds -------------------------------

#: One network: its class, parameter count and initial weights' checksum (``class`` is a keyword).
NetworkInfo = TypedDict("NetworkInfo", {"class": str, "parameters": int, "checksum": float})


class ProcessInfo(TypedDict):
    """How a worker's process is set up (threads; on the CPU whether freed memory is kept)."""

    threads: int
    keeps_freed_memory: NotRequired[bool]


class LoopFeatures(TypedDict):
    """What a loop does that matters for speed, in words and flags (``process`` is added by its worker)."""

    step: str
    memory_format: str
    amp: str
    grad_scaler: bool
    torch_compile: bool
    fused_adam: bool
    adam: NotRequired[str]
    zero_grad: str
    discriminators_frozen_during_G_step: bool
    host_syncs: str
    lr_schedule: str
    process: NotRequired[ProcessInfo]


class SizeSettings(TypedDict):
    """The keyword arguments of :func:`bench_config` besides the architecture."""

    size: int
    batch: int
    ngf: int
    ndf: int
    compile_: bool
    seed: int


class WorkerSettings(TypedDict):
    """What the parent tells each worker process when it starts."""

    threads: int
    device: str
    config: SizeSettings


class BuildReply(TypedDict):
    """A worker's reply to ``("build", arch)``."""

    networks: dict[str, NetworkInfo]
    features: LoopFeatures
    numerics: str


class FirstReply(TypedDict):
    """A worker's reply to ``("first",)``: the first iteration's time and losses."""

    seconds: float
    losses: dict[str, float]


class FirstIterationLosses(TypedDict):
    """Both loops' first-iteration losses and how far apart they are."""

    ours: dict[str, float]
    plain: dict[str, float]
    compared: list[str]
    max_abs_diff: float
    max_rel_diff: float


class TimingStats(TypedDict):
    """One loop's iteration times (:func:`_stats`)."""

    it_per_s_p50: float
    it_per_s_mean: float
    it_per_s_best: float
    ms_per_it_p50: float
    ms_per_it_mean: float
    ms_per_it_best: float
    cpu_s_per_it_mean: float
    n: int
    samples_ms: list[float]


class LoopResult(TimingStats):
    """One loop's figures in an architecture's result."""

    first_iteration_s: float
    numerics: str
    features: LoopFeatures


class Ratio(TypedDict):
    """Ours over plain in iterations/s: paired turns, and each statistic of :data:`STATS`."""

    paired_median: float
    p50: float
    mean: float
    best: float
    paired: list[float]


class ArchResult(TypedDict):
    """One architecture's entry of ``results``."""

    arch: str
    generator: str
    discriminator: str
    norm: str
    gan_mode: str
    size: list[int]
    batch: int
    ngf: int
    ndf: int
    networks: dict[str, dict[str, NetworkInfo]]
    same_networks: bool
    first_iteration_losses: FirstIterationLosses
    ours: LoopResult
    plain: LoopResult
    ratio_ours_over_plain: Ratio
    equal_numerics: bool


#: One judged target (``pass`` is a keyword).
Target = TypedDict(
    "Target",
    {"name": str, "value": float, "p50_value": float, "mean_value": float, "needs": float, "pass": bool},
)


class RunSettings(TypedDict):
    """The run's settings as ``train.json`` records them."""

    archs: list[str]
    size: list[int]
    batch: int
    device: str
    threads: int
    compile: bool
    warmup: int
    block: int
    seed: int


class BenchTrainResult(TypedDict):
    """``train.json`` (besides the benchmark name and environment that :func:`write_result` adds)."""

    quick: bool
    settings: RunSettings
    load_average_at_start: list[float]
    load_average_at_end: list[float]
    method: str
    note: str
    results: list[ArchResult]
    targets: list[Target]


# -- the two loops ------------------------------------------------------------------------------------


@dataclass
class _Loop:
    """One contender: a step over a batch, and what it reports."""

    name: str
    step: Callable[[Batch], None]
    first_losses: Callable[[], dict[str, float]]
    networks: dict[str, nn.Module]
    features: LoopFeatures
    numerics: str


def bench_config(
    arch: str, *, size: int, batch: int, ngf: int = 64, ndf: int = 64, compile_: bool = False, seed: int = 0
) -> TrainConfig:
    """The training config of ``arch`` as shipped (training/configs/ARCH.yaml), at the benchmark's size."""

    def config(mode: Literal["pix2pix", "cyclegan"], model: ModelConfig, loss: LossConfig) -> TrainConfig:
        return TrainConfig(
            mode=mode, model=model, loss=loss, batch_size=batch, seed=seed, device="auto", amp="auto",
            channels_last=True, compile=compile_, log_every=LOG_EVERY, data=DataConfig(crop=(size, size)),
        )  # fmt: skip

    if arch == "pix2pix":
        model = ModelConfig(generator="unet_256", ngf=ngf, norm="batch", dropout=True, ndf=ndf, norm_d="batch")
        return config("pix2pix", model, LossConfig(gan_mode="vanilla", lambda_l1=100.0))
    model = ModelConfig(generator="resnet_9blocks", ngf=ngf, norm="instance", dropout=False, ndf=ndf, norm_d="instance")
    loss = LossConfig(gan_mode="lsgan", lambda_l1=0.0, lambda_cycle=10.0, lambda_identity=0.5, pool_size=50)
    return config("cyclegan", model, loss)


def _checksum(net: nn.Module) -> float:
    """Sum of every weight and buffer (float64): equal sums say the two loops start from the same weights."""
    with torch.no_grad():
        return float(sum(t.double().sum().item() for t in net.state_dict().values() if t.is_floating_point()))


def _describe_networks(nets: dict[str, nn.Module]) -> dict[str, NetworkInfo]:
    return {
        name: {"class": type(net).__name__, "parameters": count_parameters(net), "checksum": _checksum(net)}
        for name, net in nets.items()
    }


def _ours(cfg: TrainConfig, device: torch.device) -> _Loop:
    """Our training step, as the engine calls it, plus the engine's per-step loss bookkeeping."""
    torch.manual_seed(cfg.seed)
    task: Task = Pix2PixTask(cfg, device) if cfg.mode == "pix2pix" else CycleGANTask(cfg, device)
    running: dict[str, torch.Tensor] = {}
    last: dict[str, torch.Tensor] = {}
    count = 0

    def step(batch: Batch) -> None:
        nonlocal running, count, last
        losses = task.train_step(batch)
        for k, v in losses.items():
            running[k] = running[k] + v if k in running else v.clone()
        last, count = losses, count + 1
        if count % cfg.log_every == 0:
            _ = {k: float(v.item()) / cfg.log_every for k, v in running.items()}  # the loop's one host sync
            running = {}

    opt = next(iter(task.optimizers.values()))
    amp = str(task.amp_dtype).replace("torch.", "") if task.amp_dtype is not None else "off (fp32)"
    features: LoopFeatures = {
        "step": f"{type(task).__name__}.train_step (the step python -m training.train runs)",
        "memory_format": "channels_last" if uses_channels_last(cfg, device) else "NCHW (channels_last is CUDA-only)",
        "amp": amp,
        "grad_scaler": task.scaler.is_enabled(),
        "torch_compile": bool(cfg.compile),
        "fused_adam": bool(opt.defaults.get("fused")),
        "zero_grad": "set_to_none=True",
        "discriminators_frozen_during_G_step": True,
        "host_syncs": f"none per step; one per {cfg.log_every} steps (loss means for the log)",
        "lr_schedule": "stepped every iteration",
    }
    numerics = "fp32" if task.amp_dtype is None else f"{amp} autocast (AMP)"
    return _Loop(
        name="ours",
        step=step,
        first_losses=lambda: {k: float(v.item()) for k, v in last.items()},
        networks=dict(task.networks),
        features=features,
        numerics=numerics,
    )


def _plain_networks(cfg: TrainConfig, weights_from: dict[str, nn.Module]) -> dict[str, nn.Module]:
    """The plain loop's own networks, built like ours and loaded with ours' initial weights."""
    m = cfg.model

    def generator(inp: int, out: int) -> torch.nn.Module:
        return build_generator(
            m.generator, input_nc=inp, output_nc=out, ngf=m.ngf, norm=m.norm, use_dropout=m.dropout,
            init_type=m.init_type, init_gain=m.init_gain,
        )  # fmt: skip

    def discriminator(inp: int) -> torch.nn.Module:
        return build_discriminator(m.discriminator, input_nc=inp, ndf=m.ndf, n_layers=m.n_layers_d, norm=m.norm_d)

    if cfg.mode == "pix2pix":
        nets = {"G": generator(m.input_nc, m.output_nc), "D": discriminator(m.input_nc + m.output_nc)}
    else:
        nets = {
            "G_A": generator(m.input_nc, m.output_nc),
            "G_B": generator(m.output_nc, m.input_nc),
            "D_A": discriminator(m.output_nc),
            "D_B": discriminator(m.input_nc),
        }
    for name, net in nets.items():
        net.load_state_dict(weights_from[name].state_dict())
    return nets


def _plain(cfg: TrainConfig, device: torch.device, weights_from: dict[str, nn.Module]) -> _Loop:
    """The plain loop on the same architectures, loaded with the same initial weights as ours."""
    nets = _plain_networks(cfg, weights_from)
    optim, lc = cfg.optim, cfg.loss
    model: PlainModel
    if cfg.mode == "pix2pix":
        model = PlainPix2Pix(
            nets["G"], nets["D"], gan_mode=lc.gan_mode, lambda_l1=lc.lambda_l1, lr=optim.lr, beta1=optim.beta1,
            device=device,
        )  # fmt: skip
    else:
        model = PlainCycleGAN(
            nets, gan_mode=lc.gan_mode, lambda_cycle=lc.lambda_cycle, lambda_identity=lc.lambda_identity,
            pool_size=lc.pool_size, lr=optim.lr, beta1=optim.beta1, device=device,
        )  # fmt: skip
    loop = PlainLoop(model, cfg.batch_size)
    features: LoopFeatures = {
        "step": f"{type(model).__name__}.optimize_parameters (the original's training loop shape)",
        "memory_format": "NCHW (contiguous)",
        "amp": "off (fp32)",
        "grad_scaler": False,
        "torch_compile": False,
        "fused_adam": False,
        "adam": "torch.optim.Adam defaults (per-parameter loop on the CPU, foreach on CUDA)",
        "zero_grad": "zero_grad() with PyTorch's default (set_to_none=True since PyTorch 2.0)",
        "discriminators_frozen_during_G_step": True,
        "host_syncs": f"loss floats every print_freq={PRINT_FREQ} iterations (the visualiser)",
        "lr_schedule": "stepped once per epoch (outside the timed iterations)",
    }
    return _Loop(
        name="plain",
        step=loop.step,
        first_losses=model.get_current_losses,
        networks=model.networks(),
        features=features,
        numerics="fp32",
    )


def _batches(cfg: TrainConfig, device: torch.device, count: int = 4) -> list[Batch]:
    """A few random batches in [-1, 1] (speed does not depend on the pixels), on the host like a loader's."""
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    assert cfg.data.crop is not None
    h, w = cfg.data.crop
    pin = device.type == "cuda"  # as the training loader does on CUDA
    out: list[Batch] = []
    for _ in range(count):
        rgb = torch.rand((cfg.batch_size, cfg.model.input_nc, h, w), generator=gen) * 2 - 1
        thermal = torch.rand((cfg.batch_size, cfg.model.output_nc, h, w), generator=gen) * 2 - 1
        out.append({"rgb": rgb.pin_memory() if pin else rgb, "thermal": thermal.pin_memory() if pin else thermal})
    return out


def _initial_networks(cfg: TrainConfig, device: torch.device) -> dict[str, nn.Module]:
    """The networks our task starts from (seeded): the plain loop copies their weights."""
    torch.manual_seed(cfg.seed)
    task = Pix2PixTask(cfg, device) if cfg.mode == "pix2pix" else CycleGANTask(cfg, device)
    return dict(task.networks)


# -- the worker processes -------------------------------------------------------------------------------


def _set_up_worker(name: str, settings: WorkerSettings) -> tuple[torch.device, ProcessInfo]:
    """Threads and allocator as the loop's own program sets them up."""
    if settings["threads"]:
        torch.set_num_threads(settings["threads"])
    device = torch.device(settings["device"])
    process: ProcessInfo = {"threads": torch.get_num_threads()}
    if name == "ours" and device.type == "cpu":
        process["keeps_freed_memory"] = keep_freed_memory()  # as python -m training.train does on the CPU
    elif device.type == "cpu":
        process["keeps_freed_memory"] = False  # glibc's defaults, as the original's train.py runs
    return device, process


def _worker(conn: Connection, name: str, settings: WorkerSettings) -> None:
    """One loop in its own process, set up as its program would be; it obeys the parent's commands.

    Commands: ``("build", arch)``, ``("first",)`` (one iteration from the seeded random state),
    ``("run", n, offset)`` (``n`` timed iterations), ``("stop",)``. Replies are ``("ok", value)``
    or ``("error", message)``.
    """
    try:
        device, process = _set_up_worker(name, settings)
        cfg: TrainConfig | None = None
        loop: _Loop | None = None
        batches: list[Batch] = []

        def run(n: int, offset: int) -> tuple[float, float]:
            assert loop is not None
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                loop.step(batches[(offset + i) % len(batches)])
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            return time.perf_counter() - wall, time.process_time() - cpu

        while True:
            command, *params = conn.recv()
            if command == "stop":
                return
            if command == "build":
                loop = None  # free the previous architecture's networks first
                cfg = bench_config(params[0], **settings["config"])
                loop = _ours(cfg, device) if name == "ours" else _plain(cfg, device, _initial_networks(cfg, device))
                batches = _batches(cfg, device)
                build: BuildReply = {
                    "networks": _describe_networks(loop.networks),
                    "features": {**loop.features, "process": process},
                    "numerics": loop.numerics,
                }
                conn.send(("ok", build))
            elif command == "first":
                assert cfg is not None and loop is not None
                torch.manual_seed(cfg.seed)
                wall, _ = run(1, 0)
                first: FirstReply = {"seconds": wall, "losses": loop.first_losses()}
                conn.send(("ok", first))
            else:
                conn.send(("ok", run(int(params[0]), int(params[1]))))
    except Exception as exc:  # sent to the parent, which reports it in the user's terms
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Contender:
    """The parent's handle on one worker process."""

    def __init__(self, name: str, settings: WorkerSettings) -> None:
        # spawn: a fresh interpreter, so each loop's process settings are its own (and no forked OpenMP state).
        ctx = multiprocessing.get_context("spawn")
        self.name = name
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, name, settings), name=f"bench-train-{name}")
        self.process.start()
        child.close()
        self.samples_s: list[float] = []
        self.cpu_s: list[float] = []

    def ask(self, *command: str | int) -> object:
        """Send a command and wait for its reply."""
        self.conn.send(command)
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise TrainingError(f"bench train: the {self.name} loop's process died (out of memory?)") from None
        if status == "error":
            raise TrainingError(f"bench train: the {self.name} loop failed: {value}")
        return value

    def build(self, arch: str) -> BuildReply:
        """Build the loop for ``arch`` (the previous one is dropped)."""
        return cast(BuildReply, self.ask("build", arch))

    def first(self) -> FirstReply:
        """The first iteration from the seeded random state."""
        return cast(FirstReply, self.ask("first"))

    def run(self, n: int, offset: int) -> tuple[float, float]:
        """``n`` iterations from batch ``offset``: wall and CPU seconds."""
        return cast(tuple[float, float], self.ask("run", n, offset))

    def close(self) -> None:
        """Stop the worker (politely, then for good)."""
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # the pipe may be gone already
                self.conn.send(("stop",))
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


# -- one architecture: check, time, sum up ------------------------------------------------------------


def _compare_first_losses(first: dict[str, FirstReply]) -> FirstIterationLosses:
    """Same weights, same random state, same batch: how far apart the first iteration's losses are."""
    losses = {name: value["losses"] for name, value in first.items()}
    common = [k for k in losses["plain"] if k in losses["ours"]]
    diffs = {k: abs(losses["ours"][k] - losses["plain"][k]) for k in common}
    rel = {k: d / max(abs(losses["plain"][k]), 1e-12) for k, d in diffs.items()}
    return {
        "ours": losses["ours"],
        "plain": losses["plain"],
        "compared": common,
        "max_abs_diff": max(diffs.values(), default=0.0),
        "max_rel_diff": max(rel.values(), default=0.0),
    }


def _time_turns(
    arch: str, args: argparse.Namespace, contenders: tuple[_Contender, _Contender], block: int, bar: tqdm[Never]
) -> None:
    """Warm-up (oneDNN primitive caches, allocator; compilation with --compile), then timed turns in ABBA order."""
    warmup = _warmup(args)
    for c in contenders:
        if warmup:
            c.ask("run", warmup, 1)
        bar.update(warmup)
    rounds = max(1, math.ceil(_iters(arch, args) / block))
    for r in range(rounds):
        for c in contenders if r % 2 == 0 else contenders[::-1]:
            wall, cpu = c.run(block, r * block)
            c.samples_s.append(wall / block)
            c.cpu_s.append(cpu / block)
            bar.update(block)


def _loop_result(c: _Contender, first: FirstReply, build: BuildReply) -> LoopResult:
    return {
        **_stats(c.samples_s, c.cpu_s),
        "first_iteration_s": first["seconds"],
        "numerics": build["numerics"],
        "features": build["features"],
    }


def _ratio(ours: _Contender, plain: _Contender, results: tuple[LoopResult, LoopResult]) -> Ratio:
    paired = [p / o for o, p in zip(ours.samples_s, plain.samples_s, strict=True)]
    mine, theirs = results
    return {
        "paired_median": statistics.median(paired),
        "p50": mine["it_per_s_p50"] / theirs["it_per_s_p50"],
        "mean": mine["it_per_s_mean"] / theirs["it_per_s_mean"],
        "best": mine["it_per_s_best"] / theirs["it_per_s_best"],
        "paired": [round(x, 3) for x in paired],
    }


def _time_arch(
    arch: str, args: argparse.Namespace, contenders: tuple[_Contender, _Contender], block: int, bar: tqdm[Never]
) -> ArchResult:
    """Build both loops for ``arch``, check that their first iteration agrees, time them in turns."""
    cfg = bench_config(arch, size=args.size, batch=args.batch, ngf=args.ngf, ndf=args.ndf, seed=args.seed)
    info = {c.name: c.build(arch) for c in contenders}
    for c in contenders:
        c.samples_s, c.cpu_s = [], []
    first: dict[str, FirstReply] = {}
    for c in contenders:
        first[c.name] = c.first()
        bar.update(1)
    first_losses = _compare_first_losses(first)
    _time_turns(arch, args, contenders, block, bar)
    ours, plain = contenders
    results = (_loop_result(ours, first["ours"], info["ours"]), _loop_result(plain, first["plain"], info["plain"]))
    networks = {name: value["networks"] for name, value in info.items()}
    return {
        "arch": arch,
        "generator": cfg.model.generator,
        "discriminator": f"{cfg.model.discriminator} (70x70 PatchGAN, n_layers={cfg.model.n_layers_d})",
        "norm": cfg.model.norm,
        "gan_mode": cfg.loss.gan_mode,
        "size": [args.size, args.size],
        "batch": args.batch,
        "ngf": args.ngf,
        "ndf": args.ndf,
        "networks": networks,
        "same_networks": _same(networks["ours"], networks["plain"]),
        "first_iteration_losses": first_losses,
        "ours": results[0],
        "plain": results[1],
        "ratio_ours_over_plain": _ratio(ours, plain, results),
        "equal_numerics": info["ours"]["numerics"] == info["plain"]["numerics"],
    }


def _same(a: dict[str, NetworkInfo], b: dict[str, NetworkInfo]) -> bool:
    """Same network names, classes, parameter counts and initial weights (checksums)."""
    return a.keys() == b.keys() and all(
        a[k]["class"] == b[k]["class"]
        and a[k]["parameters"] == b[k]["parameters"]
        and math.isclose(a[k]["checksum"], b[k]["checksum"], rel_tol=1e-12, abs_tol=1e-9)
        for k in a
    )


def _stats(samples_s: list[float], cpu_s: list[float]) -> TimingStats:
    p50 = statistics.median(samples_s)
    mean = statistics.fmean(samples_s)
    best = min(samples_s)
    return {
        "it_per_s_p50": 1.0 / p50,
        "it_per_s_mean": 1.0 / mean,
        "it_per_s_best": 1.0 / best,
        "ms_per_it_p50": p50 * 1000.0,
        "ms_per_it_mean": mean * 1000.0,
        "ms_per_it_best": best * 1000.0,
        "cpu_s_per_it_mean": statistics.fmean(cpu_s),
        "n": len(samples_s),
        "samples_ms": [round(s * 1000.0, 1) for s in samples_s],
    }


def _warmup(args: argparse.Namespace) -> int:
    if args.warmup is not None:
        return int(args.warmup)
    return 2 if args.compile else 1


def _iters(arch: str, args: argparse.Namespace) -> int:
    if args.iters is not None:
        return max(1, int(args.iters))
    normal, quick = DEFAULT_ITERS[arch]
    return quick if args.quick else normal


def _device(choice: str) -> torch.device:
    try:
        return resolve_device(choice)
    except TrainingError:
        raise TrainingError("--device cuda: no CUDA GPU is available here; use --device cpu or auto") from None


def _validate(args: argparse.Namespace) -> None:
    if args.size < 16:
        raise ConfigError(f"--size must be at least 16 pixels, got {args.size}")


# -- the whole run --------------------------------------------------------------------------------------


def _time_all(archs: list[str], args: argparse.Namespace, device: torch.device, block: int) -> list[ArchResult]:
    """Start one worker per loop and time every architecture in them; the workers stop at the end."""
    total = sum(2 * (1 + _warmup(args) + max(1, math.ceil(_iters(a, args) / block)) * block) for a in archs)
    settings: WorkerSettings = {
        "threads": int(args.threads),
        "device": str(device),
        "config": {
            "size": args.size,
            "batch": args.batch,
            "ngf": args.ngf,
            "ndf": args.ndf,
            "compile_": bool(args.compile),
            "seed": args.seed,
        },
    }
    results: list[ArchResult] = []
    console.print(f"bench train: starting one worker process per loop on {device} ...")
    contenders = (_Contender("ours", settings), _Contender("plain", settings))
    # One bar over every iteration of both loops (ui.progress wraps iterables; this one is stepped by hand).
    bar = tqdm(
        total=total, desc="bench train", unit="it", leave=False, dynamic_ncols=True, disable=not sys.stderr.isatty()
    )
    try:
        for arch in archs:
            bar.set_description(f"bench train {arch}")
            results.append(_time_arch(arch, args, contenders, block, bar))
    finally:
        bar.close()
        for c in contenders:
            c.close()
    return results


def _print_report(results: list[ArchResult], targets: list[Target], title: str) -> None:
    """The table of both loops per architecture, the ratios, and the targets."""
    table = Table(title=title)
    for col in ("arch", "loop", "numerics", "it/s p50", "it/s mean", "ms/it p50", "CPU s/it", "n"):
        table.add_column(col, justify="left" if col in ("arch", "loop", "numerics") else "right")
    for r in results:
        for name, s in (("ours", r["ours"]), ("plain", r["plain"])):
            table.add_row(
                f"{r['arch']} ({r['generator']})",
                name,
                s["numerics"],
                f"{s['it_per_s_p50']:.3f}",
                f"{s['it_per_s_mean']:.3f}",
                f"{s['ms_per_it_p50']:.0f}",
                f"{s['cpu_s_per_it_mean']:.2f}",
                str(s["n"]),
            )
    console.print(table)
    for r in results:
        ratio = r["ratio_ours_over_plain"]
        check = r["first_iteration_losses"]
        console.print(
            f"{r['arch']}: ours / plain = {ratio['paired_median']:.2f}x (median of paired turns), "
            f"{ratio['p50']:.2f}x (p50), {ratio['mean']:.2f}x (mean); same networks: {r['same_networks']}; "
            f"first-iteration losses differ by at most {check['max_rel_diff']:.1e} (relative)"
        )
    for t in targets:
        console.print(f"target {t['name']}: {t['value']:.2f} (needs >= {t['needs']}) {'PASS' if t['pass'] else 'MISS'}")


_METHOD: Final = (
    "each loop runs in its own worker process (ours set up as python -m training.train sets up its "
    "process, plain with the defaults the original's train.py has); both train the same networks (same "
    "initial weights, checked by checksum) with the same losses on the same random batches; the first "
    "iteration of each from the same weights and random state checks that the losses agree; after warm-up "
    "they take turns, one timed block at a time in ABBA order (one iteration per block on the CPU, "
    f"{CUDA_BLOCK} on CUDA with a device sync at the end of the block), so load on the shared machine "
    "falls on both alike; paired_median is the median over turns of plain time / ours time (adjacent "
    "turns share the load), p50/mean/best compare each loop's own median, mean and fastest iteration; "
    "CPU s/it is the worker's CPU time"
)


def run(args: argparse.Namespace) -> BenchTrainResult:
    """Time both loops on every chosen architecture, print the report, write ``train.json``."""
    _validate(args)
    archs = list(ARCHS) if args.arch == "all" else [args.arch]
    device = _device(args.device)
    load_start = os.getloadavg()
    block = CUDA_BLOCK if device.type == "cuda" else 1
    results = _time_all(archs, args, device, block)
    load_end = os.getloadavg()
    threads = results[0]["ours"]["features"]["process"]["threads"]
    targets = _targets(results, device.type)
    _print_report(results, targets, f"thermal-synth bench train ({device.type}, {threads} threads, batch {args.batch})")
    result: BenchTrainResult = {
        "quick": bool(args.quick),
        "settings": {
            "archs": archs,
            "size": [args.size, args.size],
            "batch": args.batch,
            "device": device.type,
            "threads": threads,
            "compile": bool(args.compile),
            "warmup": _warmup(args),
            "block": block,
            "seed": args.seed,
        },
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in load_end],
        "method": _METHOD,
        "note": _note(device.type),
        "results": results,
        "targets": targets,
    }
    path = write_result(args.out, "train", result)
    parts = [
        f"{r['arch']} ours {r['ours']['it_per_s_p50']:.2f} vs plain {r['plain']['it_per_s_p50']:.2f} it/s "
        f"(x{r['ratio_ours_over_plain']['paired_median']:.2f} paired, x{r['ratio_ours_over_plain']['p50']:.2f} p50)"
        for r in results
    ]
    summary(f"bench train ({device.type}, {threads} threads): {'; '.join(parts)} -> {path}")
    return result


def _note(device_type: str) -> str:
    """What the figures stand for, on this device."""
    if device_type == "cpu":
        return (
            "CPU figures stand in for GPU ones (no GPU here): on the CPU both loops run fp32 and the features that "
            "matter most on a GPU (AMP, channels_last, no per-step host syncs) are off or have nothing to gain; "
            "on CUDA the same benchmark times ours with its AMP against plain in fp32"
        )
    return (
        "CUDA: ours trains with its AMP (see numerics) and plain in fp32 as the original does, so the ratio "
        "includes the numerics difference (equal_numerics is false and no target is judged)"
    )


def _targets(results: list[ArchResult], device_type: str) -> list[Target]:
    """The issue's target: Pix2Pix ours/plain at equal batch size and numerics (judged on the paired median)."""
    targets: list[Target] = []
    for r in results:
        if r["arch"] != "pix2pix" or not r["equal_numerics"]:
            continue
        ratio = r["ratio_ours_over_plain"]
        value = ratio["paired_median"]
        targets.append(
            {
                "name": f"pix2pix ours / plain it/s (median of paired turns), {device_type}, "
                f"{r['ours']['numerics']} both, batch {r['batch']}, {r['size'][0]}x{r['size'][1]}",
                "value": value,
                "p50_value": ratio["p50"],
                "mean_value": ratio["mean"],
                "needs": TARGET_PIX2PIX_RATIO,
                "pass": value >= TARGET_PIX2PIX_RATIO,
            }
        )
    return targets
