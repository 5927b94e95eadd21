"""Acceptance: with the embedded demo model, the synthetic camera beats grayscale on the warm-region score."""

from __future__ import annotations

import pytest

from tests.core.eval.conftest import RGB_TOPIC, THERMAL_TOPIC, synth_drive
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.embedded import default_model_path


def test_demo_model_beats_the_grayscale_baseline_on_warm_regions(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not default_model_path().is_file():
        pytest.skip(f"the embedded demo model is not installed yet ({default_model_path()} is missing)")
    # A drive the model never saw (its own seed), day and night segments, RGB and thermal at other rates.
    bag = synth_drive(tmp_path_factory.mktemp("demo-drive"), "sqlite3", n=24, seed=2024)
    out = tmp_path_factory.mktemp("demo-eval")
    result = evaluate(
        EvalOptions(bag=bag, rgb_topic=RGB_TOPIC, thermal_topic=THERMAL_TOPIC, out=out, samples=2),
        Synthesizer(None, backend="torch"),
    )
    warm = result.aggregate["warm_iou"]
    assert result.scored >= 15
    assert warm["winner"] == "model", warm
    model_mean, baseline_mean, better = warm["model"]["mean"], warm["baseline"]["mean"], warm["model_better_fraction"]
    assert model_mean is not None and baseline_mean is not None and better is not None, warm
    assert model_mean > baseline_mean + 0.05, warm
    assert better >= 0.6, warm
