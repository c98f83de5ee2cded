"""The programme's quarterly report for the metropolitan council: PDF and XLSX, as a job.

It holds, as of the end of the quarter: every target with its baseline, now, projection and
status; the offices compared for the busiest procedure types of the four quarters up to it;
and the proposals with their status and, for those in force, their measured effect. It runs as
a report export (:mod:`portale.reports.exports`): a row with its progress, an outbox job, a
file in storage, the same status page and download as the dashboard's exports.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.cases.models import ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.programme import labels, proposals, ranking, targets
from portale.programme.charts import target_chart
from portale.programme.figures import quarter_bounds, quarter_of
from portale.programme.models import MEASURE_MEDIAN, Proposal
from portale.reports import exports
from portale.reports.models import ReportExport

KIND = "programme"
FORMATS = ("pdf", "xlsx")
RANKED_TYPES = 4


def recent_quarters(today: date, count: int = 8) -> list[str]:
    """The last ``count`` quarters that have ended, newest first."""
    found, end = [], targets.last_ended_quarter_end(today)
    for _i in range(count):
        found.append(quarter_of(end))
        end = quarter_bounds(quarter_of(end))[0] - timedelta(days=1)
    return found


def request_report(session: Session, *, actor_id: int, quarter: str, fmt: str) -> ReportExport:
    """Queue the quarter's report. Commits."""
    start, end = quarter_bounds(quarter)
    as_of = min(datetime.combine(end + timedelta(days=1), time(), UTC), datetime.now(UTC))
    params = {"kind": KIND, "trimestre": quarter, "dal": start.isoformat(), "al": end.isoformat()}
    return exports.request_export(session, actor_id=actor_id, fmt=fmt, params=params, as_of=as_of)


@dataclass(frozen=True)
class ProgrammeReport:
    quarter: str
    end: date
    targets: list[targets.TargetProgress]
    rankings: list[ranking.Ranking]
    proposals: list[tuple[Proposal, proposals.Effect | None]]
    titles: dict[str, str]


def build(session: Session, quarter: str) -> ProgrammeReport:
    start, end = quarter_bounds(quarter)
    today = end + timedelta(days=1)
    year_start = end - timedelta(days=364)
    S = ProcedureSummary
    busiest = session.execute(
        select(S.type_code, func.count())
        .where(S.received_on >= year_start, S.received_on <= end, S.decided_on.is_not(None))
        .group_by(S.type_code)
        .order_by(func.count().desc(), S.type_code)
        .limit(RANKED_TYPES)
    ).all()
    titles = dict(session.execute(select(ProcedureType.code, ProcedureType.title)).all())
    return ProgrammeReport(
        quarter=quarter,
        end=end,
        targets=targets.progress_of_all(session, today=today),
        rankings=[
            ranking.rank_offices(
                session, type_code=code, measure=MEASURE_MEDIAN, start=year_start, end=end
            )
            for code, _n in busiest
        ],
        proposals=[
            (p, proposals.effect(session, p, today=today))
            for p in proposals.list_proposals(session)
        ],
        titles=titles,
    )


def _safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(rep: ProgrammeReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Obiettivi")[:31]
    sheet.append(
        [
            _("Obiettivo"),
            _("Tipo di procedimento"),
            _("Misura"),
            _("Soglia"),
            _("Riferimento"),
            _("Ora"),
            _("Proiezione alla scadenza"),
            _("Scadenza"),
            _("Stato"),
        ]
    )
    for p in rep.targets:
        t = p.target
        sheet.append(
            [
                _safe(t.title),
                rep.titles.get(t.type_code or "", _("Tutti i tipi")),
                str(labels.MEASURE_LABELS[t.measure]),
                t.threshold,
                p.overall.baseline.value,
                p.overall.now.value if p.overall.now else None,
                p.overall.projection,
                t.due_on,
                str(labels.TARGET_STATUS_LABELS[p.status]),
            ]
        )
    ws = book.create_sheet(_("Confronto sportelli")[:31])
    ws.append(
        [
            _("Tipo di procedimento"),
            _("Sportello"),
            _("Pratiche concluse"),
            _("Mediana dei giorni netti"),
            _("Intervallo al 95%: da"),
            _("a"),
            _("Posizione: da"),
            _("a"),
            _("Integrazioni per pratica"),
        ]
    )
    for rank in rep.rankings:
        for o in rank.offices:
            ws.append(
                [
                    rep.titles.get(rank.filter.type_code or "", ""),
                    o.name,
                    o.measured,
                    o.value,
                    o.band[0] if o.band else None,
                    o.band[1] if o.band else None,
                    o.rank_low,
                    o.rank_high,
                    o.integrations_per_procedure,
                ]
            )
    ws = book.create_sheet(_("Proposte")[:31])
    ws.append(
        [
            _("Proposta"),
            _("Stato"),
            _("In vigore dal"),
            _("Misura"),
            _("Prima"),
            _("Dopo"),
            _("Pratiche prima"),
            _("Pratiche dopo"),
        ]
    )
    for proposal, eff in rep.proposals:
        ws.append(
            [
                _safe(proposal.title),
                str(labels.STATUS_LABELS[proposal.status]),
                proposal.in_force_on,
                str(labels.MEASURE_LABELS[proposal.measure]),
                eff.before_value if eff else None,
                eff.after_value if eff else None,
                eff.before_n if eff else None,
                eff.after_n if eff else None,
            ]
        )
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 44
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_html(rep: ProgrammeReport) -> str:
    return (
        exports.pdf_environment()
        .get_template("pdf/programme_report.html")
        .render(
            rep=rep,
            charts={p.target.id: target_chart(p) for p in rep.targets},
            labels=labels,
            fmt=labels.format_measure,
            min_ranked=ranking.MIN_RANKED,
        )
    )


def to_pdf(rep: ProgrammeReport) -> bytes:
    return exports.html_to_pdf(render_html(rep))


def render(
    session: Session, export: ReportExport, progress: Callable[[int], None]
) -> tuple[bytes, str]:
    """The export job's work: (file bytes, file name)."""
    quarter = (export.params or {}).get("trimestre", "")
    quarter_bounds(quarter)  # a malformed quarter fails the job, with its message
    rep = build(session, quarter)
    progress(60)
    data = to_pdf(rep) if export.format == "pdf" else to_xlsx(rep)
    return data, f"programma-semplificazione-{quarter}.{export.format}"


def register() -> None:
    exports.register_report_kind(KIND, render)
