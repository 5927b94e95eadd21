"""``python -m training.train``: shipped configs, overrides, and errors before any training starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.config import load_config
from thermal_synth_core.train.config import TrainConfig
from training.train import CONFIG_DIR, main, resolve_config_path

SHIPPED = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def test_the_four_configs_ship() -> None:
    assert {"pix2pix", "cyclegan", "pix2pix_fast", "smoke"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_loads_and_takes_the_common_overrides(name: str, tmp_path: Path) -> None:
    overrides = [f"data.root={tmp_path}", f"out_dir={tmp_path / 'o'}", "steps=7", "device=cpu", "resume=never"]
    cfg = load_config(TrainConfig, resolve_config_path(name), overrides)
    assert (cfg.data.root, cfg.out_dir, cfg.steps, cfg.device, cfg.resume) == (
        tmp_path,
        tmp_path / "o",
        7,
        "cpu",
        "never",
    )


def test_reference_settings() -> None:
    p2p = load_config(TrainConfig, CONFIG_DIR / "pix2pix.yaml")
    assert (p2p.model.generator, p2p.model.discriminator, p2p.model.norm, p2p.model.dropout) == (
        "unet_256",
        "basic",
        "batch",
        True,
    )
    assert (p2p.loss.gan_mode, p2p.loss.lambda_l1, p2p.optim.lr, p2p.optim.beta1) == ("vanilla", 100.0, 2e-4, 0.5)
    cyc = load_config(TrainConfig, CONFIG_DIR / "cyclegan.yaml")
    assert (cyc.mode, cyc.model.generator, cyc.model.norm, cyc.loss.gan_mode) == (
        "cyclegan",
        "resnet_9blocks",
        "instance",
        "lsgan",
    )
    assert (cyc.loss.lambda_cycle, cyc.loss.lambda_identity, cyc.loss.pool_size) == (10.0, 0.5, 50)
    assert load_config(TrainConfig, CONFIG_DIR / "pix2pix_fast.yaml").model.generator == "fast_unet"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_unknown_key_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(["--config", "smoke", "optim.lrr=1", f"out_dir={tmp_path}"], capsys)
    assert code == 1
    assert "unknown key 'optim.lrr'" in err
    assert not any(tmp_path.iterdir())


def test_wrong_type_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--config", "smoke", "steps=many"], capsys)
    assert code == 1
    assert "key 'steps': expected int" in err


def test_missing_data_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(["--config", "smoke", f"out_dir={tmp_path / 'o'}"], capsys)
    assert code == 1
    assert "data.root is not set" in err
    code, err = _run(["--config", "smoke", f"data.root={tmp_path / 'nope'}", f"out_dir={tmp_path / 'o'}"], capsys)
    assert code == 1
    assert "does not exist" in err
    assert not (tmp_path / "o").exists()


def test_empty_val_split(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A copy of the prepared data whose manifest has no val pairs.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["pairs"] = [p for p in manifest["pairs"] if p["split"] != "val"]
    manifest["counts"].pop("val", None)
    (data / "manifest.json").write_text(json.dumps(manifest))
    code, err = _run(["--config", "smoke", f"data.root={data}", f"out_dir={tmp_path / 'o'}"], capsys)
    assert code == 1
    assert "data.val_split='val': the split is empty or missing" in err
    assert not (tmp_path / "o").exists()


def test_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--config", "no_such_config"], capsys)
    assert code == 1
    assert "config file not found" in err


def test_cpu_training_on_a_busy_cpu_with_several_threads_is_warned_about() -> None:
    from thermal_synth_core.train.engine import cpu_contention_warning

    assert cpu_contention_warning(threads=1, load=3.9, cores=2) is None  # one thread never spin-waits
    assert cpu_contention_warning(threads=2, load=0.4, cores=2) is None  # a quiet machine
    warning = cpu_contention_warning(threads=2, load=2.5, cores=2)
    assert warning is not None
    assert "load 2.5 on 2 cores" in warning and "threads=1" in warning
