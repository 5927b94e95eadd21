"""The first pass: header stamps without decoding, pairing, --max-frames."""

from __future__ import annotations

from pathlib import Path

from tests.core.eval.conftest import MASK_TOPIC, RGB_TOPIC, THERMAL_TOPIC
from thermal_synth_core import imagemsg
from thermal_synth_core.eval.bag import IMAGE, BagSource
from thermal_synth_core.eval.plan import make_plan, scan
from thermal_synth_core.sync import pair_nearest


def test_header_stamps_read_from_the_raw_bytes_match_the_decoded_messages(drives: dict[str, Path]) -> None:
    with BagSource(drives["mcap"]) as source:
        assert source.storage == "mcap"
        for record in source.records([RGB_TOPIC, THERMAL_TOPIC]):
            assert source.header_stamp_ns(record) == imagemsg.stamp_ns(source.deserialize(record).header)


def test_scan_and_plan_pair_each_real_frame_once(drives: dict[str, Path]) -> None:
    with BagSource(drives["sqlite3"]) as source:
        scans, error = scan(source, (RGB_TOPIC, IMAGE), [(THERMAL_TOPIC, IMAGE), (MASK_TOPIC, IMAGE)])
    assert error is None
    plan = make_plan(scans, RGB_TOPIC, thermal_topic=THERMAL_TOPIC, mask_topic=MASK_TOPIC, slop=0.05)
    rgb, thermal = scans[RGB_TOPIC].stamps, scans[THERMAL_TOPIC].stamps
    assert plan.frames == list(range(len(rgb)))
    assert list(plan.thermal_for.values()) == pair_nearest(rgb, thermal, 0.05, unique=True)
    assert all(n == 1 for n in plan.thermal_users().values())
    assert plan.mask_for.keys() == plan.thermal_for.keys()  # masks carry the thermal stamps


def test_max_frames_stops_the_scan_soon_after_the_last_frame(drives: dict[str, Path]) -> None:
    with BagSource(drives["sqlite3"]) as source:
        scans, _ = scan(source, (RGB_TOPIC, IMAGE), [(THERMAL_TOPIC, IMAGE)], max_frames=3)
    plan = make_plan(scans, RGB_TOPIC, thermal_topic=THERMAL_TOPIC, mask_topic=None, slop=0.05, max_frames=3)
    assert plan.frames == [0, 1, 2]
    assert all(p.a < 3 for p in plan.thermal_for.values())
