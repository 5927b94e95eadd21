"""FrameStats: rates, percentiles, counters, levels; and the DiagnosticArray built from them."""

from __future__ import annotations

import pytest

from thermal_synth_ros.diagnostics import LEVEL_ERROR, LEVEL_OK, LEVEL_WARN, FrameStats, diagnostic_array


def test_report_has_rates_latency_counts_and_metrics() -> None:
    stats = FrameStats()
    assert stats.latency_ms() is None
    for k in range(10):
        stats.count("received")
        stats.frame_done(latency_s=0.010 + k * 0.001, model_s=0.008)
    stats.count("dropped", 3)
    stats.metrics(0.1, 0.5)
    stats.metrics(0.3, None)
    report = stats.report({"backend": "fake"})
    v = report.values
    assert report.level == LEVEL_OK
    assert report.message.startswith("publishing at")
    assert float(v["input rate (Hz)"]) > 0
    assert v["frames received"] == "10"
    assert v["frames published"] == "10"
    assert v["frames dropped (a newer frame arrived)"] == "3"
    assert float(v["latency p50 (ms)"]) == pytest.approx(14.5)
    assert 18.0 <= float(v["latency p95 (ms)"]) <= 19.0
    assert float(v["model time p50 (ms)"]) == pytest.approx(8.0)
    assert v["L1 vs real thermal (AGC, running)"] == "0.2000"
    assert v["SSIM vs real thermal (AGC, running)"] == "0.5000"
    assert v["backend"] == "fake"
    p50, p95 = stats.latency_ms() or (0, 0)
    assert p50 < p95


def test_levels_follow_problems_in_the_last_period() -> None:
    stats = FrameStats()
    assert stats.report({}).level == LEVEL_WARN  # no input at all
    stats.count("received")
    stats.count("rejected")
    stats.error("RGB: unsupported image encoding 'x'")
    r = stats.report({})
    assert r.level == LEVEL_WARN
    assert "1 bad input" in r.message
    assert r.values["last problem"] == "RGB: unsupported image encoding 'x'"
    stats.count("received")
    stats.count("failed")
    assert stats.report({}).level == LEVEL_ERROR
    stats.count("received")
    stats.frame_done(0.01, 0.01)
    r = stats.report({})
    assert r.level == LEVEL_OK
    assert "last problem" not in r.values


def test_diagnostic_array_message() -> None:
    pytest.importorskip("diagnostic_msgs.msg")
    from builtin_interfaces.msg import Time

    stats = FrameStats()
    stats.count("received")
    stats.frame_done(0.01, 0.01)
    msg = diagnostic_array(stats.report({"model": "m"}), name="thermal_synth: x", hardware_id="hw", stamp=Time(sec=3))
    (status,) = msg.status
    assert status.level == b"\x00"
    assert status.name == "thermal_synth: x"
    assert status.hardware_id == "hw"
    assert msg.header.stamp.sec == 3
    assert {kv.key: kv.value for kv in status.values}["model"] == "m"
