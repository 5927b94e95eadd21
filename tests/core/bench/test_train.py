"""``thermal-synth bench train`` end to end on tiny networks (the figures themselves belong to ``make bench``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from thermal_synth_core.bench.train import ARCHS, TARGET_PIX2PIX_RATIO, bench_config
from thermal_synth_core.cli import main
from thermal_synth_core.config import load_config
from thermal_synth_core.train.config import TrainConfig
from training.train import CONFIG_DIR

TINY = ["--size", "64", "--ngf", "4", "--ndf", "4", "--iters", "2", "--warmup", "0", "--threads", "1"]


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run over every architecture (its two worker processes serve both)."""
    out = tmp_path_factory.mktemp("bench_train")
    assert main(["bench", "train", "--arch", "all", "--device", "cpu", "--out", str(out), *TINY]) == 0
    data: dict[str, Any] = json.loads((out / "train.json").read_text())
    return data


def test_bench_train_records_its_settings(bench_json: dict[str, Any]) -> None:
    assert bench_json["benchmark"] == "train"
    assert bench_json["environment"]["torch"] == torch.__version__
    expected = {"archs": list(ARCHS), "size": [64, 64], "batch": 1, "device": "cpu", "threads": 1}
    assert bench_json["settings"] | expected == bench_json["settings"]
    assert "stand in for GPU" in bench_json["note"]
    assert [t["needs"] for t in bench_json["targets"]] == [TARGET_PIX2PIX_RATIO]
    assert [r["arch"] for r in bench_json["results"]] == list(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_bench_train_times_both_loops_on_the_same_networks(arch: str, bench_json: dict[str, Any]) -> None:
    (result,) = [r for r in bench_json["results"] if r["arch"] == arch]
    # The same networks with the same initial weights, and the same losses on the first iteration.
    ours, plain = result["networks"]["ours"], result["networks"]["plain"]
    assert ours.keys() == plain.keys() == ({"G", "D"} if arch == "pix2pix" else {"G_A", "G_B", "D_A", "D_B"})
    assert {k: v["parameters"] for k, v in ours.items()} == {k: v["parameters"] for k, v in plain.items()}
    assert result["same_networks"] is True
    losses = result["first_iteration_losses"]
    assert set(losses["compared"]) == set(losses["ours"]) == set(losses["plain"])
    assert losses["max_rel_diff"] < 1e-4
    for loop in ("ours", "plain"):
        stats = result[loop]
        assert stats["n"] == 2 and len(stats["samples_ms"]) == 2
        assert stats["it_per_s_p50"] > 0 and stats["numerics"] == "fp32"
        assert stats["features"]["memory_format"].startswith("NCHW")
    features = {loop: result[loop]["features"] for loop in ("ours", "plain")}
    assert features["ours"]["fused_adam"] is True and features["plain"]["fused_adam"] is False
    assert features["ours"]["process"]["keeps_freed_memory"] is True
    assert features["plain"]["process"]["keeps_freed_memory"] is False
    assert result["equal_numerics"] is True
    ratio = result["ratio_ours_over_plain"]
    assert ratio["paired_median"] > 0 and len(ratio["paired"]) == 2


@pytest.mark.parametrize("arch", ARCHS)
def test_bench_config_is_the_shipped_config(arch: str) -> None:
    """The benchmark trains what training/configs/ARCH.yaml trains (networks, losses, optimiser, speed flags)."""
    shipped = load_config(TrainConfig, CONFIG_DIR / f"{arch}.yaml")
    cfg = bench_config(arch, size=256, batch=1)
    for section in ("mode", "model", "loss", "optim", "amp", "channels_last", "compile", "log_every", "batch_size"):
        assert getattr(cfg, section) == getattr(shipped, section), section
    assert cfg.data.crop == shipped.data.crop


def test_bench_train_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "train", "--out", str(tmp_path), "--size", "8"]) == 1
    assert "--size must be at least 16" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["bench", "train", "--out", str(tmp_path), "--device", "cuda"]) == 1
        assert "--device cuda: no CUDA GPU" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "train", "--iters", "0"])
    assert not (tmp_path / "train.json").exists()
