"""``thermal-synth bench prepare-bag``: the plain script's pairs, and a quick run's JSON."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from tests.core.data.drive_bags import RGB_TOPIC, THERMAL_TOPIC, write_tiny_drive
from thermal_synth_core.bench.prepare_bag import APPROACHES, PrepareBagBenchResult, plain_extract, run
from thermal_synth_core.sync import pair_nearest


def test_plain_script_writes_every_rgb_frame_with_a_thermal_frame_within_slop(tmp_path: Path) -> None:
    drive = write_tiny_drive(tmp_path / "bag", 20, rgb_hz=20.0, thermal_hz=9.0)
    n = plain_extract(drive.path, tmp_path / "out", rgb_topic=RGB_TOPIC, thermal_topic=THERMAL_TOPIC, slop=0.03)
    # nearest within the slop, a thermal frame may serve two RGB frames (no uniqueness, as one writes it first)
    expected = pair_nearest(drive.rgb_stamps, drive.thermal_stamps, 0.03, unique=False)
    assert n == len(expected) < 20
    assert len(list((tmp_path / "out" / "rgb").glob("*.png"))) == n
    assert len(list((tmp_path / "out" / "thermal16").glob("*.png"))) == n


@pytest.mark.slow  # about 15 s: generates a 4 s drive, prepares it five times
def test_quick_run_writes_its_figures(tmp_path: Path) -> None:
    args = argparse.Namespace(out=str(tmp_path), quick=True, frames=300, stops=2, stride_s=0.0, repeat=2)
    returned = run(args)
    doc = json.loads((tmp_path / "prepare-bag.json").read_text())
    assert doc["benchmark"] == "prepare-bag" and doc["environment"]["cpu_count"]
    assert set(PrepareBagBenchResult.__annotations__) <= set(doc)
    assert {k: doc[k] for k in returned} == json.loads(json.dumps(returned))
    assert [(r["approach"], r["workers"]) for r in doc["results"]] == [
        (APPROACHES[0], 1),
        (APPROACHES[0], 2),
        (APPROACHES[1], 1),
        (APPROACHES[1], 2),
        (APPROACHES[2], 1),
    ]
    for key in (
        "speedup_2_vs_1_workers",
        "extraction_speedup_2_vs_1_workers",
        "end_to_end_vs_plain_1_worker",
        "end_to_end_vs_plain_2_workers",
        "extraction_vs_plain_1_worker",
        "extraction_vs_plain_2_workers",
    ):
        assert math.isfinite(doc[key]) and doc[key] > 0, key
    for row in doc["results"]:
        assert row["pairs"] > 0 and row["pairs_per_s"] > 0 and row["frames_per_s"] > 0
        assert row["cpu_seconds"] > 0 and row["output_mb"] > 0
    sel = doc["selection"]
    # every worker count and the extraction keep the same pairs; the stop's frames are skipped, the plain script's not
    assert {r["pairs"] for r in doc["results"][:4]} == {sel["pairs_kept"]}
    assert sel["skipped_by_reason"]["standstill"] > 0
    assert (
        sel["pairs_kept"] + sum(sel["skipped_by_reason"].values()) - sel["skipped_by_reason"]["unpaired_thermal"]
        == (sel["rgb_frames"])
    )
    assert sel["pairs_kept"] < sel["plain_pairs"] <= sel["rgb_frames"] == doc["drive"]["rgb_frames"] == 120
