"""The simplification report through the API: the same rows as the dashboard and its exports.

``GET /api/v1/reports/overview`` and ``GET /api/v1/reports/bottlenecks`` take the dashboard's
filter parameters (``dal``, ``al``, ``tipo``, ``comune``, ``sportello``, ``ente``, and
``istante`` for the instant of the figures). Analysts and administrators only; for anyone else
the resources do not exist (404).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields

from portale.accounts.models import ROLE_ADMIN, ROLE_ANALYST
from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.api.schemas import ItalianSchema
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db
from portale.reports import services
from portale.reports.filters import InvalidFilter, ReportFilter, parse_filter

blp = TokenBlueprint(
    "api_reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Simplification reports: times, backlog, opinions and bottlenecks (analysts).",
)


class ReportQuerySchema(ItalianSchema):
    dal = fields.String(load_default=None, metadata={"description": "first filing day, YYYY-MM-DD"})
    al = fields.String(load_default=None, metadata={"description": "last filing day, YYYY-MM-DD"})
    tipo = fields.String(load_default=None, metadata={"description": "procedure type code"})
    comune = fields.String(load_default=None, metadata={"description": "ISTAT code"})
    sportello = fields.String(load_default=None, metadata={"description": "office id"})
    ente = fields.String(load_default=None, metadata={"description": "authority id"})
    istante = fields.String(
        load_default=None,
        metadata={"description": "instant of the figures (ISO 8601), default now"},
    )


class FilterSchema(ma.Schema):
    start = fields.Date()
    end = fields.Date()
    type_code = fields.String(allow_none=True)
    municipality = fields.String(allow_none=True)
    office_id = fields.Integer(allow_none=True)
    authority_id = fields.Integer(allow_none=True)


class GroupSchema(ma.Schema):
    type_code = fields.String(allow_none=True, metadata={"description": "null: all the types"})
    title = fields.String()
    filed = fields.Integer()
    closed = fields.Integer()
    open = fields.Integer()
    net_median = fields.Float(allow_none=True)
    net_p90 = fields.Float(allow_none=True)
    net_max = fields.Float(allow_none=True)
    gross_median = fields.Float(allow_none=True)
    gross_p90 = fields.Float(allow_none=True)
    gross_max = fields.Float(allow_none=True)
    within_term = fields.Integer()
    with_term = fields.Integer()
    within_term_share = fields.Float(allow_none=True)
    overdue_open = fields.Integer()
    silent_approvals = fields.Integer()
    integration_requests = fields.Integer()
    integrations_per_procedure = fields.Float(allow_none=True)
    first_time_right = fields.Integer()
    first_time_right_share = fields.Float(allow_none=True)
    days_company = fields.Float(allow_none=True)
    days_office = fields.Float(allow_none=True)
    days_authority = fields.Float(allow_none=True)
    days_dispatch = fields.Float(allow_none=True)


class BacklogSchema(ma.Schema):
    week_end = fields.Date()
    type_code = fields.String(allow_none=True)
    open = fields.Integer()


class MonthSchema(ma.Schema):
    month = fields.String()
    closed = fields.Integer()
    net_median = fields.Float(allow_none=True)


class OpinionFiguresSchema(ma.Schema):
    authority_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    requested = fields.Integer()
    answered = fields.Integer()
    open = fields.Integer()
    late = fields.Integer()
    late_share = fields.Float(allow_none=True)
    median_days = fields.Float(allow_none=True)
    waiting_days = fields.Float()


class OverviewSchema(ma.Schema):
    filter = fields.Nested(FilterSchema)
    as_of = fields.DateTime()
    groups = fields.List(fields.Nested(GroupSchema))
    total = fields.Nested(GroupSchema)
    backlog = fields.List(fields.Nested(BacklogSchema))
    months = fields.List(fields.Nested(MonthSchema))
    opinions = fields.List(fields.Nested(OpinionFiguresSchema))


class StageSchema(ma.Schema):
    stage = fields.String(metadata={"description": "company, office, authority or dispatch"})
    days_total = fields.Float()
    days_per_procedure = fields.Float(allow_none=True)
    share = fields.Float(allow_none=True)
    previous_per_procedure = fields.Float(allow_none=True)
    trend = fields.Float(allow_none=True)


class AuthorityRankSchema(ma.Schema):
    authority_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    waiting_days = fields.Float()
    requested = fields.Integer()
    median_days = fields.Float(allow_none=True)
    late_share = fields.Float(allow_none=True)
    previous_waiting_days = fields.Float(allow_none=True)
    previous_median_days = fields.Float(allow_none=True)
    trend = fields.Float(allow_none=True)


class LateTypeSchema(ma.Schema):
    type_code = fields.String()
    title = fields.String()
    late = fields.Integer()
    assessed = fields.Integer()
    late_share = fields.Float(allow_none=True)
    previous_late = fields.Integer(allow_none=True)
    previous_assessed = fields.Integer(allow_none=True)
    previous_late_share = fields.Float(allow_none=True)
    trend = fields.Float(allow_none=True)


class BottlenecksSchema(ma.Schema):
    filter = fields.Nested(FilterSchema)
    previous = fields.Nested(FilterSchema)
    as_of = fields.DateTime()
    stages = fields.List(fields.Nested(StageSchema))
    authorities = fields.List(fields.Nested(AuthorityRankSchema))
    types = fields.List(fields.Nested(LateTypeSchema))


def _analyst() -> None:
    if not current_api_user().has_role(ROLE_ANALYST, ROLE_ADMIN):
        raise ApiError(404, _("Risorsa non trovata."))


def _as_of(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422,
            _("Dati non validi: controlla i campi indicati."),
            errors={"istante": _("Istante non valido: usa il formato ISO 8601.")},
        ) from None
    return min(moment if moment.tzinfo else moment.replace(tzinfo=UTC), utcnow())


def _filter(args: dict[str, Any]) -> tuple[ReportFilter, datetime]:
    as_of = _as_of(args.get("istante"))
    plain = {k: v for k, v in args.items() if v is not None and k != "istante"}
    try:
        report = parse_filter(plain, today=local_date(as_of))
    except InvalidFilter as error:
        errors: dict[str, Any] = error.errors
    else:
        errors = services.unknown_choices(services.filter_choices(db.session), report)
        if not errors:
            return report, as_of
    raise ApiError(422, _("Dati non validi: controlla i campi indicati."), errors=errors)


def _with_properties(row: Any, *names: str) -> dict[str, Any]:
    data = asdict(row)
    data.update({name: getattr(row, name) for name in names})
    return data


@blp.route("/overview", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, OverviewSchema)
def overview(args: dict[str, Any]) -> dict[str, Any]:
    """Figures per procedure type and overall, weekly backlog, monthly trend, opinions."""
    _analyst()
    report, as_of = _filter(args)
    result = services.overview(db.session, report, as_of=as_of)
    group_props = ("within_term_share", "integrations_per_procedure", "first_time_right_share")
    return {
        "filter": asdict(report),
        "as_of": as_of,
        "groups": [_with_properties(g, *group_props) for g in result.groups],
        "total": _with_properties(result.total, *group_props),
        "backlog": [asdict(p) for p in result.backlog],
        "months": [asdict(m) for m in result.months],
        "opinions": [_with_properties(o, "open", "late_share") for o in result.opinions],
    }


@blp.route("/bottlenecks", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, BottlenecksSchema)
def bottlenecks(args: dict[str, Any]) -> dict[str, Any]:
    """Stages and authorities holding the most waiting time, types most often late, with
    their trend against the previous period of the same length."""
    _analyst()
    report, as_of = _filter(args)
    result = services.bottlenecks(db.session, report, as_of=as_of)
    return {
        "filter": asdict(report),
        "previous": asdict(result.previous),
        "as_of": as_of,
        "stages": [_with_properties(s, "trend") for s in result.stages],
        "authorities": [_with_properties(a, "trend") for a in result.authorities],
        "types": [
            _with_properties(t, "late_share", "previous_late_share", "trend") for t in result.types
        ],
    }
