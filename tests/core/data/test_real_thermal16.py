"""Real FLIR ADAS v1 16-bit TIFFs (raw 14-bit counts) through the reader, the AGC and ``prepare``.

Everything else in the suite feeds the 16-bit path procedural counts; these are
30 frames a real FLIR Tau2 recorded (``../shared/real/flir_v1_thermal16``). 12 of
them are also among RoadScene's full 8-bit frames, rendered by FLIR's own
pipeline (and denoised by RoadScene): the same scene, so the raw counts must
rank the pixels the same way, whatever the tone curve.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.real_data import ROADSCENE, THERMAL16, needs_thermal16
from thermal_synth_core.agc import agc_normalize, agc_to_uint8
from thermal_synth_core.align import Alignment
from thermal_synth_core.cli import main
from thermal_synth_core.data.datasets import thermal_to_tensor
from thermal_synth_core.data.imageio import read_thermal
from thermal_synth_core.data.manifest import read_manifest

pytestmark = needs_thermal16


def _tiffs() -> list[Path]:
    return sorted(THERMAL16.glob("*.tiff"))


def _ranks(x: npt.NDArray[np.generic]) -> npt.NDArray[np.intp]:
    return np.argsort(np.argsort(np.asarray(x, dtype=np.float64).ravel(), kind="stable"), kind="stable")


def test_real_tiffs_read_as_14_bit_counts_and_agc_spreads_them() -> None:
    tiffs = _tiffs()
    assert len(tiffs) == 30
    for path in tiffs:
        raw = read_thermal(path)
        assert raw.dtype == np.uint16 and raw.shape == (512, 640), path.name
        assert int(raw.min()) > 0 and int(raw.max()) < 2**14, f"{path.name}: not 14-bit counts"
        unit = agc_normalize(raw)
        # 1st/99th percentiles map to 0/1: about 1 % of the pixels clip at each end, and the rest is spread.
        assert float((unit <= 0.0).mean()) <= 0.02 and float((unit >= 1.0).mean()) <= 0.02, path.name
        assert 0.15 < float(np.median(unit)) < 0.95 and float(unit.std()) > 0.1, path.name


def test_real_counts_rank_pixels_as_flirs_own_8_bit_rendering() -> None:
    """Same frame, FLIR's 8-bit rendering vs our AGC of the raw counts: the same order of pixels.

    Catches a byte-order, orientation or channel mistake in reading real TIFFs
    (any of them breaks the ranking); the tone curves differ (FLIR's is
    histogram-based, ours linear between percentiles), so intensities do not.
    """
    shared = [p for p in _tiffs() if (ROADSCENE / "infrared" / f"{p.stem}.png").is_file()]
    if not shared:
        pytest.skip(f"none of the TIFFs' frames found under {ROADSCENE / 'infrared'}")
    assert len(shared) == 12
    for path in shared:
        ours = agc_normalize(read_thermal(path))
        flir = cv2.imread(str(ROADSCENE / "infrared" / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE)
        assert flir is not None and flir.shape == ours.shape
        rho = float(np.corrcoef(_ranks(ours), _ranks(flir))[0, 1])
        assert rho > 0.98, f"{path.stem}: rank correlation {rho:.3f}"
        flipped = float(np.corrcoef(_ranks(ours[::-1]), _ranks(flir))[0, 1])
        assert flipped < 0.9 * rho


@pytest.mark.parametrize("bits", [16, 8])
def test_prepare_keeps_real_16_bit_counts(bits: int, tmp_path: Path) -> None:
    """``prepare --thermal-bits 16`` keeps the real counts bit for bit; 8 writes our AGC of them."""
    root = tmp_path / "FLIR_ADAS_1_3"
    (root / "train" / "RGB").mkdir(parents=True)
    t16 = root / "train" / "thermal_16_bit"
    t16.mkdir()
    tiffs = _tiffs()[:8]
    for path in tiffs:
        (t16 / path.name).symlink_to(path)
    alignment = tmp_path / "alignment.yaml"
    Alignment.resize((1800, 1600), (640, 512)).save(alignment)
    out = tmp_path / "prepared"
    argv = ["prepare", "--root", str(root), "--format", "flir-v1", "--out", str(out), "--include-unpaired"]
    assert main([*argv, "--thermal-bits", str(bits), "--alignment", str(alignment), "--workers", "1"]) == 0
    manifest = read_manifest(out)
    assert manifest.thermal_bits == bits
    written = dict(manifest.thermal_frames("train"))
    assert sorted(written) == [p.stem for p in tiffs]
    for path in tiffs:
        raw = read_thermal(path)
        got = read_thermal(written[path.stem])
        if bits == 16:
            assert got.dtype == np.uint16 and np.array_equal(got, raw)
        else:
            assert got.dtype == np.uint8 and np.array_equal(got, agc_to_uint8(raw))
        # Training sees the same normalisation either way (8-bit: within its quantisation).
        tensor = thermal_to_tensor(got)[0].numpy()
        assert np.allclose((tensor + 1.0) / 2.0, agc_normalize(raw), atol=0.5 / 255 + 1e-6)


def test_prepare_auto_alignment_without_pairs_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "FLIR_ADAS_1_3"
    (root / "train" / "RGB").mkdir(parents=True)
    (root / "train" / "thermal_16_bit").mkdir()
    for path in _tiffs()[:3]:
        (root / "train" / "thermal_16_bit" / path.name).symlink_to(path)
    argv = ["prepare", "--root", str(root), "--format", "flir-v1", "--out", str(tmp_path / "out"), "--thermal-bits"]
    assert main([*argv, "16", "--include-unpaired"]) == 1
    err = capsys.readouterr().err
    assert "needs RGB/thermal frame pairs" in err and "3 thermal-only" in err and "--alignment FILE" in err
