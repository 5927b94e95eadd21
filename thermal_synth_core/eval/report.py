"""report.html: one self-contained page (plots and frames embedded as base64) that people read.

Top to bottom: the verdict on the headline metrics, the summary table (model vs.
grayscale baseline, the winner marked), metrics over the drive, their
histograms, the best and worst frames, frames spread over the drive, what each
metric means, and where the numbers come from (model and bag provenance).
Plots are drawn with matplotlib's object API (no pyplot global state).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.eval.report_objects import objects_section
from thermal_synth_core.eval.schema import EvalResult, EvalSummary, FrameRow, MetricSummary, Sample
from thermal_synth_core.eval.scoring import HEADLINE, METRIC_INFO, METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["render_report"]

MODEL_COLOR: Final = "#e8590c"
BASELINE_COLOR: Final = "#5c7cfa"
REAL_COLOR: Final = "#2b2b2b"
#: Metrics drawn in the over-time and histogram figures (warm contrast gets its own when present).
PLOTTED: Final = ("warm_iou", "ssim", "l1", "psnr")

_CSS = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#ffffff; --panel:#f6f8fa;
        --model:#e8590c; --base:#5c7cfa; --win:#1a7f37; --lose:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;
       color:var(--fg); background:var(--bg); }
header { background:linear-gradient(90deg,#1b1033,#5a1a5e 40%,#c2410c 80%,#f59f00); color:#fff; padding:28px 40px; }
header h1 { margin:0 0 6px; font-size:26px; font-weight:600; }
header .sub { opacity:.9; font-size:14px; }
main { max-width:1320px; margin:0 auto; padding:8px 40px 60px; }
h2 { margin:36px 0 12px; font-size:20px; border-bottom:1px solid var(--line); padding-bottom:6px; }
h3 { margin:20px 0 8px; font-size:16px; }
.cards { display:flex; flex-wrap:wrap; gap:16px; margin-top:20px; }
.card { flex:1 1 240px; border:1px solid var(--line); border-radius:10px; padding:14px 18px; background:var(--panel); }
.card .name { color:var(--muted); font-size:13px; text-transform:uppercase; letter-spacing:.04em; }
.card .vals { font-size:24px; font-weight:600; margin:4px 0; }
.card .vals .m { color:var(--model); } .card .vals .b { color:var(--base); }
.card .vs { color:var(--muted); font-size:14px; font-weight:400; margin:0 6px; }
.card .foot { font-size:13px; color:var(--muted); }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; }
.badge.model { background:var(--model); } .badge.baseline { background:var(--base); } .badge.tie { background:#8c959f; }
.notice { border-left:4px solid #bf8700; background:#fff8c5; padding:12px 16px; border-radius:6px; margin:18px 0; }
.notice.error { border-color:var(--lose); background:#ffebe9; }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--panel); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.best { font-weight:700; }
tr.win-model td.winner { color:var(--model); } tr.win-baseline td.winner { color:var(--base); }
.sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:baseline; }
figure { margin:12px 0 20px; }
figure img { max-width:100%; border:1px solid var(--line); border-radius:6px; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; }
.strip img { width:100%; border-radius:6px; border:1px solid var(--line); }
dl.metrics dt { font-weight:600; margin-top:8px; } dl.metrics dd { margin:2px 0 0 0; color:var(--fg); }
details { margin:10px 0; } summary { cursor:pointer; font-weight:600; }
pre { background:var(--panel); padding:12px; border-radius:6px; overflow:auto; font-size:12px; }
.kv td:first-child { width:220px; color:var(--muted); }
code { font-size:13px; background:var(--panel); padding:1px 4px; border-radius:4px; }
footer { color:var(--muted); font-size:12px; margin-top:40px; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None, key: str | None = None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if key == "psnr":
        return f"{value:.2f}"
    if key == "l1":
        return f"{value:.4f}"
    return f"{value:.3f}"


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _jpeg_uri(png: bytes) -> str:
    """A sample strip as an embedded JPEG (a fifth of the PNG's size: the page stays light)."""
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:  # pragma: no cover - the strips are PNGs we encoded
        return _png_uri(png)
    ok, jpg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:  # pragma: no cover - OpenCV encodes any decoded image
        return _png_uri(png)
    return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii")


def _figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


#: One value of a frame row (None where not computed).
Value = Callable[[FrameRow], float | None]


def _model(key: str) -> Value:
    return lambda row: row.model.get(key)


def _baseline(key: str) -> Value:
    return lambda row: row.baseline.get(key)


def _real_warm_contrast(row: FrameRow) -> float | None:
    return row.real_warm_contrast


def _by_frame(rows: Sequence[FrameRow]) -> bool:
    """Whether the rows are a prepared dataset's pairs (plotted by frame, not by time in a drive)."""
    return bool(rows) and rows[0].frame_id is not None


def _series(rows: Sequence[FrameRow], value: Value) -> tuple[list[float], list[float]]:
    """(t, value) of frames where ``value`` is a finite number (t: the frame of a dataset's split)."""
    t0 = rows[0].rgb_stamp_ns if rows else 0
    by_frame = _by_frame(rows)
    ts: list[float] = []
    vs: list[float] = []
    for r in rows:
        v = value(r)
        if v is not None and math.isfinite(v):
            ts.append(float(r.frame) if by_frame else (r.rgb_stamp_ns - t0) / 1e9)
            vs.append(float(v))
    return ts, vs


def _style(ax: Axes) -> None:
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _axes_title(ax: Axes, key: str) -> None:
    info = METRIC_INFO[key]
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    unit = f" [{info.unit}]" if info.unit else ""
    ax.set_title(f"{info.label}{unit}  ({arrow})", fontsize=10, loc="left")


def _grid(n: int, row_height: float) -> tuple[Figure, npt.NDArray[Any]]:
    """A figure with one panel per metric, two per row."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib is optional and slow to import: only for a report

    cols = 2 if n > 1 else 1
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(12, row_height * nrows))
    axes: npt.NDArray[Any] = fig.subplots(nrows, cols, squeeze=False)  # an object array of Axes
    return fig, axes


def _over_time(rows: Sequence[FrameRow], keys: Sequence[str]) -> bytes:
    n = len(keys)
    fig, axes = _grid(n, row_height=3.0)
    for ax, key in zip(axes.flat, keys, strict=False):
        for side, color, label in ((_model(key), MODEL_COLOR, "model"), (_baseline(key), BASELINE_COLOR, "grayscale")):
            t, v = _series(rows, side)
            ax.plot(t, v, color=color, linewidth=1.4, marker="o", markersize=2.5, label=label)
        if key == "warm_contrast":
            t, v = _series(rows, _real_warm_contrast)
            ax.plot(t, v, color=REAL_COLOR, linewidth=1.0, linestyle="--", label="real thermal")
        _axes_title(ax, key)
        ax.set_xlabel("frame of the split" if _by_frame(rows) else "time in the drive [s]", fontsize=9)
        ax.tick_params(labelsize=8)
        _style(ax)
        ax.legend(fontsize=8, frameon=False, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _figure_png(fig)


def _histograms(rows: Sequence[FrameRow], keys: Sequence[str]) -> bytes:
    n = len(keys)
    fig, axes = _grid(n, row_height=2.9)
    for ax, key in zip(axes.flat, keys, strict=False):
        model = _series(rows, _model(key))[1]
        base = _series(rows, _baseline(key))[1]
        both = model + base
        if not both:
            ax.set_visible(False)
            continue
        lo, hi = min(both), max(both)
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 26)
        for values, color, label in ((model, MODEL_COLOR, "model"), (base, BASELINE_COLOR, "grayscale")):
            if values:
                ax.hist(values, bins=bins, color=color, alpha=0.45, label=label)
                ax.axvline(float(np.mean(values)), color=color, linewidth=1.6, linestyle="--")
        _axes_title(ax, key)
        ax.set_ylabel("frames", fontsize=9)
        ax.tick_params(labelsize=8)
        _style(ax)
        ax.legend(fontsize=8, frameon=False, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _figure_png(fig)


# -- sections ---------------------------------------------------------------------------------------


def _cards(metrics: dict[str, MetricSummary]) -> str:
    cards = []
    for key in HEADLINE:
        entry = metrics.get(key)
        if not entry:
            continue
        m, b = entry["model"]["mean"], entry["baseline"]["mean"]
        winner = entry["winner"] or "tie"
        frac = entry["model_better_fraction"]
        label = {"model": "model wins", "baseline": "grayscale wins", "tie": "tie"}[winner]
        foot = f"model better on {frac * 100:.0f}% of {entry['frames_compared']} frames" if frac is not None else ""
        cards.append(
            f'<div class="card"><div class="name">{_e(entry["label"])} (mean)</div>'
            f'<div class="vals"><span class="m">{_fmt(m, key)}</span><span class="vs">vs</span>'
            f'<span class="b">{_fmt(b, key)}</span></div>'
            f'<div class="foot"><span class="badge {winner}">{label}</span> {_e(foot)}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _summary_table(metrics: dict[str, MetricSummary]) -> str:
    rows = []
    for info in METRICS:
        entry = metrics.get(info.key)
        if not entry:
            continue
        winner = entry["winner"] or "tie"
        m, b = entry["model"], entry["baseline"]
        frac = entry["model_better_fraction"]
        best_m = " best" if winner == "model" else ""
        best_b = " best" if winner == "baseline" else ""
        mark = {"model": "✔ model", "baseline": "✔ grayscale", "tie": "tie"}[winner]
        arrow = "↑" if info.higher_is_better else "↓"
        extra = ""
        real = entry.get("real")
        if info.key == "warm_contrast" and real is not None and real["mean"] is not None:
            extra = f'<br><span style="color:#656d76">real thermal: {_fmt(real["mean"])}</span>'
        rows.append(
            f'<tr class="win-{winner}"><td>{_e(info.label)} {arrow}{extra}</td>'
            f'<td class="num{best_m}">{_fmt(m["mean"], info.key)}</td>'
            f'<td class="num">{_fmt(m["median"], info.key)}</td>'
            f'<td class="num{best_b}">{_fmt(b["mean"], info.key)}</td>'
            f'<td class="num">{_fmt(b["median"], info.key)}</td>'
            f'<td class="winner"><b>{mark}</b></td>'
            f'<td class="num">{"–" if frac is None else f"{frac * 100:.0f}%"}</td>'
            f'<td class="num">{entry["frames_compared"]}</td></tr>'
        )
    head = (
        "<tr><th>metric</th>"
        f'<th class="num"><span class="sw" style="background:{MODEL_COLOR}"></span>model mean</th>'
        '<th class="num">model median</th>'
        f'<th class="num"><span class="sw" style="background:{BASELINE_COLOR}"></span>grayscale mean</th>'
        '<th class="num">grayscale median</th><th>winner (mean)</th><th class="num">model better on</th>'
        '<th class="num">frames</th></tr>'
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _caption(sample: Sample, t0_ns: int) -> str:
    row = sample.row
    text = f"frame {sample.index} · t = {(row.rgb_stamp_ns - t0_ns) / 1e9:.2f} s · "
    if row.frame_id is not None:
        text = f"frame {sample.index} · {row.frame_id} ({row.condition}) · "
    if row.model.get("warm_iou") is None:
        return text + row.status
    return text + " · ".join(
        f"{METRIC_INFO[k].label} {_fmt(row.model[k], k)} (grayscale {_fmt(row.baseline[k], k)})"
        for k in ("warm_iou", "ssim", "l1")
    )


def _strips(samples: Sequence[Sample], role: str, caption: str, t0_ns: int) -> str:
    chosen = [s for s in samples if s.role == role]
    if not chosen:
        return ""
    parts = [
        f'<figure class="strip"><img alt="frame {s.index}" src="{_jpeg_uri(s.png)}">'
        f"<figcaption>{_e(_caption(s, t0_ns))}</figcaption></figure>"
        for s in chosen
    ]
    return f"<p>{_e(caption)}</p>" + "".join(parts)


def _kv(pairs: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{body}</table>'


def _model_kv(summary: EvalSummary) -> str:
    model = summary.model
    spec = model.spec
    alignment = spec.get("alignment") or {}
    return _kv(
        [
            ("file", f"<code>{_e(model.path)}</code>"),
            ("sha256", f"<code>{_e(model.sha256)}</code>"),
            ("architecture", _e(f"{spec['arch']} {json.dumps(spec.get('arch_kwargs', {}))}")),
            (
                "input → output",
                _e(
                    f"{spec['input_size'][0]}x{spec['input_size'][1]} → "
                    f"{spec['output_size'][0]}x{spec['output_size'][1]}, {spec['output_bits']}-bit"
                ),
            ),
            ("alignment", _e(alignment.get("method", "none (plain rescale)"))),
            ("backend", _e(model.backend)),
        ]
    )


def _model_provenance(summary: EvalSummary) -> str:
    provenance = json.dumps(summary.model.spec.get("provenance", {}), indent=2, sort_keys=True)
    return (
        f"<h3>Model</h3>{_model_kv(summary)}"
        f"<details><summary>training provenance</summary><pre>{_e(provenance)}</pre></details>"
    )


def _dataset_provenance(summary: EvalSummary) -> str:
    dataset, counts, fps = summary.dataset, summary.counts, summary.timing.frames_per_s
    assert dataset is not None
    dataset_kv = _kv(
        [
            ("path", f"<code>{_e(dataset.path)}</code>"),
            ("split", _e(f"{dataset.split}: {counts.scored} of {dataset.pairs} pairs evaluated")),
            ("prepared from", _e(dataset.format)),
            ("day / night", _e(dataset.conditions)),
            ("annotations", f"<code>{_e(dataset.annotations)}</code>" if dataset.annotations else "none"),
            ("speed", _e(f"{fps:.1f} frames/s" if fps else "–")),
        ]
    )
    return f"{_model_provenance(summary)}<h3>Dataset</h3>{dataset_kv}"


def _provenance(summary: EvalSummary) -> str:
    bag, counts, pairing = summary.bag, summary.counts, summary.pairing
    if bag is None:
        return _dataset_provenance(summary)
    used = {
        topic["name"]: label
        for topic, label in ((bag.rgb_topic, "RGB"), (bag.thermal_topic, "real thermal"), (bag.mask_topic, "warm mask"))
        if topic is not None
    }
    topic_rows = "".join(
        f"<tr><td><code>{_e(t['name'])}</code></td><td>{_e(t['type'])}</td><td class='num'>{t['count']}</td>"
        f"<td>{_e(used.get(t['name'], ''))}</td></tr>"
        for t in bag.topics
    )
    fps = summary.timing.frames_per_s
    mean_dt = pairing.abs_dt_ms["mean"]
    bag_kv = _kv(
        [
            ("path", f"<code>{_e(bag.path)}</code>"),
            ("storage", _e(bag.storage)),
            ("recording", _e(f"{bag.duration_s:.1f} s, {bag.messages} messages")),
            (
                "frames",
                _e(
                    f"{counts.synthesized} synthesized of {counts.rgb_frames_in_bag} RGB frames; "
                    f"{counts.scored} compared with real thermal; {counts.rgb_rejected} RGB and "
                    f"{counts.thermal_rejected} thermal frames rejected"
                ),
            ),
            (
                "pairing",
                _e(f"within {pairing.slop_s:g} s, mean |dt| " + (f"{mean_dt:.1f} ms" if mean_dt is not None else "–")),
            ),
            ("speed", _e(f"{fps:.1f} frames/s" if fps else "–")),
        ]
    )
    return (
        f"{_model_provenance(summary)}"
        f"<h3>Bag</h3>{bag_kv}"
        f"<h3>Topics</h3><table><tr><th>topic</th><th>type</th><th class='num'>messages</th><th>used as</th></tr>"
        f"{topic_rows}</table>"
    )


#: How frames are paired, for the explanations: a bag's and a prepared dataset's.
_BAG_PAIRING: Final = (
    "each RGB frame is compared with the real thermal frame of nearest header stamp within "
    "the slop; each real frame is used once."
)
_DATASET_PAIRING: Final = (
    "each pair of the prepared dataset: its RGB frame, already warped into the thermal view by prepare, "
    "against its own thermal frame."
)


def _explanations(pairing: str = _BAG_PAIRING) -> str:
    items = "".join(f"<dt>{_e(m.label)}</dt><dd>{_e(m.explanation)}</dd>" for m in METRICS)
    return (
        f'<dl class="metrics">{items}'
        "<dt>grayscale baseline</dt><dd>the luminance of the RGB frame, warped into the thermal view exactly as the "
        "model's input is: simple grayscale is a known strong baseline for RGB → thermal, so a model is only useful "
        "where it beats it.</dd>"
        "<dt>normalisation</dt><dd>synthetic, real and grayscale frames all pass through the same robust percentile "
        "AGC (1st → 0, 99th → 1) used for the training targets, so the camera's gain changes do not count as "
        "errors.</dd>"
        f"<dt>pairing</dt><dd>{_e(pairing)}</dd></dl>"
    )


def _source(summary: EvalSummary) -> tuple[str, str, str]:
    """(what was evaluated, its name, what its frames span): a bag's drive, or a prepared dataset's split."""
    if summary.bag is not None:
        return "bag", summary.bag.path.rstrip("/").rsplit("/", 1)[-1], "drive"
    assert summary.dataset is not None
    name = summary.dataset.path.rstrip("/").rsplit("/", 1)[-1]
    return "dataset", f"{name} ({summary.dataset.split})", "split"


def _frame_strips(result: EvalResult, span: str, t0: int) -> list[str]:
    """The best, worst and spread frames' sections."""
    best = _strips(result.samples, "best", "Highest warm-region IoU of the model.", t0)
    worst = _strips(result.samples, "worst", "Lowest warm-region IoU of the model: where it fails.", t0)
    spread = _strips(result.samples, "sample", f"Frames spread evenly over the {span}.", t0)
    return [
        "<h2>Best frames</h2>" + (best or "<p>–</p>"),
        "<h2>Worst frames</h2>" + (worst or "<p>–</p>"),
        f"<h2>Across the {span}</h2>" + (spread or "<p>–</p>"),
    ]


def render_report(result: EvalResult) -> str:
    """The whole report.html as one string."""
    summary = result.summary
    rows = result.rows
    metrics = summary.metrics
    model_name = summary.model.path.rsplit("/", 1)[-1]
    kind, bag_name, span = _source(summary)
    counts = summary.counts
    t0 = rows[0].rgb_stamp_ns if rows else 0
    parts: list[str] = []
    if not summary.complete:
        parts.append(f'<div class="notice error"><b>Incomplete:</b> {_e(summary.error)}</div>')
    if not summary.has_metrics:
        parts.append(
            f'<div class="notice"><b>No metrics could be computed.</b> {_e(summary.note or "")}. '
            "The synthetic frames are shown below.</div>"
        )
    else:
        parts.append(_cards(metrics))
        parts.append("<h2>Summary: model vs. grayscale baseline</h2>")
        parts.append(_summary_table(metrics))
        plotted = [k for k in PLOTTED if k in metrics]
        parts.append(f"<h2>Over the {span}</h2>")
        parts.append(
            f'<figure><img alt="metrics over time" src="{_png_uri(_over_time(rows, plotted))}">'
            "<figcaption>Per frame, model (orange) and grayscale baseline (blue).</figcaption></figure>"
        )
        parts.append("<h2>Distributions</h2>")
        parts.append(
            f'<figure><img alt="histograms" src="{_png_uri(_histograms(rows, plotted))}">'
            "<figcaption>Histograms over the compared frames; dashed lines are the means.</figcaption></figure>"
        )
    if "warm_contrast" in metrics:
        parts.append("<h2>Warm objects (recorded masks)</h2>")
        parts.append(
            f'<figure><img alt="warm contrast" src="{_png_uri(_over_time(rows, ["warm_contrast"]))}">'
            "<figcaption>How much brighter the masked warm objects are than the rest; the dashed line is the "
            "real thermal frame.</figcaption></figure>"
        )
    if summary.objects is not None:
        parts.append(objects_section(summary.objects, result.missed))
    parts.extend(_frame_strips(result, span, t0))
    pairing = _BAG_PAIRING if summary.bag is not None else _DATASET_PAIRING
    parts.append("<h2>What the metrics mean</h2>" + _explanations(pairing))
    parts.append("<h2>Where the numbers come from</h2>" + _provenance(summary))
    subtitle = (
        f"model <b>{_e(model_name)}</b> · {kind} <b>{_e(bag_name)}</b> · {counts.synthesized} frames, "
        f"{counts.scored} compared with real thermal · {_e(summary.created)}"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>thermal-synth evaluation: {_e(model_name)} on {_e(bag_name)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>Synthetic thermal vs. the real camera</h1><div class='sub'>{subtitle}</div></header>"
        f"<main>{''.join(parts)}<footer>thermal-synth {_e(summary.version)} · "
        "figures in metrics.json and frames.csv beside this file</footer></main></body></html>\n"
    )
