"""Files an evaluation writes to ``--out``: metrics.json, frames.csv, samples/*.png, report.html (and objects.csv).

Each is written atomically (a reader sees the previous file or the whole new
one). Sample strips of an earlier run in the same folder are removed first, so
the folder never mixes two runs' samples. The documents come whole from
:mod:`.schema` (the summary already lists the samples and files): this module
only writes them. objects.csv is written for a prepared dataset's annotated split
only (a stale one of an earlier run is removed otherwise).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from thermal_synth_core.eval.report import render_report
from thermal_synth_core.eval.schema import (
    CSV_COLUMNS,
    DATASET_CSV_COLUMNS,
    FRAMES_FILE,
    METRICS_FILE,
    OBJECT_COLUMNS,
    OBJECTS_FILE,
    REPORT_FILE,
    SAMPLES_DIR,
    Cell,
    DatasetEvalOptions,
    EvalOptions,
    EvalResult,
    FrameRow,
    ObjectRow,
)
from thermal_synth_core.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = [
    "CSV_COLUMNS",
    "FRAMES_FILE",
    "METRICS_FILE",
    "OBJECTS_FILE",
    "REPORT_FILE",
    "SAMPLES_DIR",
    "frames_csv",
    "objects_csv",
    "write_outputs",
]


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


def frames_csv(rows: Sequence[FrameRow], columns: Sequence[str] = CSV_COLUMNS) -> str:
    """frames.csv as text: one row per RGB frame read, times relative to the first frame."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    t0 = rows[0].rgb_stamp_ns if rows else 0
    for row in rows:
        cells = {**row.columns(), "t_s": (row.rgb_stamp_ns - t0) / 1e9}
        writer.writerow([_cell(cells[c]) for c in columns])
    return buf.getvalue()


def objects_csv(rows: Sequence[ObjectRow]) -> str:
    """objects.csv as text: one row per annotated object of the frames evaluated (:data:`OBJECT_COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OBJECT_COLUMNS)
    for row in rows:
        cells = row.columns()
        writer.writerow([_cell(cells[c]) for c in OBJECT_COLUMNS])
    return buf.getvalue()


def write_outputs(result: EvalResult, options: EvalOptions | DatasetEvalOptions) -> None:
    """Write every output file of ``result`` to ``options.out``."""
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    samples_dir = out / SAMPLES_DIR
    samples_dir.mkdir(exist_ok=True)
    for old in samples_dir.glob("frame_*.png"):
        old.unlink()
    written: set[str] = set()
    for sample in result.samples:  # a frame that is both a sample and the best is one file
        if sample.filename not in written:
            atomic_write_bytes(samples_dir / sample.filename, sample.png)
            written.add(sample.filename)
    columns = CSV_COLUMNS if result.summary.dataset is None else DATASET_CSV_COLUMNS
    atomic_write_text(out / FRAMES_FILE, frames_csv(result.rows, columns))
    if result.objects is not None:
        atomic_write_text(out / OBJECTS_FILE, objects_csv(result.objects))
    else:
        (out / OBJECTS_FILE).unlink(missing_ok=True)  # not an earlier run's beside this one's metrics
    if options.report:
        atomic_write_text(out / REPORT_FILE, render_report(result))
    atomic_write_json(out / METRICS_FILE, result.summary.to_json())
