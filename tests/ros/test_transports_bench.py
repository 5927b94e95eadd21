"""bench transports: the profile's large frames reach a default-transport subscriber; LARGE_DATA never matches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thermal_synth_core.cli import main

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_transport_pairs_are_measured_and_the_interop_claims_hold(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    argv = ["bench", "transports", "--choices", "profile", "LARGE_DATA", "--frames", "10", "--size", "1280x720"]
    assert main([*argv, "--match-timeout", "4", "--out", str(tmp_path)]) == 0
    rows = {
        (r["publisher"], r["subscriber"]): r for r in json.loads((tmp_path / "transports.json").read_text())["pairs"]
    }
    assert set(rows) == {
        ("profile", "profile"),
        ("profile", "LARGE_DATA"),
        ("LARGE_DATA", "profile"),
        ("LARGE_DATA", "LARGE_DATA"),
    }
    for same in ("profile", "LARGE_DATA"):
        row = rows[(same, same)]
        assert row["matched_s"] is not None
        assert row["received"] >= 1, row  # delivery counts are figures, not a test; arrival is
    for mixed in (("profile", "LARGE_DATA"), ("LARGE_DATA", "profile")):
        assert rows[mixed]["matched_s"] is None, rows[mixed]  # the two choices never discover each other
        assert rows[mixed]["received"] == 0


def test_unknown_choices_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "transports", "--choices", "TCP", "--out", str(tmp_path)]) == 1
    assert "unknown transport choices ['TCP']; choose from profile, LARGE_DATA, default" in capsys.readouterr().err
