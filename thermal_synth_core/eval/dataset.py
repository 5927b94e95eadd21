"""``thermal-synth evaluate --dataset``: a model against the real thermal frames of a prepared dataset's split.

The outputs are those of a bag evaluation (:mod:`.run`): metrics.json, frames.csv,
samples/ and report.html, built from the same schema, scoring and report code. A
prepared pair's RGB frame is already warped into the thermal view by ``prepare``,
so the network sees it as training validation does (:class:`~thermal_synth_core.data.datasets.PairedDataset`
items without augmentation), rescaled to the model's input size; the synthetic, the
grayscale baseline and the real frame are compared at the prepared thermal size.

When the split has object annotations (``OUT/<split>/annotations.json``, COCO, boxes
in prepared thermal pixels), every box is scored on the three frames
(:func:`~thermal_synth_core.objects.score_objects`): objects.csv gets one row per
object, metrics.json an ``objects`` section and the report a per-class table,
visibility by size and by day/night, and the worst-missed people. A split without
annotations is evaluated all the same, without those (and without objects.csv).

Day or night per frame: the manifest's tag (datasets from ``prepare --bag``), else the
prepared RGB frame's mean gray level against ``prepare --bag``'s threshold
(:data:`~thermal_synth_core.data.drive.NIGHT_BRIGHTNESS`).
"""

from __future__ import annotations

import datetime
import heapq
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core import __version__, metrics
from thermal_synth_core.agc import AGC_HIGH_PERCENTILE, AGC_LOW_PERCENTILE
from thermal_synth_core.align.transform import scale_matrix
from thermal_synth_core.data.annotations import ANNOTATIONS_NAME, read_annotations
from thermal_synth_core.data.datasets import PairedDataset
from thermal_synth_core.data.drive import NIGHT_BRIGHTNESS, brightness, lighting
from thermal_synth_core.data.layouts import FrameRecord
from thermal_synth_core.data.manifest import Manifest, PairEntry
from thermal_synth_core.errors import DataError
from thermal_synth_core.eval import scoring
from thermal_synth_core.eval.outputs import write_outputs
from thermal_synth_core.eval.panels import crop_strip
from thermal_synth_core.eval.run import EXTREMES, Extremes, open_synthesizer, spread
from thermal_synth_core.eval.schema import (
    OBJECTS_FILE,
    REPORT_FILE,
    SCORED,
    AbsDt,
    Counts,
    DatasetEvalOptions,
    DatasetInfo,
    EvalResult,
    EvalSummary,
    FrameRow,
    MissedObject,
    ModelInfo,
    Normalisation,
    ObjectRow,
    ObjectsSection,
    Outputs,
    Pairing,
    Sample,
    SideVisibility,
    Timing,
    sample_entries,
)
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.imaging import warp_to_blob
from thermal_synth_core.modelfile import file_sha256
from thermal_synth_core.objects import Box, score_objects, summarise
from thermal_synth_core.ui import progress

__all__ = ["PAIRING_RULE", "evaluate_dataset"]

log = logging.getLogger(__name__)

#: metrics.json's pairing rule for a prepared dataset.
PAIRING_RULE: Final = "the prepared dataset's pairs (RGB warped into the thermal view by prepare)"
#: The class whose misses the report's gallery shows.
GALLERY_CLASS: Final = "person"

Images = tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32]]


@dataclass
class _Pair:
    """One prepared pair loaded for the network: RGB in the thermal view, real thermal in [0, 1], the input."""

    index: int
    entry: PairEntry
    rgb: npt.NDArray[np.uint8]
    real: npt.NDArray[np.float32]
    mask: npt.NDArray[np.bool_] | None
    blob: npt.NDArray[np.float32]


def _load(dataset: PairedDataset, index: int, input_size: tuple[int, int]) -> _Pair:
    item = dataset[index]
    rgb = scoring.rgb_from_blob(item["rgb"].numpy())  # exact: the tensor was made from 8-bit RGB
    real = np.asarray((item["thermal"][0].numpy() + 1.0) * 0.5, dtype=np.float32)
    mask = item["mask"][0].numpy() > 0.5 if "mask" in item else None
    size = (rgb.shape[1], rgb.shape[0])
    blob = warp_to_blob(rgb, scale_matrix(size, input_size), input_size)  # a plain rescale, as training loads
    return _Pair(index, dataset.entries[index], rgb, real, mask, blob)


