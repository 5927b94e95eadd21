"""The documents of an evaluation, in one place: its options, per-frame rows, samples, metrics.json and the result.

:mod:`.run` builds them; :mod:`.outputs`, :mod:`.report`, the CLI, the bench and
the tests read them. Nothing edits a document once it is built: the summary
already lists the samples and output files it will be written beside.
:class:`EvalSummary` is metrics.json (:meth:`EvalSummary.to_json` and
:meth:`EvalSummary.from_json`); :class:`FrameRow` is a line of frames.csv.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.bagreader import BagReadError, TopicDoc
from thermal_synth_core.errors import DataError
from thermal_synth_core.eval.panels import frame_strip
from thermal_synth_core.eval.scoring import METRIC_INFO, METRICS, MetricSummary, Stats
from thermal_synth_core.infer.embedded import EMBEDDED_MODEL
from thermal_synth_core.modelfile import JsonValue, SpecJson
from thermal_synth_core.objects import (
    MIN_REAL_CONTRAST,
    SIZE_LIMITS,
    VISIBLE_RATIO,
    ObjectScore,
    ObjectSummary,
    Visibility,
)

__all__ = [
    "CAMERA_VIEW_UNSCORED",
    "CSV_COLUMNS",
    "DATASET_CSV_COLUMNS",
    "FRAMES_FILE",
    "METRICS_FILE",
    "OBJECTS_FILE",
    "OBJECT_COLUMNS",
    "REPORT_FILE",
    "SAMPLES_DIR",
    "SCORED",
    "BagInfo",
    "Counts",
    "DatasetEvalOptions",
    "DatasetInfo",
    "EvalOptions",
    "EvalResult",
    "EvalSummary",
    "FrameRow",
    "MetricSummary",
    "MissedObject",
    "ModelInfo",
    "Normalisation",
    "ObjectRow",
    "ObjectsSection",
    "Outputs",
    "Pairing",
    "Sample",
    "SampleEntry",
    "SideVisibility",
    "Stats",
    "Timing",
    "VisibilityFigures",
    "WriteBagInfo",
    "sample_entries",
]

METRICS_FILE: Final = "metrics.json"
FRAMES_FILE: Final = "frames.csv"
REPORT_FILE: Final = "report.html"
#: One row per annotated object (dataset evaluations of annotated splits only).
OBJECTS_FILE: Final = "objects.csv"
SAMPLES_DIR: Final = "samples"

#: Status of a frame compared with real thermal (any other status says why it was not).
SCORED: Final = "scored"
#: Why a frame in the camera view is not scored (also the summary's note when no frame was in the rig view).
CAMERA_VIEW_UNSCORED: Final = "camera view: real thermal shows the rig's view, not this camera's"

#: Columns of frames.csv, in order (empty cells: not computed for that frame).
CSV_COLUMNS: Final = (
    "frame",
    "t_s",
    "rgb_stamp_ns",
    "thermal_stamp_ns",
    "dt_ms",
    "status",
    *(f"{side}_{m.key}" for m in METRICS for side in ("model", "baseline")),
    "real_warm_contrast",
)
#: Columns of frames.csv of a prepared dataset's split: the pair's id and lighting instead of stamps.
DATASET_CSV_COLUMNS: Final = (
    "frame",
    "id",
    "condition",
    "status",
    *(f"{side}_{m.key}" for m in METRICS for side in ("model", "baseline")),
    "real_warm_contrast",
)
#: Columns of objects.csv: the box (prepared thermal pixels), then contrast and verdict of each frame scored.
OBJECT_COLUMNS: Final = (
    "frame",
    "id",
    "condition",
    "class",
    "x",
    "y",
    "w",
    "h",
    "size",
    "real_contrast",
    "model_contrast",
    "baseline_contrast",
    "real_visible",
    "model_visible",
    "baseline_visible",
)

#: One cell of a frame row.
Cell: TypeAlias = int | float | str | None
#: Metric key -> value (None where not computed).
Scores: TypeAlias = Mapping[str, float | None]


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and where to write it (the ``evaluate`` flags)."""

    bag: Path
    rgb_topic: str
    out: Path
    model: str | Path | None = EMBEDDED_MODEL
    """Model file; ``default`` (or None) for the embedded model. Ignored when a Synthesizer is passed."""
    backend: str = "auto"
    device: str = "auto"
    thermal_topic: str | None = None
    mask_topic: str | None = "auto"
    """``auto`` (use /thermal/warm_mask when present), None (no mask) or a topic."""
    write_bag: Path | None = None
    write_storage: str = "auto"
    max_frames: int | None = None
    slop: float = 0.05
    samples: int = 6
    colormap: str = "ironbow"
    batch: int | None = None
    """Frames per network call (default: the backend's maximum batch)."""
    workers: int | None = None
    """Scoring threads (default: the usable CPU cores left after the network's; 0 scores in the main thread)."""
    network_threads: int | None = None
    """ONNX Runtime threads of the network on the CPU (default: a third of the usable cores, at least 1)."""
    report: bool = True
    show_progress: bool | None = None
    view: str = "auto"
    """Output view (auto, rig, camera); real thermal is compared in the rig view only (the same camera)."""
    camera_hfov_deg: float | None = None
    """The RGB camera's horizontal field of view for the camera view (None: the model's own, warned)."""
    camera_info: Path | None = None
    """The RGB camera's camera_info.yaml (wins over camera_hfov_deg)."""
    output_width: str | int = "working"
    """Camera view output width: working, input, or pixels (written to --write-bag)."""
    alignment: Path | None = None
    """An alignment YAML replacing the model's (another vehicle's rig)."""
    rig_hfov_deg: float | None = None
    """With ``alignment``: that rig's thermal field of view (None: the model's own)."""


