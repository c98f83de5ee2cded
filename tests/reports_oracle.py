"""The report's figures as the portal computed them before the roll-ups (issue 16): every figure
by SQL aggregation over ``procedure_summary``, each statement rescanning the period.

Kept, verbatim but for the filter-choice helpers, as the oracle the roll-up path must equal on
the same generated data (tests/integration/test_report_rollups.py), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from portale.accounts.models import Authority
from portale.cases.models import OpinionRequest, ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.reports import sql
from portale.reports.filters import ReportFilter
from portale.reports.stats import grouped_percentiles

S = ProcedureSummary
STAGES = (lc.BALL_COMPANY, lc.BALL_OFFICE, lc.BALL_AUTHORITY, lc.BALL_DISPATCH)
# States in which the company holds the ball: the last day still moves, so not "overdue".
COMPANY_STATES = (lc.CORRECTION_REQUESTED, lc.INTEGRATION_REQUESTED)
EARLIEST = date(1900, 1, 1)


# The rows are the service's own dataclasses: only the computation is the old one.
from portale.reports.services import (  # noqa: E402
    AuthorityRank,
    BacklogPoint,
    Bottlenecks,
    GroupRow,
    LateTypeRank,
    MonthPoint,
    OpinionRow,
    Overview,
    StageRank,
)

# --- the report ----------------------------------------------------------------------------


def overview(session: Session, report: ReportFilter, *, as_of: datetime | None = None) -> Overview:
    """The figures per procedure type (and for all of them), backlog, trend and opinions."""
    as_of = as_of or utcnow()
    today = local_date(as_of)
    titles = type_titles(session)
    by_type = _group_figures(session, report, today, [S.type_code], titles)
    total = _group_figures(session, report, today, [], titles).get(()) or _empty_group()
    weeks = week_ends(report)
    return Overview(
        filter=report,
        as_of=as_of,
        groups=[by_type[k] for k in sorted(by_type, key=lambda k: titles.get(k[0], k[0]))],
        total=total,
        weeks=weeks,
        backlog=_with_total(_backlog(session, report, weeks, [S.type_code]), weeks),
        months=_months(session, report),
        opinions=opinion_rows(session, report, as_of),
    )


def bottlenecks(
    session: Session,
    report: ReportFilter,
    *,
    as_of: datetime | None = None,
    limit: int = 10,
    opinions: list[OpinionRow] | None = None,
) -> Bottlenecks:
    """Stages and authorities holding the most waiting time, and the types most often late,
    each against :meth:`ReportFilter.previous`.

    ``opinions`` are the period's opinion rows if the caller has them already (the overview
    computes the same rows at the same ``as_of``): they are not computed twice.
    """
    as_of = as_of or utcnow()
    today = local_date(as_of)
    previous = report.previous()
    return Bottlenecks(
        filter=report,
        previous=previous,
        as_of=as_of,
        stages=_stage_ranking(session, report, previous),
        authorities=_authority_ranking(session, report, previous, as_of, opinions)[:limit],
        types=_late_ranking(session, report, previous, today)[:limit],
    )


def type_titles(session: Session) -> dict[str, str]:
    return dict(session.execute(select(ProcedureType.code, ProcedureType.title)).all())


def week_ends(report: ReportFilter) -> list[date]:
    """The Sundays of the period (its last day if it holds none)."""
    first = report.start + timedelta(days=(6 - report.start.weekday()) % 7)
    if first > report.end:
        return [report.end]
    count = (report.end - first).days // 7 + 1
    return [first + timedelta(weeks=i) for i in range(count)]


# --- figures per group ---------------------------------------------------------------------


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _closed() -> ColumnElement[bool]:
    return S.decided_on.is_not(None)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(
        S.decided_on.is_(None),
        S.last_day.is_not(None),
        S.last_day < today,
        S.state.not_in(COMPANY_STATES),
    )


def _empty_group(type_code: str | None = None, title: str = "") -> GroupRow:
    return GroupRow(type_code, title, 0, 0, 0, *([None] * 6), 0, 0, 0, 0, 0, 0, *([None] * 4))


def _group_figures(
    session: Session,
    report: ReportFilter,
    today: date,
    group_by: Sequence[Any],
    titles: dict[str, str],
) -> dict[tuple[Any, ...], GroupRow]:
    where = report.conditions()
    closed = _closed()

    def closed_mean(column: Any) -> Any:
        return func.avg(case((closed, column)))

    query = (
        select(
            *group_by,
            func.count().label("filed"),
            func.sum(_flag(closed)).label("closed"),
            func.max(case((closed, S.days_net))).label("net_max"),
            func.max(case((closed, S.days_gross))).label("gross_max"),
            func.sum(_flag(closed & S.within_term.is_(True))).label("within_term"),
            func.sum(_flag(closed & S.within_term.is_not(None))).label("with_term"),
            func.sum(_flag(_overdue(today))).label("overdue_open"),
            func.sum(_flag(S.silent_assent.is_(True))).label("silent"),
            func.sum(S.integration_requests).label("integrations"),
            func.sum(_flag(closed & (S.integration_requests == 0))).label("ftr"),
            closed_mean(S.days_company).label("company"),
            closed_mean(S.days_office).label("office"),
            closed_mean(S.days_authority).label("authority"),
            closed_mean(S.days_dispatch).label("dispatch"),
        )
        .where(*where)
        .group_by(*group_by)
    )
    closed_where = [*where, closed]
    net = grouped_percentiles(session, S.days_net, group_by=group_by, where=closed_where)
    gross = grouped_percentiles(session, S.days_gross, group_by=group_by, where=closed_where)
    result: dict[tuple[Any, ...], GroupRow] = {}
    for row in session.execute(query):
        key = tuple(row[: len(group_by)])
        code = key[0] if key else None
        net_median, net_p90 = net.get(key, (None, None))
        gross_median, gross_p90 = gross.get(key, (None, None))
        filed, n_closed = int(row.filed), int(row.closed or 0)
        if not filed:
            continue
        result[key] = GroupRow(
            type_code=code,
            title=titles.get(code, code) if code else "",
            filed=filed,
            closed=n_closed,
            open=filed - n_closed,
            net_median=net_median,
            net_p90=net_p90,
            net_max=_float(row.net_max),
            gross_median=gross_median,
            gross_p90=gross_p90,
            gross_max=_float(row.gross_max),
            within_term=int(row.within_term or 0),
            with_term=int(row.with_term or 0),
            overdue_open=int(row.overdue_open or 0),
            silent_approvals=int(row.silent or 0),
            integration_requests=int(row.integrations or 0),
            first_time_right=int(row.ftr or 0),
            days_company=_float(row.company),
            days_office=_float(row.office),
            days_authority=_float(row.authority),
            days_dispatch=_float(row.dispatch),
        )
    return result


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _backlog(
    session: Session, report: ReportFilter, weeks: list[date], group_by: Sequence[Any]
) -> list[BacklogPoint]:
    """Running sum, per group, of +1 per filing and -1 per decision, bucketed by week end."""
    first, last = weeks[0], weeks[-1]
    # Every procedure received by the last week end counts, whenever it was filed.
    where = replace(report, start=EARLIEST, end=last).conditions()

    def week(column: Any) -> ColumnElement[int]:
        return case((column <= first, 0), else_=(sql.whole_days(session, column, first) + 6) // 7)

    labels = [c.label(f"g{i}") for i, c in enumerate(group_by)]
    deltas = union_all(
        select(*labels, week(S.received_on).label("k"), literal(1).label("d")).where(*where),
        select(*labels, week(S.decided_on).label("k"), literal(-1).label("d")).where(
            *where, S.decided_on.is_not(None), S.decided_on <= last
        ),
    ).subquery()
    keys = [deltas.c[f"g{i}"] for i in range(len(group_by))]
    per_week = (
        select(*keys, deltas.c.k, func.sum(deltas.c.d).label("n"))
        .group_by(*keys, deltas.c.k)
        .subquery()
    )
    pkeys = [per_week.c[f"g{i}"] for i in range(len(group_by))]
    running = select(
        *pkeys,
        per_week.c.k,
        func.sum(per_week.c.n).over(partition_by=pkeys or None, order_by=per_week.c.k),
    )
    series: dict[Any, dict[int, int]] = {}
    for row in session.execute(running):
        code = row[0] if group_by else None
        series.setdefault(code, {})[int(row[-2])] = int(row[-1])
    if not group_by:
        series.setdefault(None, {})  # the total has a value every week, zero if nothing
    points = []
    for code in sorted(series, key=lambda c: c or ""):
        known, value = series[code], 0
        for index, end in enumerate(weeks):
            value = known.get(index, value)  # weeks with no change keep the running value
            points.append(BacklogPoint(end, code, value))
    return points


def _with_total(points: list[BacklogPoint], weeks: list[date]) -> list[BacklogPoint]:
    """Add the all-types series: the sum of the types' series, week by week (a few hundred
    numbers; a second scan of the summary table would cost as much as the first)."""
    total = dict.fromkeys(weeks, 0)
    for point in points:
        total[point.week_end] += point.open
    return points + [BacklogPoint(week, None, total[week]) for week in weeks]


def _months(session: Session, report: ReportFilter) -> list[MonthPoint]:
    month = sql.month_of(session, S.received_on)
    where = [*report.conditions(), _closed()]
    medians = grouped_percentiles(
        session, S.days_net, group_by=[month], where=where, fractions=(0.5,)
    )
    counts = session.execute(select(month, func.count()).where(*where).group_by(month))
    return [
        MonthPoint(str(m), int(n), medians.get((m,), (None,))[0])
        for m, n in sorted(counts.all(), key=lambda r: str(r[0]))
    ]


# --- opinions ------------------------------------------------------------------------------


def _opinion_where(op: Any, report: ReportFilter) -> list[ColumnElement[bool]]:
    where = [op.procedure_id == S.procedure_id, *report.conditions()]
    if report.authority_id is not None:
        where.append(op.authority_id == report.authority_id)
    return where


def opinion_rows(session: Session, report: ReportFilter, as_of: datetime) -> list[OpinionRow]:
    """Opinions asked on the report's procedures, per authority, most waiting time first."""
    today = local_date(as_of)
    # An alias: the authority filter's EXISTS reads opinion_request too, uncorrelated.
    op = aliased(OpinionRequest)
    answered = op.answered_at.is_not(None)
    late = case(
        (answered, sql.rome_day(session, op.answered_at) > op.due_on), else_=op.due_on < today
    )
    waited = sql.days_between(
        session, func.coalesce(op.answered_at, sql.timestamp(as_of)), op.requested_at
    )
    where = _opinion_where(op, report)
    query = (
        select(
            op.authority_id,
            Authority.code,
            Authority.name,
            func.count().label("requested"),
            func.sum(_flag(answered)).label("answered"),
            func.sum(_flag(late)).label("late"),
            func.sum(waited).label("waiting"),
        )
        .join(Authority, Authority.id == op.authority_id)
        .where(*where)
        .group_by(op.authority_id, Authority.code, Authority.name)
    )
    medians = grouped_percentiles(
        session,
        sql.days_between(session, op.answered_at, op.requested_at),
        group_by=[op.authority_id],
        where=[*where, answered],
        fractions=(0.5,),
    )
    rows = [
        OpinionRow(
            authority_id=r.authority_id,
            code=r.code,
            name=r.name,
            requested=int(r.requested),
            answered=int(r.answered or 0),
            late=int(r.late or 0),
            median_days=medians.get((r.authority_id,), (None,))[0],
            waiting_days=float(r.waiting or 0.0),
        )
        for r in session.execute(query)
    ]
    return sorted(rows, key=lambda r: (-r.waiting_days, r.code))


