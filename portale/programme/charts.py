"""A target's progress as server-side SVG, in the dashboard's style (:mod:`portale.reports.charts`).

Quarterly points joined by a solid line, the threshold as a dashed line labelled "obiettivo",
the baseline as a labelled square, and the projection to the due date as a dotted line ending
in a labelled open circle: every element has a shape and a word, so colour is never the only
cue. The page puts the same figures in a table next to it.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portale.programme.models import MEASURE_WITHIN_TERM
from portale.programme.targets import TargetProgress
from portale.reports.charts import FONT, MUTED, PRIMARY, TEXT, _axis, _nice_max, _open

THRESHOLD = "#d1344c"
PROJECTION = "#5c6f82"


def target_chart(progress: TargetProgress, *, width: int = 640, height: int = 260) -> Markup:
    target, overall = progress.target, progress.overall
    share = target.measure == MEASURE_WITHIN_TERM
    scale = 100.0 if share else 1.0
    left, top, right, bottom = 48, 20, 96, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for p in overall.points if p.value is not None]
    title = str(target.title)
    desc = str(
        _l(
            "Andamento trimestrale della misura dal periodo di riferimento a oggi, con la soglia "
            "dell'obiettivo e la proiezione alla scadenza."
        )
    )
    parts = _open(width, height, title, desc)
    values = [p.value * scale for p in points]
    if overall.baseline.value is not None:
        values.append(overall.baseline.value * scale)
    if overall.projection is not None:
        values.append(overall.projection * scale)
    values.append(target.threshold * scale)
    top_value = 100.0 if share else _nice_max(max(values))
    _axis(parts, left, top, plot_w, plot_h, top_value)
    first = min([target.baseline_start, *(p.start for p in points)])
    last = max(target.due_on, *(p.end for p in points)) if points else target.due_on
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return left + plot_w * (day - first).days / span

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * min(value * scale, top_value) / top_value

    y_threshold = y_of(target.threshold)
    parts.append(
        f'<line x1="{left}" y1="{y_threshold:.1f}" x2="{left + plot_w}" y2="{y_threshold:.1f}" '
        f'stroke="{THRESHOLD}" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{left + plot_w + 4}" y="{y_threshold + 4:.1f}" font-size="11" '
        f'fill="{TEXT}" {FONT}>{escape(_l("obiettivo"))}</text>'
    )
    if overall.baseline.value is not None:
        bx = x_of(overall.baseline.start + (overall.baseline.end - overall.baseline.start) / 2)
        by = y_of(overall.baseline.value)
        parts.append(
            f'<rect x="{bx - 4:.1f}" y="{by - 4:.1f}" width="8" height="8" fill="{MUTED}"/>'
            f'<text x="{bx:.1f}" y="{by - 8:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{TEXT}" {FONT}>{escape(_l("riferimento"))}</text>'
        )
    coords = []
    for p in points:
        x = x_of(p.start + (p.end - p.start) / 2)
        y = y_of(p.value)  # type: ignore[arg-type]
        coords.append((x, y))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PRIMARY}"/>')
    if len(coords) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{PRIMARY}" stroke-width="2"/>')
    if overall.projection is not None and coords:
        px, py = x_of(target.due_on), y_of(overall.projection)
        lx, ly = coords[-1]
        parts.append(
            f'<line x1="{lx:.1f}" y1="{ly:.1f}" x2="{px:.1f}" y2="{py:.1f}" '
            f'stroke="{PROJECTION}" stroke-width="2" stroke-dasharray="2 3"/>'
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="white" stroke="{PROJECTION}" '
            f'stroke-width="2"/>'
            f'<text x="{px + 6:.1f}" y="{py + 4:.1f}" font-size="11" fill="{TEXT}" {FONT}>'
            f"{escape(_l('proiezione'))}</text>"
        )
    for day in (first, target.due_on):
        parts.append(
            f'<text x="{x_of(day):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11" fill="{MUTED}" {FONT}>{day.strftime("%m/%Y")}</text>'
        )
    unit = _l("percentuale entro il termine") if share else _l("giorni")
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="{MUTED}" {FONT}>'
        f"{escape(unit)}</text></svg>"
    )
    return Markup("".join(parts))
