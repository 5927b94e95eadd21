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

__all__ = [
    "CAMERA_VIEW_UNSCORED",
    "CSV_COLUMNS",
    "FRAMES_FILE",
    "METRICS_FILE",
    "REPORT_FILE",
    "SAMPLES_DIR",
    "SCORED",
    "BagInfo",
    "Counts",
    "EvalOptions",
    "EvalResult",
    "EvalSummary",
    "FrameRow",
    "MetricSummary",
    "ModelInfo",
    "Normalisation",
    "Outputs",
    "Pairing",
    "Sample",
    "SampleEntry",
    "Stats",
    "Timing",
    "WriteBagInfo",
    "sample_entries",
]

METRICS_FILE: Final = "metrics.json"
FRAMES_FILE: Final = "frames.csv"
REPORT_FILE: Final = "report.html"
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

    @property
    def scored(self) -> bool:
        """Whether the frame was compared with real thermal."""
        return self.status == SCORED

    @property
    def synthesized(self) -> bool:
        """Whether the network ran on the frame (rejected RGB frames have an ``RGB ...`` status)."""
        return not self.status.startswith("RGB ")

    def columns(self) -> dict[str, Cell]:
        """The row as frames.csv's columns (``model_<metric>``, ``baseline_<metric>``; ``t_s`` aside)."""
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
    bag: BagInfo
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

    def to_json(self) -> dict[str, JsonValue]:
        """The metrics.json document (keys in the order the file has always had)."""
        doc: dict[str, JsonValue] = asdict(self)
        doc["pairing"] = self.pairing.to_json()
        return {"tool": doc.pop("tool"), **doc}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> EvalSummary:  # free-form: a parsed metrics.json
        """Read a :meth:`to_json` document back."""
        write_bag = doc["write_bag"]
        return cls(
            **{
                **doc,
                "model": ModelInfo(**doc["model"]),
                "bag": BagInfo(**doc["bag"]),
                "pairing": Pairing(**doc["pairing"]),
                "normalisation": Normalisation(**doc["normalisation"]),
                "counts": Counts(**doc["counts"]),
                "timing": Timing(**doc["timing"]),
                "write_bag": WriteBagInfo(**write_bag) if write_bag is not None else None,
                "samples": [SampleEntry(**s) for s in doc["samples"]],
                "outputs": Outputs(**doc["outputs"]),
            }
        )


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
