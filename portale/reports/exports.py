"""Exports of the report: CSV, XLSX (openpyxl) and a PDF report in Italian (WeasyPrint).

Each export renders the tables of :func:`portale.reports.tables.report_tables` for one filter
at one instant (``as_of``), the same rows the dashboard shows. CSV and XLSX are quick and are
served directly; any format can also run as a job (:func:`request_export`, an outbox job
``reports.export``) that records its progress on a :class:`~portale.reports.models.ReportExport`
row and stores the file, for the PDF whose rendering time grows with its pages.

The PDF uses block layout only and plain tables of a few rows (PERFORMANCE.md: nested flexbox
is catastrophically slow in WeasyPrint); its charts are the dashboard's inline SVG.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority, Office
from portale.config import PROJECT_ROOT
from portale.db import utcnow
from portale.outbox.services import JobContext, enqueue, register_handler
from portale.reference.models import Municipality
from portale.reports import charts, services
from portale.reports.filters import ReportFilter, parse_filter
from portale.reports.models import (
    EXPORT_DONE,
    EXPORT_FAILED,
    EXPORT_FORMATS,
    EXPORT_RUNNING,
    ReportExport,
)
from portale.reports.spreadsheet import neutralise, neutralise_row
from portale.reports.tables import DAYS, SHARE, Table, format_cell, report_tables
from portale.storage import AbstractStorage, new_key

EXPORT_JOB = "reports.export"
ROME = ZoneInfo("Europe/Rome")
TEMPLATES = PROJECT_ROOT / "templates"
STATIC = PROJECT_ROOT / "portale" / "static"
STYLESHEET = TEMPLATES / "pdf" / "report.css"
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "xes": "application/xml",
}


@dataclass(frozen=True)
class Report:
    """Everything an export or the page shows, computed once."""

    filter: ReportFilter
    as_of: datetime
    overview: services.Overview
    ranking: services.Bottlenecks
    tables: list[Table]
    description: list[tuple[str, str]]  # the filter in words: (label, value)


def build_report(session: Session, report: ReportFilter, as_of: datetime) -> Report:
    overview, ranking = services.dashboard(session, report, as_of=as_of)
    return Report(
        report,
        as_of,
        overview,
        ranking,
        report_tables(overview, ranking),
        describe_filter(session, report),
    )


def describe_filter(session: Session, report: ReportFilter) -> list[tuple[str, str]]:
    """The filter as label/value pairs in words (names, not ids)."""
    lines = [
        (
            str(_l("Periodo di presentazione")),
            f"{report.start.strftime('%d/%m/%Y')} – {report.end.strftime('%d/%m/%Y')}",
        )
    ]
    if report.type_code:
        titles = services.type_titles(session)
        lines.append(
            (str(_l("Tipo di procedimento")), titles.get(report.type_code, report.type_code))
        )
    if report.municipality:
        town = session.get(Municipality, report.municipality)
        lines.append((str(_l("Comune")), town.name if town else report.municipality))
    if report.office_id is not None:
        office = session.get(Office, report.office_id)
        lines.append((str(_l("Sportello")), office.name if office else str(report.office_id)))
    if report.authority_id is not None:
        authority = session.get(Authority, report.authority_id)
        lines.append((str(_l("Ente")), authority.name if authority else str(report.authority_id)))
    return lines


def export_filename(report: ReportFilter, fmt: str) -> str:
    return f"report-tempi-{report.start.isoformat()}-{report.end.isoformat()}.{fmt}"


# --- CSV and XLSX ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value if isinstance(value, int | str) else str(value)


def to_csv(report: Report) -> bytes:
    """One CSV with a section per table (title line, header, rows, blank line); UTF-8 with BOM
    and semicolons, as Italian spreadsheets expect."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for label, value in report.description:
        writer.writerow(neutralise_row([label, value]))
    writer.writerow([str(_l("Dati al")), report.as_of.astimezone(ROME).strftime("%d/%m/%Y %H:%M")])
    writer.writerow([])
    for table in report.tables:
        writer.writerow(neutralise_row([str(table.title)]))
        writer.writerow(neutralise_row([str(c.label) for c in table.columns]))
        for row in table.rows:
            writer.writerow([_csv_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(value: Any, kind: str) -> str:
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",")
    return neutralise(value) if isinstance(value, str) else str(value)


def to_xlsx(report: Report) -> bytes:
    """A workbook: the filter on the first sheet, then one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = str(_l("Filtro"))[:31]
    for label, value in report.description:
        sheet.append(neutralise_row([label, value]))
    sheet.append([str(_l("Dati al")), report.as_of.astimezone(ROME).replace(tzinfo=None)])
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 40
    for table in report.tables:
        ws = book.create_sheet(table.key[:31])
        ws.append(neutralise_row([str(table.title)]))
        ws["A1"].font = Font(bold=True, size=12)
        ws.append(neutralise_row([str(c.label) for c in table.columns]))
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            ws.append(neutralise_row(_plain(v) if v is not None else None for v in row))
        for index, column in enumerate(table.columns, start=1):
            letter = ws.cell(row=2, column=index).column_letter
            ws.column_dimensions[letter].width = 34 if index == 1 else 16
            number_format = {SHARE: "0%", DAYS: "0.0"}.get(column.kind)
            if number_format:
                for (cell,) in ws.iter_rows(min_row=3, min_col=index, max_col=index):
                    cell.number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------


@functools.cache
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.globals["_"] = gettext
    env.filters["cell"] = format_cell
    return env


@functools.cache
def _weasy() -> tuple[Any, Any]:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(filename=str(STYLESHEET), font_config=fonts, base_url=str(STATIC) + "/")
    return fonts, css


def pdf_environment() -> jinja2.Environment:
    """The Jinja environment of the PDF templates (``templates/pdf/``), for every area's PDFs."""
    return _jinja()


def html_to_pdf(html_text: str) -> bytes:
    """A PDF of HTML written for the report's stylesheet (``templates/pdf/report.css``)."""
    from weasyprint import HTML

    fonts, css = _weasy()
    html = HTML(string=html_text, base_url=str(STATIC) + "/")
    return html.write_pdf(stylesheets=[css], font_config=fonts)


def render_pdf_html(report: Report) -> str:
    return (
        _jinja()
        .get_template("pdf/report.html")
        .render(
            report=report,
            overview=report.overview,
            ranking=report.ranking,
            tables={t.key: t for t in report.tables},
            charts=charts.report_charts(report.overview),
            stage_labels=charts.STAGE_LABELS,
            as_of=report.as_of.astimezone(ROME).strftime("%d/%m/%Y %H:%M"),
            generated_at=datetime.now(ROME).strftime("%d/%m/%Y %H:%M"),
        )
    )


def to_pdf(report: Report) -> bytes:
    return html_to_pdf(render_pdf_html(report))


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}


