"""Fault injection: ``evaluate --write-bag`` SIGKILLed mid-write leaves no bag a re-run would trust.

The bag is written in a hidden staging folder and renamed when complete, so
after every kill the target either does not exist or is whole. The staging
folders of killed runs are removed by the next run. The final run's bag holds
the same messages as an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rosbags.rosbag2 import Reader

from tests.core.eval.conftest import RGB_TOPIC, THERMAL_TOPIC, synth_drive
from tests.core.models.factory import make_model
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.data.synth import GROUND_TRUTH_FILE
from thermal_synth_core.eval import COLOR_TOPIC
from thermal_synth_core.eval import THERMAL_TOPIC as SYNTH_TOPIC

pytestmark = pytest.mark.timeout(300)

FRAMES = 30


def _messages(bag: Path) -> dict[str, list[tuple[int, bytes]]]:
    with Reader(bag) as reader:
        out: dict[str, list[tuple[int, bytes]]] = {}
        for conn, log_ns, raw in reader.messages():
            out.setdefault(conn.topic, []).append((log_ns, bytes(raw)))
    return out


def _staging(parent: Path, name: str) -> list[Path]:
    return sorted(parent.glob(f".{name}.partial-*"))


def _bytes_written(parent: Path, name: str, ignore: set[Path]) -> int:
    """Bytes in the staging folders of ``name`` other than ``ignore`` (a race with their removal counts as 0)."""
    total = 0
    for folder in set(_staging(parent, name)) - ignore:
        for f in folder.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                total += f.stat().st_size if f.is_file() else 0
    return total


def test_killed_write_bag_leaves_nothing_trusted_and_a_rerun_is_whole(tmp_path: Path) -> None:
    drive = synth_drive(tmp_path, "mcap", n=FRAMES, seed=11)
    model = tmp_path / "model.safetensors"
    alignment = Alignment.load(drive / GROUND_TRUTH_FILE)
    make_model(model, input_size=(160, 128), output_size=(320, 256), alignment=alignment)

    def cmd(target: Path, out: Path) -> list[str]:
        args = [sys.executable, "-m", "thermal_synth_core", "evaluate", "--bag", str(drive), "--model", str(model)]
        args += ["--rgb-topic", RGB_TOPIC, "--thermal-topic", THERMAL_TOPIC, "--backend", "torch", "--device", "cpu"]
        return [*args, "--out", str(out), "--write-bag", str(target), "--samples", "1"]

    env = {**os.environ, "OMP_NUM_THREADS": "1", "THERMAL_SYNTH_CACHE": str(tmp_path / "cache")}
    ref = tmp_path / "ref_bag"
    subprocess.run(cmd(ref, tmp_path / "ref_eval"), check=True, env=env, capture_output=True, timeout=180)
    expected = _messages(ref)
    assert len(expected[SYNTH_TOPIC]) == len(expected[COLOR_TOPIC]) == len(expected[RGB_TOPIC])

    target = tmp_path / "out_bag"
    ref_bytes = sum(f.stat().st_size for f in ref.rglob("*") if f.is_file())
    rng = random.Random(int(os.environ.get("FAULT_SEED", "7")))
    kills = 0
    for attempt in range(3):
        stale = set(_staging(tmp_path, target.name))  # left by the previous kill, removed by this run
        proc = subprocess.Popen(
            cmd(target, tmp_path / f"eval{attempt}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        # Kill once the staging bag holds a random share of the finished bag's bytes.
        goal = rng.uniform(0.02, 0.6) * ref_bytes
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                if _bytes_written(tmp_path, target.name, stale) >= goal:
                    os.killpg(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if target.exists():  # the run won the race: then the bag must be whole
            assert _messages(target) == expected
            break
    print(f"{kills} kills of evaluate --write-bag mid-write")
    assert kills >= 2, "evaluate finished before it could be killed"
    assert not target.exists() or _messages(target) == expected

    if not target.exists():
        subprocess.run(cmd(target, tmp_path / "final"), check=True, env=env, capture_output=True, timeout=180)
    assert _messages(target) == expected
    assert _staging(tmp_path, target.name) == [], "a killed run's staging folder was left behind"