# -- annotations ------------------------------------------------------------------------------------


def _annotations(manifest: Manifest, split: str) -> tuple[dict[str, tuple[Box, ...]] | None, str | None]:
    """Boxes per prepared thermal file stem, and the COCO file; (None, None) when the split has none."""
    path = manifest.root / split / ANNOTATIONS_NAME
    if not path.is_file():
        return None, None
    pairs = manifest.pairs_in(split)
    records = [FrameRecord(split, p.thermal.stem, p.rgb, p.thermal) for p in pairs]
    found = read_annotations(manifest.root, "pairs", records)
    for issue in found.issues:
        log.warning("annotations %s: %s", issue.path, issue.problem)
    if not found.frames:
        log.warning("%s holds no usable object boxes: objects are not scored", path)
        return None, None
    return {fid: objects.boxes for (s, fid), objects in found.frames.items() if s == split}, str(path)


# -- scoring -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    """One frame scored: its row, its objects, and the images its sample and crops are drawn from."""

    row: FrameRow
    objects: list[ObjectRow] | None
    images: Images


def _score(pair: _Pair, thermal: npt.NDArray[np.generic], boxes: Sequence[Box] | None) -> _Scored:
    h, w = pair.real.shape
    synthetic01 = scoring.normalised_at(thermal, (w, h))  # as the node and the bag evaluation score it
    baseline01 = scoring.normalised_at(scoring.baseline_from_blob(pair.blob), (w, h))
    real01 = scoring.normalised(pair.real)
    real_contrast = None
    if pair.mask is not None:
        contrast = metrics.warm_contrast(real01, pair.mask)
        real_contrast = contrast if math.isfinite(contrast) else None
    condition = pair.entry.condition or lighting(brightness(pair.rgb))
    row = FrameRow(
        frame=pair.index,
        rgb_stamp_ns=0,
        thermal_stamp_ns=None,
        dt_ms=None,
        status=SCORED,
        model=scoring.score(synthetic01, real01, pair.mask),
        baseline=scoring.score(baseline01, real01, pair.mask),
        real_warm_contrast=real_contrast,
        frame_id=pair.entry.frame_id,
        condition=condition,
    )
    objects = None
    if boxes is not None:
        frames = (synthetic01, baseline01, real01)
        sides = [score_objects(f, real01, boxes, frame_id=row.frame_id or "", condition=condition) for f in frames]
        objects = [ObjectRow(pair.index, m, b, r) for m, b, r in zip(*sides, strict=True)]
    return _Scored(row, objects, (pair.rgb, synthetic01, real01))


# -- collecting --------------------------------------------------------------------------------------


def _title(row: FrameRow) -> str:
    title = f"frame {row.frame}  {row.frame_id} ({row.condition})"
    model, base = row.model, row.baseline
    if model["warm_iou"] is not None and base["warm_iou"] is not None:
        title += f"   warm IoU {model['warm_iou']:.2f} (gray {base['warm_iou']:.2f})"
    if model["ssim"] is not None and base["ssim"] is not None:
        title += f"   SSIM {model['ssim']:.2f} (gray {base['ssim']:.2f})"
    return title


def _shortfall(obj: ObjectRow) -> float | None:
    """How far the model's contrast falls short of the real one (1 - model / real); None unless it missed."""
    real, model = obj.model.real_contrast, obj.model.contrast
    if obj.model.visible is not False or real is None or model is None:
        return None
    return 1.0 - model / real


