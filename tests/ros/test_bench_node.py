"""The node benchmark runs end to end (smoke run; the figures themselves belong to `make bench`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros


def test_node_benchmark_writes_its_figures(tmp_path: Path, ros_domain_id: int) -> None:
    from thermal_synth_core.cli.bench import benchmarks

    bench = next(b for b in benchmarks() if b.name == "node")
    args = argparse.Namespace(
        out=str(tmp_path), quick=True, frames=10, model="", backend="auto", domain_id=ros_domain_id
    )
    bench.resolve()(args)
    result = json.loads((tmp_path / "node.json").read_text())
    assert result["frame"] == "640x512"
    assert result["node_end_to_end"]["n"] >= 1
    # The overhead is split in the same run: transport floor (do-nothing node) + the node's own share.
    assert result["transport_floor_echo_node"]["n"] >= 1
    assert result["plain_node_end_to_end"]["n"] >= 1
    assert result["node_own_overhead_ms_p50"] == pytest.approx(
        result["node_overhead_ms_p50"] - result["transport_floor_echo_node"]["p50_ms"]
    )
    assert result["node_overhead_ms_p50"] == pytest.approx(
        result["node_end_to_end"]["p50_ms"] - result["model_in_process"]["p50_ms"]
    )
    assert set(result["targets_met"]) == {
        "node_overhead_ratio",
        "node_own_overhead_ratio",
        "conversion_plus_publish_ms",
    }
    assert result["model_in_process"]["p50_ms"] > 0
    assert set(result["conversion_to_model_input_ms"]) >= {"rgb8", "bgr8", "bayer_rggb8", "yuv422"}
    assert result["conversion_plus_publish_ms_p50_worst_encoding"] > 0
    assert "environment" in result
