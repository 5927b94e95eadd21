"""The node's live L1/SSIM in ``/diagnostics`` and ``evaluate``'s metrics.json agree on the same replayed bag.

Both score with the same functions at the same resolution
(:func:`thermal_synth_core.metrics.normalised_at` puts the synthetic frame on the
real frame's grid, :func:`thermal_synth_core.metrics.l1_ssim` scores it). The
model's output (640x512) is twice the real thermal frames (320x256): the case
where the node used to enlarge the real frame to the synthetic one while
evaluate shrinks the synthetic frame to the real one, so they disagreed. The bag holds a few RGB frames, each logged
after its nearest real thermal frame, so the live node has its pair in hand
when it synthesises, as evaluate pairs them from the whole bag.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rosbags.rosbag2 import Writer
from rosbags.typesys import get_typestore

from tests.core.models.factory import make_model
from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, diagnostics_values, running_node, wait_for
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.bagreader import FALLBACK_STORE, BagSource
from thermal_synth_core.data.synth import BAG_TOPICS, GROUND_TRUTH_FILE, SynthOptions, generate
from thermal_synth_core.eval import EvalOptions, evaluate
from thermal_synth_ros import node as node_module
from thermal_synth_ros.diagnostics import DiagKey
from thermal_synth_ros.replay import replay

pytestmark = pytest.mark.ros

RGB, THERMAL = BAG_TOPICS["rgb"], BAG_TOPICS["thermal"]
#: How many RGB frames of the drive are replayed (each with its nearest real thermal frame).
PAIRS = 3
MARKER_STAMP_NS = 1


def _paired_bag(drive: Path, out: Path) -> Path:
    """``PAIRS`` RGB frames of ``drive``, each logged 0.3 s after its nearest real thermal frame, 0.8 s apart.

    Frames whose nearest thermal frame is within 40 ms are taken, every other one, so the pairs are
    unambiguous for both the node (``sync_slop`` 0.06 s) and evaluate.
    """
    store = get_typestore(FALLBACK_STORE)
    with BagSource(drive) as source:
        records = {topic: list(source.records([topic])) for topic in (RGB, THERMAL)}
        stamps = {topic: [source.header_stamp_ns(r) for r in recs] for topic, recs in records.items()}
    with Writer(out, version=9) as writer:
        conns = {t: writer.add_connection(t, "sensor_msgs/msg/Image", typestore=store) for t in (RGB, THERMAL)}
        log = stamps[RGB][0]
        close = []
        for i, rgb_stamp in enumerate(stamps[RGB]):
            j = min(range(len(stamps[THERMAL])), key=lambda k: abs(stamps[THERMAL][k] - rgb_stamp))
            if abs(stamps[THERMAL][j] - rgb_stamp) < 40_000_000:
                close.append((i, j))
        picked = close[::2][:PAIRS]
        assert len(picked) == PAIRS, close
        for i, j in picked:
            writer.write(conns[THERMAL], log, records[THERMAL][j].raw)
            writer.write(conns[RGB], log + 300_000_000, records[RGB][i].raw)
            log += 800_000_000
    return out


def _evaluate(bag: Path, model: Path, out: Path) -> dict[str, Any]:
    options = EvalOptions(
        bag=bag, rgb_topic=RGB, out=out, model=model, backend="torch", thermal_topic=THERMAL, mask_topic=None
    )
    evaluate(options)
    doc: dict[str, Any] = json.loads((out / "metrics.json").read_text())  # free-form: the file as written
    return doc


def _node_metrics(bag: Path, model: Path, ros_domain_id: int, probe: Any, replay_context: Any) -> dict[str, str]:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    remaps = ["--ros-args", "-r", f"rgb/image:={RGB}", "-r", f"real_thermal/image:={THERMAL}"]
    params = {
        "model_path": str(model),
        "backend": "torch",
        "sync_slop": 0.06,
        "diagnostics_period": 0.1,
        "input_qos.reliability": "reliable",
        "input_qos.depth": 10,
    }
    with running_node(ros_domain_id, None, params, cli_args=remaps):
        synthetic = Collector(probe, Image, "thermal/image")
        diag = Collector(probe, DiagnosticArray, "/diagnostics", depth=500)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        publishers = {topic: probe.create_publisher(Image, topic, qos) for topic in (RGB, THERMAL)}
        # A marker frame until its synthetic frame comes back: the path is up before the bag plays.
        marker = Image(height=400, width=450, encoding="rgb8", step=450 * 3, data=bytes(450 * 400 * 3))
        marker.header.stamp.nanosec = MARKER_STAMP_NS
        publish_until(publishers[RGB], marker, synthetic.snapshot, timeout=60)
        done: dict[str, Any] = {}

        def run() -> None:
            try:
                done["result"] = replay(
                    bag, context=replay_context, delay=30.0, topics=list(publishers), publishers=publishers
                )
            except BaseException as exc:
                done["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=90)
        assert "error" not in done, done.get("error")

        def all_scored() -> dict[str, str] | None:
            for msg in reversed(diag.snapshot()):
                values = diagnostics_values(msg)
                if int(values.get(DiagKey.PAIRED, 0)) >= PAIRS and DiagKey.SSIM in values:
                    return values
            return None

        values: dict[str, str] = wait_for(all_scored, 20, "every replayed frame paired and scored")
        return values


def test_node_diagnostics_and_evaluate_agree_on_a_replayed_bag(
    tmp_path: Path, ros_domain_id: int, probe: Any, ros_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive = tmp_path / "drive"
    generate(drive, SynthOptions(layout="bag", n=8, seed=3, rgb_size=(450, 400), thermal_size=(320, 256)))
    bag = _paired_bag(drive, tmp_path / "paired")
    model = make_model(
        tmp_path / "model.safetensors",
        input_size=(160, 128),
        output_size=(640, 512),  # twice the real frames: evaluate shrinks the synthetic frame to the real one
        alignment=Alignment.load(drive / GROUND_TRUTH_FILE),
    )[0]

    summary = _evaluate(bag, model, tmp_path / "eval")
    assert summary["counts"]["scored"] == PAIRS

    monkeypatch.setattr(node_module, "METRICS_PERIOD_S", 0.0)  # score every paired frame, not one a second
    values = _node_metrics(bag, model, ros_domain_id, probe, ros_context)
    assert int(values[DiagKey.PAIRED]) == PAIRS

    # /diagnostics shows 4 decimals of the mean over the frames; evaluate's mean over the same frames.
    assert float(values[DiagKey.L1]) == pytest.approx(summary["metrics"]["l1"]["model"]["mean"], abs=2e-4)
    assert float(values[DiagKey.SSIM]) == pytest.approx(summary["metrics"]["ssim"]["model"]["mean"], abs=2e-4)
