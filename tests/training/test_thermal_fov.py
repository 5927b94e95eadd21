"""The model file carries the prepared dataset's thermal field of view (the angular scale it learned)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.training.tiny import TINY
from thermal_synth_core.data.manifest import read_manifest
from thermal_synth_core.data.prepare import PrepareOptions, prepare_dataset
from thermal_synth_core.data.synth import SynthOptions, generate
from thermal_synth_core.modelfile import LEGACY_FOV_DEG, ThermalFov, read_spec
from training.train import main


@pytest.fixture(scope="module")
def small_prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few 80x64 synthetic pairs (train and val), prepared with --thermal-hfov 30."""
    raw = tmp_path_factory.mktemp("fov_data") / "raw"
    generate(raw, SynthOptions(layout="pairs", n=12, seed=2, thermal_size=(80, 64)))
    out = raw.parent / "prepared"
    prepare_dataset(PrepareOptions(root=raw, fmt="pairs", out=out, workers=1, thermal_hfov=30.0), show_progress=False)
    return out


def test_model_file_records_the_manifests_field_of_view(small_prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["--config", "smoke", f"data.root={small_prepared}", f"out_dir={out}", *TINY, "steps=4"]) == 0
    camera = read_manifest(small_prepared).thermal_camera
    assert camera is not None
    spec = read_spec(out / "model.safetensors")
    assert spec.thermal_fov == ThermalFov(camera.hfov_deg, camera.width, camera.source)
    assert spec.thermal_fov == ThermalFov(30.0, 80, "--thermal-hfov")
    assert spec.input_size[0] == camera.width  # the network runs at the prepared width the FOV refers to


def test_manifest_without_field_of_view(small_prepared: Path, tmp_path: Path) -> None:
    """A dataset prepared before the field of view was recorded gives a model without one (45 deg assumed)."""
    old = tmp_path / "old"
    shutil.copytree(small_prepared, old)
    manifest = json.loads((small_prepared / "manifest.json").read_text())
    del manifest["thermal_camera"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "run"
    assert main(["--config", "smoke", f"data.root={old}", f"out_dir={out}", *TINY, "steps=4"]) == 0
    spec = read_spec(out / "model.safetensors")
    assert spec.thermal_fov is None and spec.fov.hfov_deg == LEGACY_FOV_DEG
