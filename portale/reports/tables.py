"""The report as tables: what the dashboard shows, and exactly what CSV, XLSX and PDF export.

:func:`report_tables` turns the rows of :mod:`portale.reports.services` into titled tables
of raw cells (numbers stay numbers); each renderer only formats them, so the page and every
export show the same tables with the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from portale.reports.charts import STAGE_LABELS
from portale.reports.services import STAGES, Bottlenecks, GroupRow, Overview

# Column kinds: how a renderer formats a cell.
TEXT, COUNT, DAYS, SHARE, DELTA_DAYS, DELTA_POINTS = (
    "text",
    "count",
    "days",
    "share",
    "delta_days",
    "delta_points",
)


@dataclass(frozen=True)
class Column:
    label: Any
    kind: str = COUNT


@dataclass(frozen=True)
class Table:
    key: str
    title: Any
    columns: list[Column]
    rows: list[list[Any]]
    note: Any = ""


def _all_types() -> str:
    return str(_l("Tutti i tipi"))


def _summary_row(label: str, g: GroupRow) -> list[Any]:
    return [
        label,
        g.filed,
        g.closed,
        g.open,
        g.net_median,
        g.net_p90,
        g.net_max,
        g.gross_median,
        g.gross_p90,
        g.gross_max,
        g.within_term_share,
        g.overdue_open,
        g.silent_approvals,
        g.integrations_per_procedure,
        g.first_time_right_share,
    ]


def summary_table(overview: Overview) -> Table:
    rows = [_summary_row(g.title or g.type_code or "", g) for g in overview.groups]
    if overview.total.filed:
        rows.append(_summary_row(_all_types(), overview.total))
    return Table(
        "sintesi",
        _l("Sintesi per tipo di procedimento"),
        [
            Column(_l("Tipo di procedimento"), TEXT),
            Column(_l("Presentate")),
            Column(_l("Concluse")),
            Column(_l("Aperte")),
            Column(_l("Giorni netti: mediana"), DAYS),
            Column(_l("Giorni netti: 90° percentile"), DAYS),
            Column(_l("Giorni netti: massimo"), DAYS),
            Column(_l("Giorni lordi: mediana"), DAYS),
            Column(_l("Giorni lordi: 90° percentile"), DAYS),
            Column(_l("Giorni lordi: massimo"), DAYS),
            Column(_l("Concluse entro il termine"), SHARE),
            Column(_l("Aperte oltre il termine")),
            Column(_l("Silenzi-assensi")),
            Column(_l("Integrazioni per pratica"), DAYS),
            Column(_l("Concluse senza integrazioni"), SHARE),
        ],
        rows,
        _l(
            "Pratiche presentate nel periodo; giorni netti e lordi delle pratiche concluse "
            "(i netti escludono le sospensioni)."
        ),
    )


def time_table(overview: Overview) -> Table:
    def row(label: str, g: GroupRow) -> list[Any]:
        days = g.days_by_stage()
        return [label, *[days[s] for s in STAGES]]

    rows = [row(g.title or g.type_code or "", g) for g in overview.groups]
    if overview.total.closed:
        rows.append(row(_all_types(), overview.total))
    return Table(
        "tempo",
        _l("Dove va il tempo: giorni medi per chi ha la pratica"),
        [
            Column(_l("Tipo di procedimento"), TEXT),
            *[Column(STAGE_LABELS[s], DAYS) for s in STAGES],
        ],
        rows,
        _l("Media delle pratiche concluse nel periodo di presentazione."),
    )


def opinions_table(overview: Overview) -> Table:
    return Table(
        "pareri",
        _l("Pareri per ente"),
        [
            Column(_l("Ente"), TEXT),
            Column(_l("Richiesti")),
            Column(_l("Espressi")),
            Column(_l("Ancora aperti")),
            Column(_l("Giorni mediani per il parere"), DAYS),
            Column(_l("In ritardo"), SHARE),
            Column(_l("Giorni di attesa in totale"), DAYS),
        ],
        [
            [o.name, o.requested, o.answered, o.open, o.median_days, o.late_share, o.waiting_days]
            for o in overview.opinions
        ],
        _l("In ritardo: espresso dopo la scadenza, o ancora aperto oltre la scadenza."),
    )


def backlog_table(overview: Overview) -> Table:
    codes = sorted({p.type_code for p in overview.backlog if p.type_code is not None})
    titles = {g.type_code: g.title for g in overview.groups}
    series = {code: overview.backlog_of(code) for code in [None, *codes]}
    rows: list[list[Any]] = []
    for i, week in enumerate(overview.weeks):
        rows.append([week, *[series[code][i] if series[code] else 0 for code in [None, *codes]]])
    return Table(
        "arretrato",
        _l("Pratiche aperte alla fine di ogni settimana"),
        [
            Column(_l("Fine settimana"), TEXT),
            Column(_all_types()),
            *[Column(titles.get(code) or code) for code in codes],
        ],
        rows,
        _l("Pratiche ricevute e non ancora decise a quella data, anche se presentate prima."),
    )


def months_table(overview: Overview) -> Table:
    return Table(
        "mesi",
        _l("Giorni netti mediani per mese di presentazione"),
        [
            Column(_l("Mese"), TEXT),
            Column(_l("Concluse")),
            Column(_l("Giorni netti: mediana"), DAYS),
        ],
        [[m.month, m.closed, m.net_median] for m in overview.months],
    )


def stage_ranking_table(ranking: Bottlenecks) -> Table:
    return Table(
        "fasi",
        _l("Fasi che trattengono più tempo"),
        [
            Column(_l("Chi ha la pratica"), TEXT),
            Column(_l("Giorni in totale"), DAYS),
            Column(_l("Giorni per pratica"), DAYS),
            Column(_l("Quota del tempo"), SHARE),
            Column(_l("Giorni per pratica, periodo precedente"), DAYS),
            Column(_l("Variazione"), DELTA_DAYS),
        ],
        [
            [
                str(STAGE_LABELS[s.stage]),
                s.days_total,
                s.days_per_procedure,
                s.share,
                s.previous_per_procedure,
                s.trend,
            ]
            for s in ranking.stages
        ],
    )


def authority_ranking_table(ranking: Bottlenecks) -> Table:
    return Table(
        "enti",
        _l("Enti che trattengono più tempo"),
        [
            Column(_l("Ente"), TEXT),
            Column(_l("Giorni di attesa"), DAYS),
            Column(_l("Pareri richiesti")),
            Column(_l("Giorni mediani"), DAYS),
            Column(_l("In ritardo"), SHARE),
            Column(_l("Giorni di attesa, periodo precedente"), DAYS),
            Column(_l("Giorni mediani, periodo precedente"), DAYS),
            Column(_l("Variazione della mediana"), DELTA_DAYS),
        ],
        [
            [
                a.name,
                a.waiting_days,
                a.requested,
                a.median_days,
                a.late_share,
                a.previous_waiting_days,
                a.previous_median_days,
                a.trend,
            ]
            for a in ranking.authorities
        ],
    )


def late_ranking_table(ranking: Bottlenecks) -> Table:
    return Table(
        "ritardi",
        _l("Tipi di procedimento più spesso in ritardo"),
        [
            Column(_l("Tipo di procedimento"), TEXT),
            Column(_l("In ritardo")),
            Column(_l("Valutate")),
            Column(_l("Quota in ritardo"), SHARE),
            Column(_l("In ritardo, periodo precedente")),
            Column(_l("Quota, periodo precedente"), SHARE),
            Column(_l("Variazione"), DELTA_POINTS),
        ],
        [
            [
                t.title,
                t.late,
                t.assessed,
                t.late_share,
                t.previous_late,
                t.previous_late_share,
                t.trend,
            ]
            for t in ranking.types
        ],
        _l(
            "In ritardo: concluse dopo l'ultimo giorno utile, o aperte oltre il termine. "
            "Valutate: concluse con un termine, più le aperte oltre il termine."
        ),
    )


def ranking_tables(ranking: Bottlenecks) -> list[Table]:
    return [
        stage_ranking_table(ranking),
        authority_ranking_table(ranking),
        late_ranking_table(ranking),
    ]


def overview_tables(overview: Overview) -> list[Table]:
    return [
        summary_table(overview),
        time_table(overview),
        opinions_table(overview),
        months_table(overview),
        backlog_table(overview),
    ]


def report_tables(overview: Overview, ranking: Bottlenecks) -> list[Table]:
    """Every table of the report, in the order of the page."""
    return [*ranking_tables(ranking), *overview_tables(overview)]


# --- formatting (page and PDF) ---------------------------------------------------------------


def _number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",")


def format_cell(value: Any, kind: str) -> str:
    """A cell as the Italian page and PDF show it."""
    if value is None:
        return "–"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if kind == TEXT:
        return str(value)
    if kind == COUNT:
        return _number(float(value), 0)
    if kind == DAYS:
        return _number(float(value), 1)
    if kind == SHARE:
        return _number(float(value) * 100, 0) + "%"
    if kind == DELTA_DAYS:
        return ("+" if value > 0 else "") + _number(float(value), 1)
    if kind == DELTA_POINTS:
        return ("+" if value > 0 else "") + _number(float(value) * 100, 0) + " pp"
    return str(value)