# --- ranking -------------------------------------------------------------------------------


def _stage_totals(session: Session, report: ReportFilter) -> tuple[int, dict[str, float]]:
    row = session.execute(
        select(
            func.count(),
            func.sum(S.days_company),
            func.sum(S.days_office),
            func.sum(S.days_authority),
            func.sum(S.days_dispatch),
        ).where(*report.conditions(), _closed())
    ).one()
    return int(row[0]), {stage: float(v or 0.0) for stage, v in zip(STAGES, row[1:], strict=True)}


def _stage_ranking(
    session: Session, report: ReportFilter, previous: ReportFilter
) -> list[StageRank]:
    count, totals = _stage_totals(session, report)
    prev_count, prev_totals = _stage_totals(session, previous)
    grand = sum(totals.values())
    ranks = [
        StageRank(
            stage=stage,
            days_total=totals[stage],
            days_per_procedure=totals[stage] / count if count else None,
            share=totals[stage] / grand if grand else None,
            previous_per_procedure=prev_totals[stage] / prev_count if prev_count else None,
        )
        for stage in STAGES
    ]
    return sorted(ranks, key=lambda r: (-r.days_total, STAGES.index(r.stage)))


def _authority_ranking(
    session: Session,
    report: ReportFilter,
    previous: ReportFilter,
    as_of: datetime,
    current: list[OpinionRow] | None = None,
) -> list[AuthorityRank]:
    before = {r.authority_id: r for r in opinion_rows(session, previous, as_of)}
    ranks = []
    for row in current if current is not None else opinion_rows(session, report, as_of):
        old = before.get(row.authority_id)
        ranks.append(
            AuthorityRank(
                authority_id=row.authority_id,
                code=row.code,
                name=row.name,
                waiting_days=row.waiting_days,
                requested=row.requested,
                median_days=row.median_days,
                late_share=row.late_share,
                previous_waiting_days=old.waiting_days if old else None,
                previous_median_days=old.median_days if old else None,
            )
        )
    return ranks


