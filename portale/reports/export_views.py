"""Analysts' downloads of the raw event log (XES, OCEL 2.0), for process-mining tools.

They take the dashboard's query string (:func:`portale.reports.filters.parse_filter`) and
stream the file as it is written, so a log of millions of events never sits in memory.
Analysts and administrators only; anyone else gets 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db
from portale.reports import eventlog
from portale.reports.filters import InvalidFilter, ReportFilter, parse_filter

bp = Blueprint("report_exports", __name__, url_prefix="/report")

Writer = Callable[..., Iterator[str]]


@bp.before_request
@login_required
def _analysts_only() -> None:
    if not current_user.has_role("analyst", "admin"):
        abort(404)


def _stream(writer: Writer, mimetype: str, extension: str) -> Response | tuple[str, int]:
    try:
        flt: ReportFilter = parse_filter(request.args, today=local_date(utcnow()))
    except InvalidFilter as error:
        return render_template("reports/export_error.html", errors=error.errors), 400
    session: Session = db.session
    now: datetime = utcnow()
    chunks = writer(session, flt, now=now)
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    filename = eventlog.export_filename(flt, extension)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/eventlog.xes")
def eventlog_xes() -> Response | tuple[str, int]:
    return _stream(eventlog.write_xes, eventlog.XES_MIMETYPE, "xes")


@bp.get("/eventlog.jsonocel")
def eventlog_ocel() -> Response | tuple[str, int]:
    return _stream(eventlog.write_ocel, eventlog.OCEL_MIMETYPE, "jsonocel")