@dataclass
class _Collector:
    """Rows, objects, samples and the worst-missed people, gathered frame by frame."""

    options: DatasetEvalOptions
    spread: set[int]
    rows: list[FrameRow] = field(default_factory=list)
    objects: list[ObjectRow] = field(default_factory=list)
    spread_samples: list[Sample] = field(default_factory=list)
    extremes: Extremes = field(default_factory=lambda: Extremes(EXTREMES))
    missed: list[tuple[float, int, MissedObject]] = field(default_factory=list)
    """A min-heap of (shortfall, -order, crop): the ``gallery`` largest shortfalls."""
    misses: int = 0
    annotated: int = 0
    """Frames the annotations cover (with or without objects)."""

    def add(self, scored: _Scored) -> None:
        """Keep one scored frame's row, objects and (when wanted) its sample and crops."""
        row = scored.row
        self.rows.append(row)
        self.annotated += scored.objects is not None
        self.objects.extend(scored.objects or ())
        for obj in scored.objects or ():
            self._miss(obj, scored.images)
        if row.frame in self.spread:
            self.spread_samples.append(self._sample(scored, "sample"))
        value = row.model["warm_iou"]
        if value is not None:
            best, worst = self.extremes.wants(value)
            if best or worst:
                self.extremes.add(
                    value,
                    self._sample(scored, "best") if best else None,
                    self._sample(scored, "worst") if worst else None,
                )

    def _sample(self, scored: _Scored, role: str) -> Sample:
        row = scored.row
        return Sample(row.frame, role, row, _title(row), scored.images, self.options.colormap)

    def _miss(self, obj: ObjectRow, images: Images) -> None:
        shortfall = _shortfall(obj)
        if shortfall is None or obj.real.box.category != GALLERY_CLASS or self.options.gallery <= 0:
            return
        self.misses += 1
        order = -self.misses  # an earlier miss wins a tie
        if len(self.missed) >= self.options.gallery and (shortfall, order) <= self.missed[0][:2]:
            return
        gray = f"{obj.baseline.contrast:.2f}" if obj.baseline.contrast is not None else "-"
        title = f"{obj.real.frame_id} {obj.real.condition}: real {obj.real.real_contrast:.2f}"
        title += f" model {obj.model.contrast:.2f} gray {gray}"
        strip = crop_strip(images, obj.real.box, title=title, colormap=self.options.colormap)
        ok, png = cv2.imencode(".png", strip)
        if not ok:  # pragma: no cover - OpenCV encodes any image it drew
            return
        item = (shortfall, order, MissedObject(obj, bytes(png.tobytes())))
        (heapq.heappush if len(self.missed) < self.options.gallery else heapq.heappushpop)(self.missed, item)

    def samples(self) -> list[Sample]:
        """The spread samples in split order, then the best and the worst frames."""
        return sorted(self.spread_samples, key=lambda s: s.index) + self.extremes.samples()

    def worst_missed(self) -> list[MissedObject]:
        """The worst-missed people, worst first."""
        return [m for _, _, m in sorted(self.missed, key=lambda e: (-e[0], -e[1]))]


# -- the evaluation ---------------------------------------------------------------------------------


def _open(options: DatasetEvalOptions) -> PairedDataset:
    """The split's pairs; DataError (in the user's terms) for a folder that is not a prepared dataset."""
    root = Path(options.dataset)
    if not root.is_dir():
        raise DataError(f"--dataset {root}: no such folder (point at a folder written by 'thermal-synth prepare')")
    return PairedDataset(root, options.split, flip=False, random_crop=False)


def evaluate_dataset(options: DatasetEvalOptions, synthesizer: Synthesizer | None = None) -> EvalResult:
    """Evaluate a model on a prepared dataset's split and write the outputs to ``options.out``.

    ``synthesizer`` defaults to ``options.model`` on ``options.backend``. Raises
    :class:`~thermal_synth_core.errors.DataError` for a folder that is not a prepared
    dataset, a split it does not have, or a split without aligned pairs.
    """
    started = time.monotonic()
    dataset = _open(options)  # checked before the model loads
    boxes, annotations = _annotations(dataset.manifest, options.split)
    synth = synthesizer or open_synthesizer(options.model, options.backend, options.device)
    n = len(dataset) if options.max_frames is None else min(len(dataset), options.max_frames)
    collector = _Collector(options, spread(list(range(n)), options.samples))
    step = max(1, synth.backend.max_batch)
    hide = None if options.show_progress is None else not options.show_progress
    for start in progress(range(0, n, step), desc="evaluate", unit="batch", disable=hide):
        pairs = [_load(dataset, i, synth.input_size) for i in range(start, min(n, start + step))]
        _check(pairs[0], synth, options)
        out = synth.backend.run(np.concatenate([p.blob for p in pairs]))
        for pair, net_out in zip(pairs, out, strict=True):
            frame_boxes = boxes.get(pair.entry.thermal.stem) if boxes is not None else None
            collector.add(_score(pair, synth.postprocess(net_out), frame_boxes))
    evaluate_s = time.monotonic() - started
    result = _result(options, dataset, synth, collector=collector, annotations=annotations, evaluate_s=evaluate_s)
    write_outputs(result, options)
    return result