def _late_counts(session: Session, report: ReportFilter, today: date) -> dict[str, tuple[int, int]]:
    late_closed = _closed() & S.within_term.is_(False)
    assessed = (_closed() & S.within_term.is_not(None)) | _overdue(today)
    query = (
        select(
            S.type_code,
            func.sum(_flag(late_closed | _overdue(today))),
            func.sum(_flag(assessed)),
        )
        .where(*report.conditions())
        .group_by(S.type_code)
    )
    return {code: (int(late or 0), int(n or 0)) for code, late, n in session.execute(query)}


def _late_ranking(
    session: Session, report: ReportFilter, previous: ReportFilter, today: date
) -> list[LateTypeRank]:
    titles = type_titles(session)
    now = _late_counts(session, report, today)
    before = _late_counts(session, previous, today)
    ranks = [
        LateTypeRank(
            type_code=code,
            title=titles.get(code, code),
            late=late,
            assessed=assessed,
            previous_late=before[code][0] if code in before else None,
            previous_assessed=before[code][1] if code in before else None,
        )
        for code, (late, assessed) in now.items()
        if late
    ]
    return sorted(ranks, key=lambda r: (-r.late, -(r.late_share or 0.0), r.type_code))


__all__ = [
    "AuthorityRank",
    "BacklogPoint",
    "Bottlenecks",
    "GroupRow",
    "LateTypeRank",
    "MonthPoint",
    "OpinionRow",
    "Overview",
    "StageRank",
    "bottlenecks",
    "opinion_rows",
    "overview",
    "type_titles",
    "week_ends",
]
