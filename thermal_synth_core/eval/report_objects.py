"""report.html's objects section: how many annotated objects each frame shows, per class, size and day/night.

Drawn from metrics.json's ``objects`` (:class:`~.schema.ObjectsSection`) for a dataset
evaluation of an annotated split: a per-class table (model vs. grayscale vs. the real
frame), visibility by box size and by lighting, and the worst-missed people as crops
(RGB | synthetic | real). The real frame scores 1.0 wherever an object is judged: its
column is the ceiling the other two are read against.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Final

from thermal_synth_core.eval.schema import MissedObject, ObjectsSection, SideVisibility, VisibilityFigures

__all__ = ["objects_section"]

#: The three sides in the tables, with their column headings.
_SIDES: Final = (("model", "model"), ("baseline", "grayscale"), ("real", "real thermal"))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(fig: VisibilityFigures | None, best: bool) -> str:
    if fig is None or fig.rate is None:
        return '<td class="num">–</td>'
    cls = "num best" if best else "num"
    return (
        f'<td class="{cls}">{fig.rate * 100:.0f}% <span style="color:#656d76">({fig.visible}/{fig.judged})</span></td>'
    )


def _table(first: str, groups: Sequence[str], pick: Mapping[str, Mapping[str, VisibilityFigures]]) -> str:
    """One row per group: objects judged (and not), then each side's visibility; the better of model/gray bold."""
    head = f"<tr><th>{_e(first)}</th><th class='num'>judged (no verdict)</th>" + "".join(
        f"<th class='num'>{_e(label)} visible</th>" for _, label in _SIDES
    )
    rows = []
    for group in groups:
        figs = {side: pick[side].get(group) for side, _ in _SIDES}
        real = figs["real"]
        if real is None:
            continue
        rates = {s: (f.rate if f is not None and f.rate is not None else -1.0) for s, f in figs.items()}
        winner = (
            "model" if rates["model"] > rates["baseline"] else "baseline" if rates["baseline"] > rates["model"] else ""
        )
        cells = "".join(_cell(figs[side], side == winner) for side, _ in _SIDES)
        rows.append(f"<tr><td>{_e(group)}</td><td class='num'>{real.judged} ({real.unjudged})</td>{cells}</tr>")
    return f"<table>{head}</tr>{''.join(rows)}</table>" if rows else "<p>–</p>"


def _class_condition(sides: Mapping[str, SideVisibility]) -> dict[str, dict[str, VisibilityFigures]]:
    """Per side: ``class · condition`` -> figures (classes in table order, day before night)."""
    return {
        side: {f"{c} · {cond}": fig for c, by in v.by_class_condition.items() for cond, fig in by.items()}
        for side, v in sides.items()
    }


def _gallery(missed: Sequence[MissedObject]) -> str:
    if not missed:
        return "<p>No person that the real camera shows was missed by the model.</p>"
    parts = [
        f'<figure class="strip"><img alt="missed person {i + 1}" '
        f'src="data:image/png;base64,{base64.b64encode(m.png).decode("ascii")}"></figure>'
        for i, m in enumerate(missed)
    ]
    return (
        "<p>People the real camera shows and the model does not, largest shortfall of contrast first "
        "(RGB in the thermal view | synthetic | real, the box outlined).</p>" + "".join(parts)
    )


def objects_section(objects: ObjectsSection, missed: Sequence[MissedObject]) -> str:
    """The report's objects section (its heading included)."""
    sides = {"model": objects.model, "baseline": objects.baseline, "real": objects.real}
    classes = list(objects.real.by_class)
    sizes = list(objects.real.by_size)
    conditions = list(objects.real.by_condition)
    small, medium = objects.size_limits_px2
    cc = _class_condition(sides)
    return (
        "<h2>Objects (annotations)</h2>"
        f"<p>{objects.objects} annotated objects on {objects.frames} frames (objects.csv). "
        f"{_e(objects.rule)}. The real frame against itself is the ceiling (1.0 wherever judged).</p>"
        "<h3>Per class: model vs. grayscale vs. real</h3>"
        + _table("class", classes, {s: v.by_class for s, v in sides.items()})
        + f"<h3>By box size</h3><p>small: under {small:g} px², medium: under {medium:g} px², large: above "
        "(box area in thermal pixels).</p>"
        + _table("size", sizes, {s: v.by_size for s, v in sides.items()})
        + "<h3>By day and night</h3>"
        + _table("condition", conditions, {s: v.by_condition for s, v in sides.items()})
        + _table("class · condition", list(cc["real"]), cc)
        + "<h3>Worst-missed people</h3>"
        + _gallery(missed)
    )