def _check(pair: _Pair, synth: Synthesizer, options: DatasetEvalOptions) -> None:
    h, w = pair.real.shape
    scoring.check_view((w, h), synth.output_size, f"{options.dataset} ({options.split})")


def _result(
    options: DatasetEvalOptions,
    dataset: PairedDataset,
    synth: Synthesizer,
    *,
    collector: _Collector,
    annotations: str | None,
    evaluate_s: float,
) -> EvalResult:
    rows, samples = collector.rows, collector.samples()
    objects = collector.objects if annotations is not None else None
    summary = EvalSummary(
        version=__version__,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        complete=True,
        error=None,
        has_metrics=bool(rows),
        note=None,
        model=ModelInfo(
            path=str(synth.model_path),
            sha256=file_sha256(synth.model_path),
            backend=synth.backend.describe(),
            spec=synth.spec.to_dict(),
        ),
        bag=None,
        pairing=Pairing(slop_s=0.0, abs_dt_ms=AbsDt(mean=None, max=None), rule=PAIRING_RULE),
        normalisation=_normalisation(),
        counts=_counts(len(dataset), len(rows)),
        drive_s=0.0,
        metrics=scoring.aggregate([r.columns() for r in rows]),
        headline=list(scoring.HEADLINE),
        timing=Timing(
            scan_s=0.0, evaluate_s=round(evaluate_s, 3), frames_per_s=len(rows) / evaluate_s if evaluate_s > 0 else None
        ),
        write_bag=None,
        samples=sample_entries(samples),
        outputs=Outputs(report=REPORT_FILE if options.report else None),
        dataset=_dataset_info(options, dataset, annotations),
        objects=_objects_section(collector.annotated, objects) if objects is not None else None,
    )
    return EvalResult(options.out, rows, summary, samples, objects=objects, missed=collector.worst_missed())


def _normalisation() -> Normalisation:
    return Normalisation(
        agc="thermal_synth_core.agc.agc_normalize on synthetic, real and baseline",
        low_percentile=AGC_LOW_PERCENTILE,
        high_percentile=AGC_HIGH_PERCENTILE,
        compared_at="the prepared thermal frame's resolution",
        baseline="8-bit luminance (OpenCV RGB2GRAY) of the network input: the prepared RGB frame (already in the "
        "thermal view) at the model's input size",
    )


def _counts(pairs: int, evaluated: int) -> Counts:
    return Counts(
        rgb_frames_in_bag=pairs,
        planned=evaluated,
        read=evaluated,
        synthesized=evaluated,
        scored=evaluated,
        paired=evaluated,
        unpaired=0,
        rgb_rejected=0,
        thermal_rejected=0,
        mask_rejected=0,
        thermal_frames_in_bag=pairs,
        first_rejections={},
    )


def _dataset_info(options: DatasetEvalOptions, dataset: PairedDataset, annotations: str | None) -> DatasetInfo:
    tagged = sum(1 for e in dataset.entries if e.condition is not None)
    by_brightness = f"the prepared RGB frame's mean gray level (night under {NIGHT_BRIGHTNESS:g}, as prepare --bag)"
    if tagged == len(dataset.entries):
        conditions = "the manifest's day/night tags"
    elif tagged:
        conditions = f"the manifest's day/night tags where present, else {by_brightness}"
    else:
        conditions = by_brightness
    return DatasetInfo(
        path=str(dataset.manifest.root),
        split=options.split,
        format=dataset.manifest.format,
        pairs=len(dataset),
        conditions=conditions,
        annotations=annotations,
    )


def _objects_section(frames: int, objects: Sequence[ObjectRow]) -> ObjectsSection:
    return ObjectsSection(
        file=OBJECTS_FILE,
        frames=frames,
        objects=len(objects),
        model=SideVisibility.of(summarise(o.model for o in objects)),
        baseline=SideVisibility.of(summarise(o.baseline for o in objects)),
        real=SideVisibility.of(summarise(o.real for o in objects)),
    )