@dataclass(frozen=True)
class DatasetEvalOptions:
    """What to evaluate on a prepared dataset and where to write it (``evaluate --dataset``)."""

    dataset: Path
    out: Path
    split: str = "val"
    model: str | Path | None = EMBEDDED_MODEL
    """Model file; ``default`` (or None) for the embedded model. Ignored when a Synthesizer is passed."""
    backend: str = "auto"
    device: str = "auto"
    max_frames: int | None = None
    """Evaluate the first N pairs of the split (all by default)."""
    samples: int = 6
    colormap: str = "ironbow"
    gallery: int = 6
    """Worst-missed people shown in the report."""
    report: bool = True
    show_progress: bool | None = None


# -- per frame ----------------------------------------------------------------------------------------


def _no_scores() -> dict[str, float | None]:
    return dict.fromkeys(METRIC_INFO)


@dataclass(frozen=True)
class FrameRow:
    """One RGB frame read from the bag: its stamps, what became of it, and its scores (a line of frames.csv)."""

    frame: int
    """Index of the RGB frame in the bag's RGB topic."""
    rgb_stamp_ns: int
    thermal_stamp_ns: int | None
    """Header stamp of the real thermal frame it was paired with (None: none)."""
    dt_ms: float | None
    """Real thermal stamp minus RGB stamp."""
    status: str
    """:data:`SCORED`, or why the frame was not scored (``RGB ...`` when it was not synthesized at all)."""
    model: Scores = field(default_factory=_no_scores)
    """Metric key -> the model's value."""
    baseline: Scores = field(default_factory=_no_scores)
    """Metric key -> the grayscale baseline's value."""
    real_warm_contrast: float | None = None
    """The real frame's warm contrast inside the recorded mask (the reference for ``warm_contrast``)."""
    frame_id: str | None = None
    """The pair's id in a prepared dataset (None for bags)."""
    condition: str | None = None
    """``day`` or ``night`` in a prepared dataset (None for bags)."""

    @property
    def scored(self) -> bool:
        """Whether the frame was compared with real thermal."""
        return self.status == SCORED

    @property
    def synthesized(self) -> bool:
        """Whether the network ran on the frame (rejected RGB frames have an ``RGB ...`` status)."""
        return not self.status.startswith("RGB ")

    def columns(self) -> dict[str, Cell]:
        """The row as frames.csv's columns (``model_<metric>``, ``baseline_<metric>``; ``t_s`` aside).

        A prepared dataset's pair also has ``id`` and ``condition``.
        """
        cells: dict[str, Cell] = {
            "frame": self.frame,
            "rgb_stamp_ns": self.rgb_stamp_ns,
            "thermal_stamp_ns": self.thermal_stamp_ns,
            "dt_ms": self.dt_ms,
            "status": self.status,
        }
        for key in METRIC_INFO:
            cells[f"model_{key}"] = self.model.get(key)
            cells[f"baseline_{key}"] = self.baseline.get(key)
        cells["real_warm_contrast"] = self.real_warm_contrast
        if self.frame_id is not None:  # a prepared dataset's pair (its frames.csv has these columns)
            cells["id"], cells["condition"] = self.frame_id, self.condition
        return cells


