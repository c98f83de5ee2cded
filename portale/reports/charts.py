"""Charts of the report as server-side SVG: no JavaScript, the same markup on the page and in
the PDF (WeasyPrint draws inline SVG).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says in words
what it shows; the page puts the data table next to it as the accessible alternative. Colours
come from the Bootstrap Italia palette and the four ball-holders keep the same colour
everywhere; every series also has a text label, so colour is never the only cue.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portale.clock import lifecycle as lc

PRIMARY = "#0066cc"
GRID = "#d9dadb"
TEXT = "#1a1a1a"
MUTED = "#5c6f82"
STAGE_COLOURS = {
    lc.BALL_COMPANY: "#d1344c",
    lc.BALL_OFFICE: "#0066cc",
    lc.BALL_AUTHORITY: "#cc7a00",
    lc.BALL_DISPATCH: "#008055",
}
STAGE_LABELS = {
    lc.BALL_COMPANY: _l("Impresa"),
    lc.BALL_OFFICE: _l("Sportello"),
    lc.BALL_AUTHORITY: _l("Enti terzi"),
    lc.BALL_DISPATCH: _l("Trasmissione"),
}
FONT = 'font-family="Titillium Web, Arial, sans-serif"'
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    parts: dict[str, float]  # stage -> days


def _fmt(value: float) -> str:
    text = f"{value:.1f}" if abs(value) < 10 and value != int(value) else f"{value:.0f}"
    return text.replace(".", ",")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return float(step * 5 if value > step * 4 else step * 4)
    return float(value * 1.1)


def _open(width: int, height: int, title: str, desc: str) -> list[str]:
    n = next(_ids)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart-t{n} chart-d{n}" class="chart">',
        f'<title id="chart-t{n}">{escape(title)}</title>',
        f'<desc id="chart-d{n}">{escape(desc)}</desc>',
    ]


def _axis(parts: list[str], left: int, top: int, width: int, height: int, top_value: float):
    for i in range(5):
        value = top_value * i / 4
        y = top + height - height * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}" {FONT}>{_fmt(value)}</text>'
        )


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    desc: str,
    unit: str,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """A line over labelled points (gaps where a value is missing)."""
    left, top, right, bottom = 48, 16, 36, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _open(width, height, title, desc)
    values = [v for _label, v in points if v is not None]
    if not values:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13" '
            f'fill="{MUTED}" {FONT}>{escape(_l("Nessun dato nel periodo"))}</text></svg>'
        )
        return Markup("".join(parts))
    top_value = _nice_max(max(values))
    _axis(parts, left, top, plot_w, plot_h, top_value)
    step = plot_w / max(len(points) - 1, 1)
    every = max(1, len(points) // 8)
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        x = left + (step * i if len(points) > 1 else plot_w / 2)
        if i % every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="{MUTED}" {FONT}>{escape(label)}</text>'
            )
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = top + plot_h - plot_h * value / top_value
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PRIMARY}"/>')
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="{PRIMARY}" stroke-width="2"/>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="{MUTED}" {FONT}>'
        f"{escape(unit)}</text></svg>"
    )
    return Markup("".join(parts))


def stacked_bars(
    bars: Sequence[Bar], *, title: str, desc: str, unit: str, width: int = 640
) -> Markup:
    """Horizontal bars, one per group, split by ball-holder, with a legend."""
    label_w, right, row_h, top = 200, 56, 26, 34
    height = top + row_h * max(len(bars), 1) + 28
    plot_w = width - label_w - right
    parts = _open(width, height, title, desc)
    x = label_w
    for stage, colour in STAGE_COLOURS.items():  # legend, in a fixed order
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{x + 16}" y="16" font-size="12" fill="{TEXT}" {FONT}>'
            f"{escape(STAGE_LABELS[stage])}</text>"
        )
        x += 110
    totals = [sum(v for v in bar.parts.values() if v) for bar in bars]
    top_value = _nice_max(max(totals, default=0.0))
    for i, bar in enumerate(bars):
        y = top + i * row_h
        name = bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}" {FONT}>{escape(name)}</text>'
        )
        x0 = float(label_w)
        for stage, colour in STAGE_COLOURS.items():
            value = bar.parts.get(stage) or 0.0
            w = plot_w * value / top_value
            if w > 0:
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                    f'fill="{colour}"><title>{escape(STAGE_LABELS[stage])}: '
                    f"{_fmt(value)}</title></rect>"
                )
            x0 += w
        parts.append(
            f'<text x="{x0 + 6:.1f}" y="{y + 15}" font-size="11" fill="{MUTED}" {FONT}>'
            f"{_fmt(totals[i])}</text>"
        )
    parts.append(
        f'<text x="{label_w}" y="{height - 6}" font-size="11" fill="{MUTED}" {FONT}>'
        f"{escape(unit)}</text></svg>"
    )
    return Markup("".join(parts))


def report_charts(overview: object) -> dict[str, Markup]:
    """The three charts of a report overview (:class:`portale.reports.services.Overview`)."""
    from portale.reports.services import Overview

    assert isinstance(overview, Overview)
    trend = line_chart(
        [(m.month, m.net_median) for m in overview.months],
        title=str(_l("Giorni netti mediani per mese di presentazione")),
        desc=str(
            _l(
                "Mediana dei giorni netti (sospensioni escluse) delle pratiche concluse, per mese "
                "di presentazione; i valori sono nella tabella che segue."
            )
        ),
        unit=str(_l("giorni")),
    )
    backlog = line_chart(
        [
            (w.strftime("%d/%m"), float(n))
            for w, n in zip(overview.weeks, overview.backlog_of(None), strict=True)
        ],
        title=str(_l("Pratiche aperte alla fine di ogni settimana")),
        desc=str(
            _l(
                "Arretrato: pratiche ricevute e non ancora decise alla fine di ogni settimana del "
                "periodo; i valori sono nella tabella che segue."
            )
        ),
        unit=str(_l("pratiche aperte")),
    )
    stages = stacked_bars(
        [
            Bar(g.title or g.type_code or "", {k: v or 0.0 for k, v in g.days_by_stage().items()})
            for g in overview.groups
        ],
        title=str(_l("Dove va il tempo: giorni medi per chi ha la pratica")),
        desc=str(
            _l(
                "Per ogni tipo di procedimento, giorni medi delle pratiche concluse trascorsi "
                "presso l'impresa, lo sportello, gli enti terzi e in trasmissione; i valori sono "
                "nella tabella che segue."
            )
        ),
        unit=str(_l("giorni medi per pratica conclusa")),
    )
    return {"trend": trend, "backlog": backlog, "stages": stages}
