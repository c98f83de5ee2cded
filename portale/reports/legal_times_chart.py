"""The chart of the public times page: actual days against the legal term, as inline SVG.

One row per office, type and term of a year: a bar for the median net days, a thin bar for
the mean, and a dashed mark at the legal term, each with its number written beside it, so the
chart reads without colour; the page shows the same figures in its table.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

from portale.reports.charts import FONT, GRID, MUTED, PRIMARY, TEXT, _fmt, _nice_max, _open
from portale.reports.legal_times import LegalTimesRow

MEAN = "#5c6f82"
TERM = "#d1344c"


def term_bars(rows: Sequence[LegalTimesRow], *, year: int, width: int = 760) -> Markup:
    """Median and mean net days of each yearly row, against its legal term."""
    label_w, right, row_h, top = 330, 150, 34, 34
    height = top + row_h * max(len(rows), 1) + 28
    plot_w = width - label_w - right
    title = _("Giorni netti per concludere le pratiche nel %(year)d", year=year)
    desc = "; ".join(
        _(
            "%(label)s: mediana %(median)s giorni, media %(mean)s, termine %(term)s",
            label=f"{r.tipo} ({r.sportello})",
            median=_fmt(r.giorni_netti_mediana or 0),
            mean=_fmt(r.giorni_netti_media or 0),
            term=r.termine_legale_giorni if r.termine_legale_giorni is not None else "—",
        )
        for r in rows
    )
    parts = _open(width, height, title, desc or _("Nessun dato nel periodo"))
    legend = (
        (PRIMARY, _("Mediana"), "rect"),
        (MEAN, _("Media"), "rect"),
        (TERM, _("Termine di legge"), "line"),
    )
    x = label_w
    for colour, label, shape in legend:
        if shape == "rect":
            parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        else:
            parts.append(
                f'<line x1="{x + 6}" y1="4" x2="{x + 6}" y2="20" stroke="{colour}" '
                'stroke-width="2" stroke-dasharray="3 2"/>'
            )
        parts.append(
            f'<text x="{x + 16}" y="16" font-size="12" fill="{TEXT}" {FONT}>{escape(label)}</text>'
        )
        x += 130
    top_value = _nice_max(
        max(
            (
                v
                for r in rows
                for v in (r.giorni_netti_mediana, r.giorni_netti_media, r.termine_legale_giorni)
                if v
            ),
            default=0.0,
        )
    )

    def scale(value: float | None) -> float:
        return plot_w * (value or 0) / top_value

    for i, r in enumerate(rows):
        y = top + i * row_h
        name = r.tipo if len(r.tipo) <= 52 else r.tipo[:51] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 12}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}" {FONT}>{escape(name)}</text>'
        )
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 25}" text-anchor="end" font-size="10" '
            f'fill="{MUTED}" {FONT}>{escape(r.sportello)}</text>'
        )
        parts.append(
            f'<line x1="{label_w}" y1="{y + 2}" x2="{label_w}" y2="{y + row_h - 6}" '
            f'stroke="{GRID}"/>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{scale(r.giorni_netti_mediana):.1f}" '
            f'height="14" fill="{PRIMARY}"/>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 19}" width="{scale(r.giorni_netti_media):.1f}" '
            f'height="6" fill="{MEAN}"/>'
        )
        end = max(scale(r.giorni_netti_mediana), scale(r.giorni_netti_media))
        if r.termine_legale_giorni:
            tx = label_w + scale(r.termine_legale_giorni)
            parts.append(
                f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + row_h - 4}" '
                f'stroke="{TERM}" stroke-width="2" stroke-dasharray="3 2"/>'
            )
            end = max(end, scale(r.termine_legale_giorni))
        note = _(
            "%(median)s / %(mean)s gg (termine %(term)s)",
            median=_fmt(r.giorni_netti_mediana or 0),
            mean=_fmt(r.giorni_netti_media or 0),
            term=r.termine_legale_giorni if r.termine_legale_giorni is not None else "—",
        )
        parts.append(
            f'<text x="{label_w + end + 6:.1f}" y="{y + 16}" font-size="11" fill="{MUTED}" '
            f"{FONT}>{escape(note)}</text>"
        )
    unit = _("giorni netti (sospensioni escluse)")
    parts.append(
        f'<text x="{label_w}" y="{height - 6}" font-size="11" fill="{MUTED}" {FONT}>'
        f"{escape(unit)}</text></svg>"
    )
    return Markup("".join(parts))
