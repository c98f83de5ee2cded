"""The simplification dashboard (/report/) and its exports. Analysts and administrators only.

Everyone else gets 404, as on the other role-restricted pages; anonymous visitors are sent to
the login page. The filter travels in the query string (``dal``, ``al``, ``tipo``, ``comune``,
``sportello``, ``ente``) plus ``istante``, the instant the figures are computed at: export
links carry it, so a file holds exactly the rows that were on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from portale.accounts.models import ROLE_ADMIN, ROLE_ANALYST
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db, login_manager
from portale.reports import cache, charts, exports, services
from portale.reports.filters import InvalidFilter, ReportFilter, parse_filter
from portale.reports.models import EXPORT_FORMATS
from portale.reports.tables import format_cell
from portale.storage import storage_from_config

bp = Blueprint("reports", __name__, url_prefix="/report")
FILTER_FIELDS = ("dal", "al", "tipo", "comune", "sportello", "ente")


@bp.before_request
def _analysts_only() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(ROLE_ANALYST, ROLE_ADMIN):
        abort(404)
    return None


def as_of_from(args: Any) -> datetime:
    """The ``istante`` of an export link, or now; never in the future."""
    now = utcnow()
    try:
        moment = datetime.fromisoformat(args.get("istante", ""))
    except ValueError:
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(moment, now)


def read_filter(args: Any, as_of: datetime) -> tuple[ReportFilter | None, dict[str, str]]:
    """The filter of the query string, or the messages saying what is wrong with it."""
    choices = services.filter_choices(db.session)
    try:
        report = parse_filter(args, today=local_date(as_of))
    except InvalidFilter as error:
        # say everything that is wrong at once: also the names that match nothing
        named = ReportFilter(
            as_of.date(), as_of.date(), args.get("tipo") or None, args.get("comune") or None
        )
        return None, {**services.unknown_choices(choices, named), **error.errors}
    errors = services.unknown_choices(choices, report)
    return (None, errors) if errors else (report, {})


def _params(report: ReportFilter, as_of: datetime) -> dict[str, str]:
    return {**report.as_params(), "istante": as_of.isoformat()}


@dataclass(frozen=True)
class Scope:
    """What the page says about the figures around them: the filter in words, the instant."""

    as_of: datetime
    description: list[tuple[str, str]]
    previous: ReportFilter


def _figures(report: ReportFilter, as_of: datetime, *, pinned: bool) -> tuple[Scope, Markup]:
    """The rendered figures of ``report``, kept per filter and language until the next
    summary change (:mod:`portale.reports.cache`); an export link's instant is its own key."""
    key = (
        cache.summary_version(db.session),
        local_date(utcnow()),
        str(get_locale()),
        tuple(sorted(report.as_params().items())),
        as_of.isoformat() if pinned else None,
    )

    def compute() -> tuple[Scope, Markup]:
        built = exports.build_report(db.session, report, as_of)
        html = render_template(
            "reports/_figures.html",
            report=built,
            tables={t.key: t for t in built.tables},
            charts=charts.report_charts(built.overview),
            format_cell=format_cell,
            stage_labels=charts.STAGE_LABELS,
        )
        scope = Scope(built.as_of, built.description, built.ranking.previous)
        return scope, Markup(html)

    return cache.dashboards.get_or_compute(key, compute)


@bp.get("/")
def dashboard() -> str:
    as_of = as_of_from(request.args)
    report, errors = read_filter(request.args, as_of)
    typed = {name: request.args.get(name, "") for name in FILTER_FIELDS}
    context: dict[str, Any] = {
        "choices": services.filter_choices(db.session),
        "typed": typed,
        "errors": errors,
        "report": None,
        "format_cell": format_cell,
        "stage_labels": charts.STAGE_LABELS,
    }
    if report is not None:
        scope, figures = _figures(report, as_of, pinned=bool(request.args.get("istante")))
        if not request.args.get("dal"):
            typed.update(dal=report.start.isoformat(), al=report.end.isoformat())
        context.update(
            report=scope,
            figures=figures,
            params=_params(report, scope.as_of),
            exports=exports.recent_exports(db.session, current_user.id, limit=5),
        )
    return render_template("reports/dashboard.html", **context)


@bp.get("/esporta.<fmt>")
def export_now(fmt: str) -> Response:
    """CSV and XLSX straight away (aggregated rows: small and quick)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    as_of = as_of_from(request.args)
    report, errors = read_filter(request.args, as_of)
    if report is None:
        return redirect(url_for("reports.dashboard", **request.args))
    data = exports.RENDERERS[fmt](exports.build_report(db.session, report, as_of))
    from io import BytesIO

    return send_file(
        BytesIO(data),
        mimetype=exports.MIME[fmt],
        as_attachment=True,
        download_name=exports.export_filename(report, fmt),
    )


@bp.post("/esportazioni")
def export_request() -> Response:
    fmt = request.form.get("formato", "")
    if fmt not in EXPORT_FORMATS:
        abort(404)
    as_of = as_of_from(request.form)
    report, errors = read_filter(request.form, as_of)
    if report is None:
        return redirect(
            url_for("reports.dashboard", **{k: request.form.get(k, "") for k in FILTER_FIELDS})
        )
    export = exports.request_export(
        db.session, actor_id=current_user.id, fmt=fmt, params=report.as_params(), as_of=as_of
    )
    return redirect(url_for("reports.export_status", export_id=export.id))


@bp.get("/esportazioni/<int:export_id>")
def export_status(export_id: int) -> str:
    export = exports.export_for(db.session, export_id, current_user.id) or abort(404)
    params = export.params or {}
    period = [date.fromisoformat(params[k]) if params.get(k) else None for k in ("dal", "al")]
    return render_template("reports/export.html", export=export, period=period)


@bp.get("/esportazioni/<int:export_id>/scarica")
def export_download(export_id: int) -> Response:
    export = exports.export_for(db.session, export_id, current_user.id) or abort(404)
    if export.status != "done" or not export.storage_key:
        abort(404)
    storage = storage_from_config(dict(_config()))
    return send_file(
        storage.open(export.storage_key),
        mimetype=exports.MIME[export.format],
        as_attachment=True,
        download_name=export.filename,
    )


def _config() -> Any:
    from flask import current_app

    return current_app.config