# --- exports as a job ------------------------------------------------------------------------

# Reports of other areas that run as the same kind of job (the programme's quarterly report):
# ``params["kind"]`` names one; its function renders (file bytes, file name), reporting progress.
ReportKind = Callable[[Session, ReportExport, Callable[[int], None]], tuple[bytes, str]]
REPORT_KINDS: dict[str, ReportKind] = {}


def register_report_kind(name: str, render: ReportKind) -> None:
    REPORT_KINDS[name] = render


def request_export(
    session: Session,
    *,
    actor_id: int,
    fmt: str,
    params: dict[str, str],
    as_of: datetime,
) -> ReportExport:
    """Queue an export of the report the person is looking at. Commits."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    export = ReportExport(requested_by_id=actor_id, format=fmt, params=dict(params), as_of=as_of)
    session.add(export)
    session.flush()
    enqueue(
        session, EXPORT_JOB, {"export_id": export.id}, idempotency_key=f"report-export:{export.id}"
    )
    session.commit()
    return export


def export_for(session: Session, export_id: int, user_id: int) -> ReportExport | None:
    """The export, if ``user_id`` asked for it (anyone else gets None: 404)."""
    export = session.get(ReportExport, export_id)
    if export is None or export.requested_by_id != user_id:
        return None
    return export


def recent_exports(session: Session, user_id: int, limit: int = 10) -> list[ReportExport]:
    return list(
        session.scalars(
            select(ReportExport)
            .where(ReportExport.requested_by_id == user_id)
            .order_by(ReportExport.id.desc())
            .limit(limit)
        )
    )


def _progress(session: Session, export: ReportExport, percent: int, status: str) -> None:
    export.progress, export.status = percent, status
    session.commit()


def run_export(session: Session, storage: AbstractStorage, export_id: int) -> ReportExport:
    """Compute, render and store one export, committing its progress as it goes."""
    export = session.get(ReportExport, export_id)
    if export is None:
        raise LookupError(export_id)
    if export.status == EXPORT_DONE:
        return export  # a job run twice does the work once
    _progress(session, export, 5, EXPORT_RUNNING)
    kind = (export.params or {}).get("kind")
    try:
        report_filter = parse_filter(export.params or {}, today=export.as_of.date())
        key = new_key(f"reports/{export.as_of:%Y}")
        filename = None
        if kind:
            data, filename = REPORT_KINDS[kind](
                session, export, lambda percent: _progress(session, export, percent, EXPORT_RUNNING)
            )
            storage.put(key, data)
            size = len(data)
        elif export.format == "xes":
            size = _store_event_log(session, storage, key, report_filter, export)
        else:
            report = build_report(session, report_filter, export.as_of)
            _progress(session, export, 50, EXPORT_RUNNING)
            data = RENDERERS[export.format](report)
            _progress(session, export, 90, EXPORT_RUNNING)
            storage.put(key, data)
            size = len(data)
    except Exception as error:
        session.rollback()
        export.status, export.error, export.finished_at = EXPORT_FAILED, str(error)[:500], utcnow()
        session.commit()
        raise
    export.storage_key, export.size = key, size
    if filename:
        export.filename = filename
    elif export.format == "xes":
        from portale.reports.eventlog import export_filename as event_log_filename

        export.filename = event_log_filename(report_filter, "xes")
    else:
        export.filename = export_filename(report_filter, export.format)
    export.status, export.progress, export.finished_at = EXPORT_DONE, 100, utcnow()
    session.commit()
    return export


def _progress_aside(session: Session, export_id: int, percent: int) -> None:
    # In a session of its own: committing the reading session would close the server-side
    # cursor the event log is streamed from.
    with Session(bind=session.get_bind()) as aside:
        export = aside.get(ReportExport, export_id)
        if export is not None:
            export.progress = percent
            aside.commit()


def _store_event_log(
    session: Session,
    storage: AbstractStorage,
    key: str,
    report_filter: ReportFilter,
    export: ReportExport,
) -> int:
    """Stream the XES log into a temporary file (memory stays flat at millions of events),
    then store it; the progress follows the chunks written."""
    import tempfile

    from portale.reports.eventlog import write_xes

    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for count, chunk in enumerate(write_xes(session, report_filter, now=export.as_of), 1):
            spool.write(chunk.encode("utf-8"))
            if count % 500 == 0:  # about every 30 MB: progress creeps towards 90%
                _progress_aside(session, export.id, min(89, 10 + count // 500))
        size = spool.tell()
        spool.seek(0)
        storage.put(key, spool)
    return size


def run_export_job(ctx: JobContext) -> dict[str, Any]:
    from portale.extensions import db
    from portale.storage import storage_from_config

    session = db.session_factory()
    try:
        export = run_export(session, storage_from_config(ctx.config), ctx.payload["export_id"])
        return {"export_id": export.id, "bytes": export.size}
    finally:
        session.close()


def register() -> None:
    register_handler(EXPORT_JOB, run_export_job, replace=True)
