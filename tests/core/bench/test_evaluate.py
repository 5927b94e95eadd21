"""``thermal-synth bench evaluate``: its plain loop scores what ``evaluate`` scores; its round figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.eval.conftest import synth_drive
from tests.core.models.factory import make_model
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.bench.evaluate import TOPICS, _stats, plain_evaluate
from thermal_synth_core.data.synth import GROUND_TRUTH_FILE
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_core.infer import Synthesizer


def test_plain_loop_scores_the_frames_evaluate_scores(tmp_path: Path) -> None:
    bag = synth_drive(tmp_path, "sqlite3", n=8)
    alignment = Alignment.load(bag / GROUND_TRUTH_FILE)
    model = make_model(tmp_path / "m.safetensors", input_size=(160, 128), output_size=(320, 256), alignment=alignment)[
        0
    ]
    synth = Synthesizer(model, backend="torch")
    rgb, thermal, mask = TOPICS
    plain = plain_evaluate(bag, synth, rgb_topic=rgb, thermal_topic=thermal, mask_topic=mask, slop=0.05)
    options = EvalOptions(
        bag=bag, rgb_topic=rgb, thermal_topic=thermal, mask_topic=mask, out=tmp_path / "o", samples=0, report=False
    )
    ours = evaluate(options, synth)
    assert 0 < plain == ours.scored < 8  # thermal runs at 9 Hz beside RGB at 10 Hz


def test_stats_take_best_and_median_over_the_rounds() -> None:
    stats = _stats({"ours": [(10.0, 5.0), (30.0, 4.0), (20.0, 6.0)]})["ours"]
    assert stats["best_fps"] == 30.0 and stats["median_fps"] == 20.0
    assert stats["cpu_ms_per_frame_median"] == 5.0
    assert stats["runs_fps"] == [10.0, 30.0, 20.0] and stats["runs_cpu_ms_per_frame"] == [5.0, 4.0, 6.0]
    assert _stats({"ours": [(1.234567, 2.345678)]})["ours"]["runs_fps"] == [pytest.approx(1.23)]
