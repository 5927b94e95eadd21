"""Files an evaluation writes to ``--out``: metrics.json, frames.csv, samples/*.png and report.html.

Each is written atomically (a reader sees the previous file or the whole new
one). Sample strips of an earlier run in the same folder are removed first, so
the folder never mixes two runs' samples.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from thermal_synth_core.eval.scoring import METRICS
from thermal_synth_core.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from thermal_synth_core.eval.run import EvalOptions, EvalResult

__all__ = ["CSV_COLUMNS", "METRICS_FILE", "REPORT_FILE", "SAMPLES_DIR", "write_outputs"]

METRICS_FILE: Final = "metrics.json"
FRAMES_FILE: Final = "frames.csv"
REPORT_FILE: Final = "report.html"
SAMPLES_DIR: Final = "samples"

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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


def frames_csv(rows: list[dict[str, Any]]) -> str:
    """frames.csv as text: one row per RGB frame read, times relative to the first frame."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    t0 = rows[0]["rgb_stamp_ns"] if rows else 0
    for row in rows:
        values = {**row, "t_s": (row["rgb_stamp_ns"] - t0) / 1e9}
        writer.writerow([_cell(values.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def write_outputs(result: EvalResult, options: EvalOptions) -> None:
    """Write every output file of ``result`` to ``options.out``."""
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    samples_dir = out / SAMPLES_DIR
    samples_dir.mkdir(exist_ok=True)
    for old in samples_dir.glob("frame_*.png"):
        old.unlink()
    written: dict[str, list[str]] = {}
    for sample in result.samples:
        if sample.filename not in written:
            atomic_write_bytes(samples_dir / sample.filename, sample.png)
        written.setdefault(sample.filename, []).append(sample.role)
    result.summary["samples"] = [
        {"file": f"{SAMPLES_DIR}/{name}", "frame": int(name[6:12]), "roles": roles} for name, roles in written.items()
    ]
    result.summary["outputs"] = {
        "metrics": METRICS_FILE,
        "frames": FRAMES_FILE,
        "samples": SAMPLES_DIR,
        "report": REPORT_FILE if options.report else None,
    }
    atomic_write_text(out / FRAMES_FILE, frames_csv(result.rows))
    if options.report:
        from thermal_synth_core.eval.report import render_report

        atomic_write_text(out / REPORT_FILE, render_report(result))
    atomic_write_json(out / METRICS_FILE, result.summary)