@dataclass
class Sample:
    """A frame kept for the report and the samples folder; its strip is drawn and encoded only when asked for.

    Most best/worst candidates are pushed out by better (or worse) frames later in
    the drive, so drawing on demand keeps that work off the per-frame path.
    """

    index: int
    role: str
    """``sample`` (spread over the drive), ``best`` or ``worst``."""
    row: FrameRow
    title: str
    images: tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32] | None]
    """RGB view, synthetic and real (AGC-normalised) frames."""
    colormap: str = "ironbow"
    _png: bytes | None = None

    @property
    def filename(self) -> str:
        """File name under ``samples/``."""
        return f"frame_{self.index:06d}.png"

    @property
    def strip(self) -> npt.NDArray[np.uint8]:
        """The labelled strip (BGR): RGB | synthetic | real | |error|."""
        rgb_view, synthetic01, real01 = self.images
        return frame_strip(rgb_view, synthetic01, real01, title=self.title, colormap=self.colormap)

    @property
    def png(self) -> bytes:
        """The strip as PNG bytes (encoded once)."""
        if self._png is None:
            ok, png = cv2.imencode(".png", self.strip, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if not ok:
                raise DataError(f"cannot encode the sample image of frame {self.index}")
            self._png = bytes(png.tobytes())
        return self._png

    # -- metrics.json ------------------------------------------------------------------------------------

    """``warm_contrast`` only: the real frames' own warm contrast."""


class AbsDt(TypedDict):
    """|RGB - real thermal| stamp differences of the scored pairs, in milliseconds."""

    mean: float | None
    max: float | None


@dataclass(frozen=True)
class ModelInfo:
    """The model evaluated."""

    path: str
    sha256: str
    backend: str
    spec: SpecJson
    """The model file's own header (:meth:`ModelSpec.to_dict`)."""


@dataclass(frozen=True)
class BagInfo:
    """The bag read."""

    path: str
    storage: str
    topics: list[TopicDoc]
    messages: int
    start_ns: int
    end_ns: int
    duration_s: float
    rgb_topic: TopicDoc
    thermal_topic: TopicDoc | None
    mask_topic: TopicDoc | None


@dataclass(frozen=True)
class Pairing:
    """How RGB frames were paired with real thermal frames."""

    slop_s: float
    abs_dt_ms: AbsDt
    rule: str = "nearest header stamp within the slop; each real frame scored once (by the RGB frame nearest it)"

    def to_json(self) -> dict[str, JsonValue]:
        """In metrics.json's order (the rule first)."""
        return {
            "rule": self.rule,
            "slop_s": self.slop_s,
            "abs_dt_ms": {"mean": self.abs_dt_ms["mean"], "max": self.abs_dt_ms["max"]},
        }


@dataclass(frozen=True)
class Normalisation:
    """How frames are brought to one scale before they are compared."""

    agc: str
    low_percentile: float
    high_percentile: float
    compared_at: str
    baseline: str


@dataclass(frozen=True)
class Counts:
    """How many frames went where."""

    rgb_frames_in_bag: int
    planned: int
    read: int
    synthesized: int
    scored: int
    paired: int
    unpaired: int
    rgb_rejected: int
    thermal_rejected: int
    mask_rejected: int
    thermal_frames_in_bag: int
    first_rejections: dict[str, str]
    """Kind (rgb, thermal, mask) -> the first reason a frame of that kind was rejected."""


@dataclass(frozen=True)
class Timing:
    """Wall time of the two passes (rounded to milliseconds) and the frame rate of the second."""

    scan_s: float
    evaluate_s: float
    frames_per_s: float | None


@dataclass(frozen=True)
class WriteBagInfo:
    """The bag written with ``--write-bag``."""

    path: str
    storage: str
    topics_added: list[str]
    messages: dict[str, int]
    """Topic -> messages written, sorted by topic."""
    not_copied: list[str]


@dataclass(frozen=True)
class SampleEntry:
    """One file under ``samples/`` and the roles its frame plays (``sample``, ``best``, ``worst``)."""

    file: str
    frame: int
    roles: list[str]


@dataclass(frozen=True)
class Outputs:
    """The files written beside metrics.json (``report`` None without report.html)."""

    metrics: str = METRICS_FILE
    frames: str = FRAMES_FILE
    samples: str = SAMPLES_DIR
    report: str | None = REPORT_FILE


def sample_entries(samples: Sequence[Sample]) -> list[SampleEntry]:
    """One entry per sample file, in the order the samples come, with every role of its frame."""
    roles: dict[int, list[str]] = {}
    for sample in samples:
        roles.setdefault(sample.index, []).append(sample.role)
    return [
        SampleEntry(f"{SAMPLES_DIR}/frame_{index:06d}.png", index, frame_roles) for index, frame_roles in roles.items()
    ]


@dataclass(frozen=True)
class DatasetInfo:
    """The prepared dataset's split evaluated (``evaluate --dataset``)."""

    path: str
    split: str
    format: str
    """The format the dataset was prepared from (manifest ``format``)."""
    pairs: int
    """Aligned pairs in the split."""
    conditions: str
    """Where each frame's ``day``/``night`` comes from, in words."""
    annotations: str | None
    """The split's COCO file read (None: the split has no object annotations)."""


@dataclass(frozen=True)
class VisibilityFigures:
    """Objects of one group a frame shows: ``visible`` of ``judged`` (``rate``); ``unjudged`` had no verdict."""

    judged: int
    visible: int
    unjudged: int
    rate: float | None

    @classmethod
    def of(cls, tally: Visibility) -> VisibilityFigures:
        """The figures of one :class:`~thermal_synth_core.objects.Visibility` tally."""
        return cls(tally.judged, tally.visible, tally.unjudged, tally.rate)


def _figures(group: Mapping[str, Any]) -> dict[str, VisibilityFigures]:  # free-form: parsed JSON
    return {k: VisibilityFigures(**v) for k, v in group.items()}


@dataclass(frozen=True)
class SideVisibility:
    """One side's (model, grayscale baseline or real frame) visibility overall, per class, size and condition."""

    overall: VisibilityFigures
    by_class: dict[str, VisibilityFigures]
    by_size: dict[str, VisibilityFigures]
    by_condition: dict[str, VisibilityFigures]
    by_class_condition: dict[str, dict[str, VisibilityFigures]]

    @classmethod
    def of(cls, summary: ObjectSummary) -> SideVisibility:
        """The figures of an :class:`~thermal_synth_core.objects.ObjectSummary`."""
        return cls(
            VisibilityFigures.of(summary.overall),
            {k: VisibilityFigures.of(v) for k, v in summary.by_class.items()},
            {k: VisibilityFigures.of(v) for k, v in summary.by_size.items()},
            {k: VisibilityFigures.of(v) for k, v in summary.by_condition.items()},
            {c: {k: VisibilityFigures.of(v) for k, v in g.items()} for c, g in summary.by_class_condition.items()},
        )

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SideVisibility:  # free-form: parsed JSON
        """Read the metrics.json entry back."""
        return cls(
            VisibilityFigures(**doc["overall"]),
            _figures(doc["by_class"]),
            _figures(doc["by_size"]),
            _figures(doc["by_condition"]),
            {c: _figures(g) for c, g in doc["by_class_condition"].items()},
        )


#: How an object's visibility is decided, in words (metrics.json and the report).
VISIBILITY_RULE: Final = (
    "box contrast: mean of the box's central half minus mean of a ring around it, on the AGC-normalised frame; "
    f"visible: same sign as the real frame's contrast and at least {VISIBLE_RATIO:g} of its size; objects whose "
    f"real contrast is under {MIN_REAL_CONTRAST:g} get no verdict (unjudged)"
)


@dataclass(frozen=True)
class ObjectsSection:
    """metrics.json's ``objects``: visibility of the annotated objects for the model, grayscale and real frames."""

    file: str
    """objects.csv, beside metrics.json."""
    frames: int
    """Frames evaluated that the annotations cover."""
    objects: int
    model: SideVisibility
    baseline: SideVisibility
    real: SideVisibility
    """The real frame against itself: 1.0 wherever an object is judged (a sanity check)."""
    rule: str = VISIBILITY_RULE
    size_limits_px2: tuple[float, float] = SIZE_LIMITS
    """Box areas (thermal pixels) under which an object is ``small``, then ``medium``; above: ``large``."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ObjectsSection:  # free-form: parsed JSON
        """Read the metrics.json entry back."""
        sides = {k: SideVisibility.from_json(doc[k]) for k in ("model", "baseline", "real")}
        limits = doc["size_limits_px2"]
        return cls(**{**doc, **sides, "size_limits_px2": (float(limits[0]), float(limits[1]))})


@dataclass(frozen=True)
class EvalSummary:
    """metrics.json: the aggregate figures and where they come from."""

    version: str
    created: str
    """UTC, ISO 8601, to the second."""
    complete: bool
    """False when the bag broke part-way (``error`` says where)."""
    error: str | None
    has_metrics: bool
    note: str | None
    """Why no metrics could be computed (None when some were)."""
    model: ModelInfo
    bag: BagInfo | None
    """The bag read (None: a prepared dataset, see ``dataset``)."""
    pairing: Pairing
    normalisation: Normalisation
    counts: Counts
    drive_s: float
    metrics: dict[str, MetricSummary]
    """Metric key -> its summary, for the metrics some frame has."""
    headline: list[str]
    timing: Timing
    write_bag: WriteBagInfo | None
    samples: list[SampleEntry]
    outputs: Outputs
    tool: str = "thermal-synth evaluate"
    dataset: DatasetInfo | None = None
    """The prepared dataset's split evaluated (None: a bag); absent from a bag's metrics.json."""
    objects: ObjectsSection | None = None
    """Visibility of annotated objects (None: no annotations); absent from metrics.json when None."""

    def to_json(self) -> dict[str, JsonValue]:
        """The metrics.json document (keys in the order the file has always had; ``dataset``, ``objects`` last)."""
        doc: dict[str, JsonValue] = asdict(self)
        doc["pairing"] = self.pairing.to_json()
        for key in ("dataset", "objects"):
            if doc[key] is None:
                del doc[key]
        return {"tool": doc.pop("tool"), **doc}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> EvalSummary:  # free-form: a parsed metrics.json
        """Read a :meth:`to_json` document back."""
        write_bag, bag, dataset, objects = doc["write_bag"], doc["bag"], doc.get("dataset"), doc.get("objects")
        return cls(
            **{
                **doc,
                "model": ModelInfo(**doc["model"]),
                "bag": BagInfo(**bag) if bag is not None else None,
                "dataset": DatasetInfo(**dataset) if dataset is not None else None,
                "objects": ObjectsSection.from_json(objects) if objects is not None else None,
                "pairing": Pairing(**doc["pairing"]),
                "normalisation": Normalisation(**doc["normalisation"]),
                "counts": Counts(**doc["counts"]),
                "timing": Timing(**doc["timing"]),
                "write_bag": WriteBagInfo(**write_bag) if write_bag is not None else None,
                "samples": [SampleEntry(**s) for s in doc["samples"]],
                "outputs": Outputs(**doc["outputs"]),
            }
        )


@dataclass(frozen=True)
class ObjectRow:
    """One annotated object of one frame, scored on the model's, the grayscale and the real frame (objects.csv)."""

    frame: int
    model: ObjectScore
    baseline: ObjectScore
    real: ObjectScore
    """The real frame against itself: visible wherever judged."""

    def columns(self) -> dict[str, Cell]:
        """The row as objects.csv's columns (:data:`OBJECT_COLUMNS`); verdicts as 1/0, empty when unjudged."""
        box = self.real.box
        cells: dict[str, Cell] = {
            "frame": self.frame,
            "id": self.real.frame_id,
            "condition": self.real.condition,
            "class": box.category,
            "x": box.x,
            "y": box.y,
            "w": box.w,
            "h": box.h,
            "size": self.real.size,
            "real_contrast": self.real.real_contrast,
        }
        for side, score in (("real", self.real), ("model", self.model), ("baseline", self.baseline)):
            if side != "real":
                cells[f"{side}_contrast"] = score.contrast
            cells[f"{side}_visible"] = None if score.visible is None else int(score.visible)
        return cells


@dataclass(frozen=True)
class MissedObject:
    """A person the real camera shows and the model does not, with its crops (RGB | synthetic | real) as PNG."""

    row: ObjectRow
    png: bytes


# -- the result ----------------------------------------------------------------------------------------


@dataclass
class EvalResult:
    """What an evaluation produced."""

    out: Path
    rows: list[FrameRow]
    summary: EvalSummary
    """The metrics.json document."""
    samples: list[Sample] = field(default_factory=list)
    bag_out: Path | None = None
    error: BagReadError | None = None
    objects: list[ObjectRow] | None = None
    """Per annotated object (a dataset evaluation of an annotated split; None otherwise)."""
    missed: list[MissedObject] = field(default_factory=list)
    """The worst-missed people, worst first, for the report."""

    @property
    def frames(self) -> int:
        """RGB frames synthesized."""
        return self.summary.counts.synthesized

    @property
    def scored(self) -> int:
        """Frames compared with real thermal."""
        return self.summary.counts.scored

    @property
    def aggregate(self) -> dict[str, MetricSummary]:
        """Per-metric statistics (see :func:`.scoring.aggregate`)."""
        return self.summary.metrics
