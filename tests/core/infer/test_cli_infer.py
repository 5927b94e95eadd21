"""``thermal-synth infer`` and ``thermal-synth bench infer`` end to end on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.models.factory import make_model
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.cli import main


def _write_frames(folder: Path, size: tuple[int, int], count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / ("left" if i % 2 else "right")
        sub.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        cv2.imwrite(str(sub / f"frame{i:03d}.png"), img)


@pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (16, np.uint16)])
def test_infer_folder_writes_thermal_pngs(
    tmp_path: Path, bits: int, dtype: type, capsys: pytest.CaptureFixture[str]
) -> None:
    model, _, _ = make_model(tmp_path / "m.safetensors", input_size=(64, 48), output_size=(80, 64), output_bits=bits)
    _write_frames(tmp_path / "frames", (128, 96), 3)
    out = tmp_path / "thermal"
    argv = ["infer", "--model", str(model), "--input", str(tmp_path / "frames"), "--out", str(out)]
    assert main([*argv, "--backend", "torch", "--colormap", "ironbow"]) == 0
    thermal = cv2.imread(str(out / "right" / "frame000.png"), cv2.IMREAD_UNCHANGED)
    assert thermal is not None
    assert thermal.dtype == dtype
    assert thermal.shape == (64, 80)
    colour = cv2.imread(str(out / "left" / "frame001_ironbow.png"), cv2.IMREAD_UNCHANGED)
    assert colour is not None
    assert colour.shape == (64, 80, 3)
    assert len(list(out.rglob("*.png"))) == 6
    summary = capsys.readouterr().out
    assert summary.startswith(f"infer: 3 image(s) -> {out} (mono{bits}, rig 80x64 from 128x96, torch eager on cpu")
    assert summary.rstrip().endswith(", camera_info.yaml")
    info = CameraModel.load_yaml(out / "camera_info.yaml")
    assert info.size == (80, 64)


def test_infer_single_file_and_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, _, _ = make_model(tmp_path / "m.safetensors", input_size=(64, 48))
    frames = tmp_path / "frames"
    _write_frames(frames, (64, 48), 1)
    (frames / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(frames / "wide.png"), np.zeros((48, 120, 3), np.uint8))  # another aspect ratio
    argv = ["infer", "--model", str(model), "--out", str(tmp_path / "o"), "--backend", "onnxruntime"]
    assert main([*argv, "--input", str(frames), "--view", "rig"]) == 1
    captured = capsys.readouterr()
    assert "1 image(s)" in captured.out
    assert "2 skipped" in captured.out
    assert "view 'rig' needs the RGB camera of the rig" in " ".join(captured.err.split())  # rich wraps lines
    # auto: the wide frame takes the camera view (the model's own field of view, said as a warning)
    assert main([*argv, "--input", str(frames)]) == 1
    captured = capsys.readouterr()
    assert "2 image(s)" in captured.out
    assert "rig 64x48 from 64x48; camera 64x26 from 120x48" in captured.out
    assert "1 skipped" in captured.out
    assert "assuming the model's own" in " ".join(captured.err.split())
    assert (tmp_path / "o" / "wide_camera_info.yaml").is_file()
    assert main([*argv, "--input", str(frames / "right" / "frame000.png")]) == 0
    assert (tmp_path / "o" / "frame000.png").is_file()


def test_infer_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["infer", "--model", str(tmp_path / "none.safetensors"), "--input", str(tmp_path), "--out", "o"]) == 1
    assert "no images" in capsys.readouterr().err
    (tmp_path / "a.png").write_bytes(b"x")
    assert main(["infer", "--model", str(tmp_path / "none.safetensors"), "--input", str(tmp_path), "--out", "o"]) == 1
    assert "model file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["infer", "--input", "x", "--out", "o", "--colormap", "jet"])


def test_bench_infer_quick_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "infer", "--quick", "--out", str(tmp_path), "--archs", "fast_unet", "--backends", "onnxruntime"]
    assert main([*argv, "torch", "--seconds", "0.05"]) == 0
    data = json.loads((tmp_path / "infer.json").read_text())
    assert data["benchmark"] == "infer"
    assert {(r["resolution"], r["backend"]) for r in data["results"]} == {
        ("256x256", "torch"),
        ("256x256", "onnxruntime"),
        ("640x512", "torch"),
        ("640x512", "onnxruntime"),
    }
    assert all(r["p50_ms"] > 0 and r["n"] >= 3 for r in data["results"])
    assert "fast_unet@640x512" in data["ratios"]["onnxruntime_over_torch_eager"]
    assert data["targets"][0]["name"].startswith("fast_unet FPS @ 640x512")
    assert "bench infer: 4 cells" in capsys.readouterr().out
