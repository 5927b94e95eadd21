"""align check: overlays, contact sheet and an edge-agreement score that sees misalignment."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.align.check import checkerboard, edge_overlay
from thermal_synth_core.cli import main
from thermal_synth_core.data.rig import check_alignment


def test_check_renders_sheet_and_scores(synth_v1: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = synth_v1 / "ground_truth_alignment.yaml"
    out = tmp_path / "check"
    argv = ["align", "check", "--root", str(synth_v1), "--format", "flir-v1", "--alignment", str(truth)]
    assert main([*argv, "--out", str(out), "--n", "3"]) == 0
    assert "contact_sheet.png" in capsys.readouterr().out
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > 100
    assert len(list(out.glob("*_edges.png"))) == 3 and len(list(out.glob("*_checker.png"))) == 3
    report = json.loads((out / "check.json").read_text())
    assert len(report["edge_agreement"]) == 3

    good = check_alignment(synth_v1, "flir-v1", Alignment.load(truth), tmp_path / "good", n=3)
    m = Alignment.load(truth).as_array().copy()
    m[0, 2] += 6.0  # six thermal pixels off
    off = Alignment.from_matrix(m, (1800, 1600), (640, 512), "shifted")
    bad = check_alignment(synth_v1, "flir-v1", off, tmp_path / "bad", n=3)
    assert np.median(list(good.scores.values())) > np.median(list(bad.scores.values())) + 0.1


def test_overlay_images() -> None:
    thermal = np.zeros((64, 80), np.uint8)
    thermal[20:40, 30:50] = 255
    rgb = np.zeros((64, 80, 3), np.uint8)
    rgb[20:40, 30:50] = (200, 30, 30)
    over = edge_overlay(rgb, thermal)
    assert over.shape == (64, 80, 3)
    assert (over[:, :, 1] == 255).any() and (over[:, :, 0] == 255).any()
    board = checkerboard(rgb, thermal, tiles=4)
    assert board.shape == (64, 80, 3)
    assert (board[0, 0] == rgb[0, 0]).all()
