"""The ROS 2 package builds with colcon (from PyPI) into the ament_python layout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

IGNORE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "install",
    "log",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "demo_out",
    "runs",
    "bench",
)


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    colcon = Path(sys.executable).parent / "colcon"
    if not colcon.exists():
        pytest.fail("colcon is not installed in this environment: run `make install` (dev extra)")
    ws = tmp_path_factory.mktemp("colcon_ws")
    shutil.copytree(REPO_ROOT, ws / "src" / "thermal_synth_ros", ignore=IGNORE)
    env = dict(os.environ, PATH=f"{colcon.parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(colcon), "build", "--base-paths", "src"],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ws / "install" / "thermal_synth_ros"


def test_executables_under_lib(colcon_install: Path) -> None:
    for name in ("thermal_synth_node", "thermal-synth"):
        exe = colcon_install / "lib" / "thermal_synth_ros" / name
        assert exe.is_file(), f"missing {exe}"
        assert os.access(exe, os.X_OK)


def test_share_layout_and_ament_index(colcon_install: Path) -> None:
    share = colcon_install / "share" / "thermal_synth_ros"
    assert (share / "package.xml").is_file()
    assert (share / "launch" / "synth.launch.py").is_file()
    assert (share / "config" / "synth.yaml").is_file()
    assert (share / "config" / "fastdds_profile.xml").is_file()
    assert (colcon_install / "share" / "ament_index" / "resource_index" / "packages" / "thermal_synth_ros").is_file()


def test_installed_python_packages_are_complete(colcon_install: Path) -> None:
    site = next((colcon_install / "lib").glob("python3*/site-packages"))
    for package in ("thermal_synth_core", "thermal_synth_ros", "training"):
        assert (site / package / "__init__.py").is_file(), f"{package} not installed"
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run(
        [sys.executable, "-c", "import thermal_synth_core, training; print(thermal_synth_core.__file__)"],
        cwd=colcon_install,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip().startswith(str(site))
