"""Hand-picked correspondences (--points): CSV parsing, fitting per model, outliers, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from thermal_synth_core.align import Alignment
from thermal_synth_core.align.points import alignment_from_points, fit_transform, read_points
from thermal_synth_core.cli import main
from thermal_synth_core.errors import AlignmentError

TRUTH = np.array([[1 / 2.48, 0.002, -62.5], [-0.001, 1 / 2.48, -61.0], [0, 0, 1]])


def _points(n: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rgb = rng.uniform([200, 200], [1700, 1400], (n, 2))
    th = np.column_stack([rgb, np.ones(n)]) @ TRUTH.T
    return rgb, th[:, :2] / th[:, 2:3] + rng.normal(0, noise, (n, 2))


def _write_csv(path: Path, rgb: np.ndarray, th: np.ndarray, header: bool = True) -> Path:
    lines = ["# picked by hand", "rgb_x,rgb_y,thermal_x,thermal_y"] if header else []
    lines += [f"{a:.3f},{b:.3f},{c:.3f},{d:.3f}" for (a, b), (c, d) in zip(rgb, th, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["homography", "affine", "similarity"])
def test_fit_recovers_transform(model: str) -> None:
    rgb, th = _points(12, 0.0)
    m = fit_transform(rgb, th, model)
    truth = Alignment.from_matrix(TRUTH, (1800, 1600), (640, 512), "t")
    est = Alignment.from_matrix(m, (1800, 1600), (640, 512), "t")
    assert truth.corner_error(est) < (0.01 if model != "similarity" else 2.0)


def test_outlier_is_dropped(tmp_path: Path) -> None:
    rgb, th = _points(14, 0.2)
    th[3] += [40.0, -25.0]  # a mistyped point
    a = alignment_from_points(rgb, th, (1800, 1600), (640, 512), model="homography")
    assert a.quality["inliers"] == 13
    assert a.quality["rms_px"] < 0.6
    truth = Alignment.from_matrix(TRUTH, (1800, 1600), (640, 512), "t")
    assert truth.corner_error(a) < 1.5


def test_cli_points_with_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rgb, th = _points(10, 0.1)
    csv = _write_csv(tmp_path / "p.csv", rgb, th)
    out = tmp_path / "a.yaml"
    argv = ["align", "estimate", "--points", str(csv), "--rgb-size", "1800x1600", "--thermal-size", "640x512"]
    assert main([*argv, "--out", str(out), "--model", "affine"]) == 0
    assert "from 10 points" in capsys.readouterr().out
    a = Alignment.load(out)
    assert a.rgb_size == (1800, 1600) and a.method == "points (affine)"


def test_cli_points_sizes_from_dataset(synth_v1: Path, tmp_path: Path) -> None:
    rgb, th = _points(8, 0.1)
    csv = _write_csv(tmp_path / "p.csv", rgb, th, header=False)
    out = tmp_path / "a.yaml"
    argv = ["align", "estimate", "--points", str(csv), "--root", str(synth_v1), "--format", "flir-v1"]
    assert main([*argv, "--out", str(out)]) == 0
    assert Alignment.load(out).thermal_size == (640, 512)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "no correspondences"),
        ("1,2,3\n", "expected four finite numbers"),
        ("1,2,3,4\nx,2,3,4\n", r":2: expected four numbers"),
        ("1,2,3,nan\n", "expected four finite numbers"),
    ],
)
def test_bad_points_files(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AlignmentError, match=match):
        read_points(path)


def test_too_few_points_and_missing_file(tmp_path: Path) -> None:
    rgb, th = _points(3, 0.0)
    with pytest.raises(AlignmentError, match="homography needs at least 4"):
        alignment_from_points(rgb, th, (1800, 1600), (640, 512), model="homography")
    with pytest.raises(AlignmentError, match="points file not found"):
        read_points(tmp_path / "missing.csv")
