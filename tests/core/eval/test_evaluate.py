"""thermal-synth evaluate on synthetic drives in both rosbag2 storages: pairing, metrics, outputs, --write-bag."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.core.eval.conftest import (
    COMPRESSED_TOPIC,
    FRAMES,
    MASK_TOPIC,
    RGB_TOPIC,
    THERMAL_SIZE,
    THERMAL_TOPIC,
)
from thermal_synth_core import imagemsg, metrics
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.cli import main
from thermal_synth_core.eval import COLOR_TOPIC, EvalOptions, EvalResult, EvalSummary, evaluate
from thermal_synth_core.eval import THERMAL_TOPIC as SYNTH_TOPIC
from thermal_synth_core.eval.outputs import CSV_COLUMNS
from thermal_synth_core.eval.scoring import baseline_from_blob
from thermal_synth_core.eval.writebag import INFO_TOPIC
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.modelfile import file_sha256
from thermal_synth_core.sync import pair_nearest

STORAGES = ["sqlite3", "mcap"]


@dataclass
class Run:
    """One evaluation of a drive (shared by the tests of this module)."""

    bag: Path
    out: Path
    bag_out: Path
    result: EvalResult
    synth: Synthesizer


def _read_topic(bag: Path, topic: str) -> list[tuple[int, Any]]:
    """(log time, message) of every message on ``topic``, deserialised with rosbags directly."""
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        return [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages(connections=conns)]


@pytest.fixture(scope="module", params=STORAGES)
def run(request: pytest.FixtureRequest, drives: dict[str, Path], model_file: Path, tmp_path_factory: Any) -> Run:
    storage = request.param
    root = tmp_path_factory.mktemp(f"eval-{storage}")
    synth = Synthesizer(model_file, backend="torch")
    options = EvalOptions(
        bag=drives[storage],
        rgb_topic=RGB_TOPIC if storage == "sqlite3" else COMPRESSED_TOPIC,
        thermal_topic=THERMAL_TOPIC,
        out=root / "out",
        write_bag=root / "with_synth",
        samples=3,
        batch=4,
    )
    result = evaluate(options, synth)
    return Run(drives[storage], root / "out", root / "with_synth", result, synth)


def test_frames_are_paired_by_header_stamp_within_the_slop(run: Run) -> None:
    rgb = [imagemsg.stamp_ns(m.header) for _, m in _read_topic(run.bag, RGB_TOPIC)]
    thermal = [imagemsg.stamp_ns(m.header) for _, m in _read_topic(run.bag, THERMAL_TOPIC)]
    expected = {p.a: p for p in pair_nearest(rgb, thermal, 0.05, unique=True)}
    counts = run.result.summary.counts
    assert counts.read == counts.synthesized == FRAMES
    assert counts.thermal_frames_in_bag == len(thermal) != len(rgb)  # the cameras run at other rates
    assert 0 < counts.scored == len(expected) < FRAMES
    for row in run.result.rows:
        assert row.rgb_stamp_ns == rgb[row.frame]
        pair = expected.get(row.frame)
        if pair is None:
            assert row.status == "no real thermal frame within 0.05 s"
            assert row.model["l1"] is None
        else:
            assert row.status == "scored"
            assert row.thermal_stamp_ns == thermal[pair.b]
            assert row.dt_ms is not None and abs(row.dt_ms) <= 50.0


def test_metrics_are_finite_and_match_a_direct_synthesizer_run(run: Run) -> None:
    scored = [r for r in run.result.rows if r.scored]
    for row in scored:
        for side in (row.model, row.baseline):
            for key in ("l1", "psnr", "ssim", "warm_iou", "warm_contrast"):
                value = side[key]
                assert value is not None and math.isfinite(value), (key, row)
        assert row.real_warm_contrast is not None and math.isfinite(row.real_warm_contrast)
    rgb_msgs = dict(enumerate(m for _, m in _read_topic(run.bag, RGB_TOPIC)))
    thermal_msgs = {imagemsg.stamp_ns(m.header): m for _, m in _read_topic(run.bag, THERMAL_TOPIC)}
    masks = {imagemsg.stamp_ns(m.header): m for _, m in _read_topic(run.bag, MASK_TOPIC)}
    for row in scored[:: max(1, len(scored) // 3)]:
        assert row.thermal_stamp_ns is not None
        rgb = imagemsg.to_rgb8(rgb_msgs[row.frame])
        real = imagemsg.to_mono(thermal_msgs[row.thermal_stamp_ns])
        mask = imagemsg.to_mono(masks[row.thermal_stamp_ns]) > 0
        synthetic = cv2.resize(run.synth(rgb), THERMAL_SIZE, interpolation=cv2.INTER_AREA)
        real01, syn01 = agc_normalize(real), agc_normalize(synthetic)
        tolerance = 0.02 if run.bag.name.startswith("drive-mcap") else 1e-3  # the mcap run reads the JPEG topic
        assert row.model["l1"] == pytest.approx(metrics.l1(syn01, real01), abs=tolerance)
        assert row.model["ssim"] == pytest.approx(metrics.ssim(syn01, real01), abs=3 * tolerance)
        assert row.model["warm_iou"] == pytest.approx(metrics.warm_region_iou(syn01, real01), abs=3 * tolerance)
        assert row.model["warm_contrast"] == pytest.approx(metrics.warm_contrast(syn01, mask), abs=tolerance)
        gray = cv2.resize(baseline_from_blob(run.synth.preprocess(rgb)), THERMAL_SIZE, interpolation=cv2.INTER_LINEAR)
        base01 = agc_normalize(gray)
        assert row.baseline["l1"] == pytest.approx(metrics.l1(base01, real01), abs=tolerance)
        assert row.baseline["warm_iou"] == pytest.approx(metrics.warm_region_iou(base01, real01), abs=3 * tolerance)


def test_aggregate_and_provenance_in_metrics_json(run: Run, model_file: Path) -> None:
    doc = json.loads((run.out / "metrics.json").read_text())
    assert doc["complete"] is True and doc["has_metrics"] is True and doc["note"] is None
    assert doc["model"]["sha256"] == file_sha256(model_file)
    assert doc["model"]["spec"]["arch"] == "fast_unet"
    assert doc["model"]["spec"]["alignment"]["rgb_size"] == [1800, 1600]
    bag = doc["bag"]
    assert bag["storage"] == run.bag.name.split("-")[1]
    assert {t["name"] for t in bag["topics"]} == {RGB_TOPIC, COMPRESSED_TOPIC, THERMAL_TOPIC, MASK_TOPIC}
    assert bag["mask_topic"]["name"] == MASK_TOPIC  # auto-detected
    assert 1.0 < bag["duration_s"] < 1.3
    scored = [r for r in run.result.rows if r.scored]
    for key in ("l1", "psnr", "ssim", "warm_iou", "warm_contrast"):
        entry = doc["metrics"][key]
        assert entry["model"]["mean"] == pytest.approx(float(np.mean([r.model[key] for r in scored])))
        assert entry["baseline"]["n"] == len(scored)
        assert entry["winner"] in ("model", "baseline")
    assert doc["metrics"]["warm_contrast"]["real"]["mean"] > 0.2  # the masks mark warm things in the real frames
    with (run.out / "frames.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(CSV_COLUMNS)
    assert len(table) == FRAMES
    assert float(table[0]["t_s"]) == 0.0


def test_metrics_json_reads_back_into_the_summary_it_was_written_from(run: Run) -> None:
    text = (run.out / "metrics.json").read_text()
    summary = EvalSummary.from_json(json.loads(text))
    assert summary == run.result.summary
    assert json.dumps(summary.to_json(), indent=2) + "\n" == text  # same keys, order and values


def test_summary_lists_each_sample_file_once_with_every_role_of_its_frame(run: Run) -> None:
    roles: dict[int, list[str]] = {}
    for sample in run.result.samples:
        roles.setdefault(sample.index, []).append(sample.role)
    assert {"sample", "best", "worst"} <= {s.role for s in run.result.samples}
    entries = run.result.summary.samples
    assert [(e.frame, e.roles) for e in entries] == list(roles.items())
    assert [e.file for e in entries] == [f"samples/frame_{e.frame:06d}.png" for e in entries]
    assert {e.file for e in entries} == {f"samples/{p.name}" for p in (run.out / "samples").iterdir()}


def test_frame_rows_have_the_csv_columns(run: Run) -> None:
    for row in run.result.rows:
        assert [c for c in CSV_COLUMNS if c != "t_s"] == list(row.columns())


def test_write_bag_has_the_input_topics_plus_synthetic_ones_with_the_rgb_stamps(run: Run) -> None:
    from rosbags.highlevel import AnyReader

    assert not list(run.bag_out.parent.glob(".with_synth.partial-*")), "the temporary folder is gone"
    with AnyReader([run.bag_out]) as reader:
        counts = {name: info.msgcount for name, info in reader.topics.items()}
        log_times = [t for _, t, _ in reader.messages()]
    assert run.result.summary.bag is not None
    source = {t["name"]: t["count"] for t in run.result.summary.bag.topics}
    assert counts == {**source, SYNTH_TOPIC: FRAMES, INFO_TOPIC: FRAMES, COLOR_TOPIC: FRAMES}
    assert log_times == sorted(log_times)
    rgb = _read_topic(run.bag, RGB_TOPIC)
    synthetic = _read_topic(run.bag_out, SYNTH_TOPIC)
    color = _read_topic(run.bag_out, COLOR_TOPIC)
    assert [imagemsg.stamp_ns(m.header) for _, m in synthetic] == [imagemsg.stamp_ns(m.header) for _, m in rgb]
    assert [t for t, _ in synthetic] == [t for t, _ in rgb]  # recorded at the RGB frame's time
    assert [imagemsg.stamp_ns(m.header) for _, m in color] == [imagemsg.stamp_ns(m.header) for _, m in rgb]
    first = synthetic[0][1]
    assert (first.encoding, first.width, first.height) == ("mono8", 640, 512)
    assert {m.header.frame_id for _, m in synthetic} == {"thermal_camera"}  # the real thermal camera's frame
    assert (color[0][1].encoding, color[0][1].step) == ("bgr8", 640 * 3)
    infos = _read_topic(run.bag_out, INFO_TOPIC)

    def key(m: Any) -> tuple[int, str, int, int]:
        return (imagemsg.stamp_ns(m.header), m.header.frame_id, m.width, m.height)

    assert [key(i) for _, i in infos] == [key(m) for _, m in synthetic]
    assert CameraModel.from_msg(infos[0][1]).hfov_deg == pytest.approx(run.synth.spec.fov.hfov_deg, abs=0.1)
    direct = run.synth(imagemsg.to_rgb8(rgb[0][1]))
    got = imagemsg.to_mono(first).astype(int)
    limit = 40 if run.bag.name.startswith("drive-mcap") else 1  # JPEG input vs. raw input
    assert np.abs(got - direct.astype(int)).mean() <= limit


def test_report_is_self_contained_with_its_images_and_tables(run: Run) -> None:
    html = (run.out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<table>" in html and "model mean" in html and "grayscale mean" in html
    for label in ("warm-region IoU", "SSIM", "L1", "PSNR", "warm contrast"):
        assert label in html
    assert "✔ model" in html or "✔ grayscale" in html
    assert html.count("data:image/png;base64,") >= 3  # over time, histograms, warm contrast
    assert html.count("data:image/jpeg;base64,") >= 3 + 2  # samples, best and worst frames
    assert "Best frames" in html and "Worst frames" in html and "What the metrics mean" in html
    assert 'src="http' not in html and "<script" not in html
    samples = sorted((run.out / "samples").glob("frame_*.png"))
    assert len(samples) >= 3
    strip = cv2.imread(str(samples[0]))
    assert strip is not None and strip.shape[1] > 3 * strip.shape[0]  # RGB | synthetic | real | error
    listed = {s.file for s in run.result.summary.samples}
    assert listed == {f"samples/{p.name}" for p in samples}


def test_without_real_thermal_it_writes_samples_and_the_synthetic_topics(
    drives: dict[str, Path], model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rosbags.highlevel import AnyReader

    argv = [
        *("evaluate", "--bag", str(drives["sqlite3"]), "--model", str(model_file), "--backend", "torch"),
        *("--rgb-topic", "camera/rgb/image_raw", "--out", str(tmp_path / "out")),
        *("--write-bag", str(tmp_path / "synth.mcap"), "--write-storage", "mcap", "--max-frames", "5"),
        *("--mask-topic", "none", "--samples", "2"),
    ]
    assert main(argv) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("evaluate: 5 frames synthesized; no metrics could be computed: no real thermal topic")
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["has_metrics"] is False and doc["metrics"] == {}
    assert doc["counts"]["synthesized"] == 5
    assert len(list((tmp_path / "out" / "samples").glob("*.png"))) == 2
    html = (tmp_path / "out" / "report.html").read_text()
    assert "No metrics could be computed" in html
    with AnyReader([tmp_path / "synth.mcap"]) as reader:
        assert reader.topics[SYNTH_TOPIC].msgcount == 5
        assert reader.topics[COLOR_TOPIC].msgcount == 5
    assert next((tmp_path / "synth.mcap").glob("*.mcap")).suffix == ".mcap"


def test_cli_summary_line_names_the_headline_metrics(
    drives: dict[str, Path], model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        *("evaluate", "--bag", str(drives["mcap"]), "--model", str(model_file)),
        *("--rgb-topic", RGB_TOPIC, "--thermal-topic", THERMAL_TOPIC, "--out", str(tmp_path / "o")),
        *("--max-frames", "4", "--samples", "1"),
    ]
    assert main(argv) == 0  # backend auto: ONNX Runtime on the CPU
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("evaluate: 4 frames, "), line
    assert "warm-region IoU model " in line and " vs grayscale " in line and "SSIM model " in line
    assert line.endswith(f"-> {tmp_path / 'o' / 'report.html'}")
    doc = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert doc["model"]["backend"].startswith("onnxruntime")
    assert doc["counts"]["planned"] == 4


def test_camera_view_is_synthesised_and_written_but_not_scored_against_the_rigs_thermal(
    drives: dict[str, Path], model_file: Path, tmp_path: Path
) -> None:
    options = EvalOptions(
        bag=drives["sqlite3"],
        rgb_topic=RGB_TOPIC,
        thermal_topic=THERMAL_TOPIC,
        out=tmp_path / "out",
        write_bag=tmp_path / "bag",
        samples=1,
        model=model_file,
        backend="torch",
        view="camera",
        camera_hfov_deg=60.0,
        output_width="input",
    )
    result = evaluate(options)
    assert result.frames == FRAMES and result.scored == 0
    assert not result.summary.has_metrics
    rows = list(csv.DictReader((tmp_path / "out" / "frames.csv").open()))
    assert {r["status"] for r in rows} == {"camera view: real thermal shows the rig's view, not this camera's"}
    rgb = _read_topic(drives["sqlite3"], RGB_TOPIC)[0][1]
    images = _read_topic(tmp_path / "bag", SYNTH_TOPIC)
    infos = _read_topic(tmp_path / "bag", INFO_TOPIC)
    assert len(images) == len(infos) == FRAMES
    first, info = images[0][1], infos[0][1]
    assert (first.width, first.height) == (info.width, info.height) == (rgb.width, rgb.height)  # --output-width input
    assert first.header.frame_id == info.header.frame_id == rgb.header.frame_id  # the RGB camera's view and frame
    assert CameraModel.from_msg(info).hfov_deg == pytest.approx(60.0, abs=0.1)
