"""FrameStats: rates, percentiles, counters, levels; and the DiagnosticArray built from them."""

from __future__ import annotations

import pytest

from thermal_synth_ros.diagnostics import LEVEL_ERROR, LEVEL_OK, LEVEL_WARN, DiagKey, FrameStats, diagnostic_array


def test_report_has_rates_latency_counts_and_metrics() -> None:
    stats = FrameStats()
    assert stats.latency_ms() is None
    for k in range(10):
        stats.count("received")
        stats.frame_done(latency_s=0.010 + k * 0.001, model_s=0.008)
    stats.count("dropped", 3)
    stats.metrics(0.1, 0.5)
    stats.metrics(0.3, None)
    report = stats.report({DiagKey.BACKEND: "fake"})
    v = report.values
    assert report.level == LEVEL_OK
    assert report.message.startswith("publishing at")
    assert float(v[DiagKey.INPUT_RATE]) > 0
    assert v[DiagKey.RECEIVED] == "10"
    assert v[DiagKey.PUBLISHED] == "10"
    assert v[DiagKey.DROPPED] == "3"
    assert float(v[DiagKey.LATENCY_P50]) == pytest.approx(14.5)
    assert 18.0 <= float(v[DiagKey.LATENCY_P95]) <= 19.0
    assert float(v[DiagKey.MODEL_TIME_P50]) == pytest.approx(8.0)
    assert v[DiagKey.L1] == "0.2000"
    assert v[DiagKey.SSIM] == "0.5000"
    assert v[DiagKey.BACKEND] == "fake"
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
    assert r.values[DiagKey.LAST_PROBLEM] == "RGB: unsupported image encoding 'x'"
    stats.count("received")
    stats.count("failed")
    assert stats.report({}).level == LEVEL_ERROR
    stats.count("received")
    stats.frame_done(0.01, 0.01)
    r = stats.report({})
    assert r.level == LEVEL_OK
    assert DiagKey.LAST_PROBLEM not in r.values


def test_diagnostic_array_message() -> None:
    pytest.importorskip("diagnostic_msgs.msg")
    from builtin_interfaces.msg import Time

    stats = FrameStats()
    stats.count("received")
    stats.frame_done(0.01, 0.01)
    msg = diagnostic_array(
        stats.report({DiagKey.MODEL: "m"}), name="thermal_synth: x", hardware_id="hw", stamp=Time(sec=3)
    )
    (status,) = msg.status
    assert status.level == b"\x00"
    assert status.name == "thermal_synth: x"
    assert status.hardware_id == "hw"
    assert msg.header.stamp.sec == 3
    assert {kv.key: kv.value for kv in status.values}[DiagKey.MODEL] == "m"


def test_published_keys_keep_their_wording_and_order() -> None:
    # The one place the strings are spelled out: they are what monitors show and recorded bags hold,
    # so changing a DiagKey's wording must be a deliberate change of this test too.
    stats = FrameStats()
    stats.frame_done(0.01, 0.01)
    stats.metrics(0.1, 0.5)
    stats.error("x")
    node_info = [
        DiagKey.BACKEND,
        DiagKey.MODEL,
        DiagKey.ARCHITECTURE,
        DiagKey.OUTPUT,
        DiagKey.VIEW,
        DiagKey.OUTPUT_CAMERA_INFO,
        DiagKey.INPUT_TOPIC,
        DiagKey.COLORMAP,
        DiagKey.INPUT_LINK,
        DiagKey.INPUT_PUBLISHERS,
        DiagKey.REAL_LINK,
        DiagKey.TRANSPORTS,
    ]
    info = dict.fromkeys(node_info, "v")
    report = stats.report(info, link_problems=["a", "b"])
    assert list(report.values) == [
        "input rate (Hz)",
        "output rate (Hz)",
        "real thermal rate (Hz)",
        "latency p50 (ms)",
        "latency p95 (ms)",
        "model time p50 (ms)",
        "frames received",
        "frames published",
        "frames dropped (a newer frame arrived)",
        "frames rejected (bad input)",
        "model failures",
        "real thermal received",
        "real thermal rejected",
        "frames paired with real thermal",
        "camera_info rejected",
        "backend",
        "model",
        "architecture",
        "output",
        "view",
        "output camera_info",
        "input topic",
        "colormap",
        "input link",
        "input publishers (matched/visible)",
        "real thermal link",
        "transports",
        "L1 vs real thermal (AGC, running)",
        "SSIM vs real thermal (AGC, running)",
        "last problem",
        "input problem",
        "input problem 2",
    ]
    assert DiagKey.input_problem(2) == "input problem 3"
