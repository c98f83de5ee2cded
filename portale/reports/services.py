"""The simplification report: figures per procedure type and a bottleneck ranking.

Every figure is computed in SQL (grouping, window functions and
:func:`~portale.reports.stats.grouped_percentiles`) from ``procedure_summary``, the one row per
procedure the back office keeps current, and from ``opinion_request`` for the authorities.
Nothing here loads procedures into Python: the queries return one row per group (procedure
type, authority, week, month) and this module only arranges them into plain dataclasses. The
dashboard, the CSV/XLSX/PDF exports and the API all render these same rows.

Definitions (the tests compute each one again in plain Python):

- the procedures of a report are those *filed* (received) in the filter's period that match
  its type, municipality, office and authority (an authority was consulted);
- *closed* means decided (a final SSU state, ``decided_on`` set); *open* is the rest, as of
  ``as_of``;
- net days are the days used (suspensions excluded), gross days run from receipt to decision;
  both are taken over closed procedures;
- *overdue* are open procedures whose last day is before today and whose ball is not with
  the company (an integration or correction pending moves the last day while it runs);
- where the time goes (days with the company, the office, the authorities, the wire) is the
  mean over closed procedures, whose split is final;
- the backlog at the end of a week counts the procedures received by then and not yet
  decided, whenever they were filed: it is a running sum of filings minus decisions;
- an opinion is late when answered on a day (in Rome) after its due day, or still open past
  it; its days run from the request to the answer (to ``as_of`` while open, for the waiting
  time an authority holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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


# --- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """The figures of one procedure type (``type_code`` None: all the types together)."""

    type_code: str | None
    title: str
    filed: int
    closed: int
    open: int
    net_median: float | None
    net_p90: float | None
    net_max: float | None
    gross_median: float | None
    gross_p90: float | None
    gross_max: float | None
    within_term: int  # closed by the last day
    with_term: int  # closed with a legal term
    overdue_open: int
    silent_approvals: int
    integration_requests: int
    first_time_right: int  # closed with no integration request
    days_company: float | None  # mean days per closed procedure
    days_office: float | None
    days_authority: float | None
    days_dispatch: float | None

    @property
    def within_term_share(self) -> float | None:
        return self.within_term / self.with_term if self.with_term else None

    @property
    def integrations_per_procedure(self) -> float | None:
        return self.integration_requests / self.filed if self.filed else None

    @property
    def first_time_right_share(self) -> float | None:
        return self.first_time_right / self.closed if self.closed else None

    def days_by_stage(self) -> dict[str, float | None]:
        return {
            lc.BALL_COMPANY: self.days_company,
            lc.BALL_OFFICE: self.days_office,
            lc.BALL_AUTHORITY: self.days_authority,
            lc.BALL_DISPATCH: self.days_dispatch,
        }


@dataclass(frozen=True)
class BacklogPoint:
    week_end: date
    type_code: str | None  # None: all types
    open: int


@dataclass(frozen=True)
class MonthPoint:
    month: str  # YYYY-MM of filing
    closed: int
    net_median: float | None


@dataclass(frozen=True)
class OpinionRow:
    authority_id: int
    code: str
    name: str
    requested: int
    answered: int
    late: int
    median_days: float | None  # request to answer, answered ones
    waiting_days: float  # request to answer, or to as_of while open

    @property
    def open(self) -> int:
        return self.requested - self.answered

    @property
    def late_share(self) -> float | None:
        return self.late / self.requested if self.requested else None


@dataclass(frozen=True)
class Overview:
    filter: ReportFilter
    as_of: datetime
    groups: list[GroupRow]
    total: GroupRow
    weeks: list[date]
    backlog: list[BacklogPoint]
    months: list[MonthPoint]
    opinions: list[OpinionRow]

    def backlog_of(self, type_code: str | None) -> list[int]:
        return [p.open for p in self.backlog if p.type_code == type_code]


@dataclass(frozen=True)
class StageRank:
    stage: str
    days_total: float
    days_per_procedure: float | None
    share: float | None  # of all the time of closed procedures
    previous_per_procedure: float | None

    @property
    def trend(self) -> float | None:
        """Change in days per procedure against the previous period."""
        if self.days_per_procedure is None or self.previous_per_procedure is None:
            return None
        return self.days_per_procedure - self.previous_per_procedure


@dataclass(frozen=True)
class AuthorityRank:
    authority_id: int
    code: str
    name: str
    waiting_days: float
    requested: int
    median_days: float | None
    late_share: float | None
    previous_waiting_days: float | None
    previous_median_days: float | None

    @property
    def trend(self) -> float | None:
        """Change in median days against the previous period."""
        if self.median_days is None or self.previous_median_days is None:
            return None
        return self.median_days - self.previous_median_days


@dataclass(frozen=True)
class LateTypeRank:
    type_code: str
    title: str
    late: int  # closed after the last day, or open and overdue
    assessed: int  # closed with a term, plus open and overdue
    previous_late: int | None
    previous_assessed: int | None

    @property
    def late_share(self) -> float | None:
        return self.late / self.assessed if self.assessed else None

    @property
    def previous_late_share(self) -> float | None:
        if not self.previous_assessed:
            return None
        return (self.previous_late or 0) / self.previous_assessed

    @property
    def trend(self) -> float | None:
        """Change in the share late against the previous period."""
        if self.late_share is None or self.previous_late_share is None:
            return None
        return self.late_share - self.previous_late_share


@dataclass(frozen=True)
class Bottlenecks:
    filter: ReportFilter
    previous: ReportFilter
    as_of: datetime
    stages: list[StageRank]
    authorities: list[AuthorityRank]
    types: list[LateTypeRank] = field(default_factory=list)


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


# --- the filter's choices --------------------------------------------------------------------


@dataclass(frozen=True)
class FilterChoices:
    types: list[tuple[str, str]]  # (code, title)
    municipalities: list[tuple[str, str]]  # (ISTAT code, name): those an office serves
    offices: list[tuple[int, str]]
    authorities: list[tuple[int, str]]


def filter_choices(session: Session) -> FilterChoices:
    from portale.accounts.models import Office, office_municipality
    from portale.reference.models import Municipality

    return FilterChoices(
        types=[
            tuple(r)
            for r in session.execute(
                select(ProcedureType.code, ProcedureType.title).order_by(ProcedureType.title)
            )
        ],
        municipalities=[
            tuple(r)
            for r in session.execute(
                select(Municipality.istat_code, Municipality.name)
                .join(
                    office_municipality, office_municipality.c.istat_code == Municipality.istat_code
                )
                .distinct()
                .order_by(Municipality.name)
            )
        ],
        offices=[
            tuple(r) for r in session.execute(select(Office.id, Office.name).order_by(Office.name))
        ],
        authorities=[
            tuple(r)
            for r in session.execute(select(Authority.id, Authority.name).order_by(Authority.name))
        ],
    )


def unknown_choices(choices: FilterChoices, report: ReportFilter) -> dict[str, str]:
    """Messages for filter values that name nothing known (a stale link, a typo)."""
    from flask_babel import lazy_gettext as _l

    errors: dict[str, str] = {}
    checks = (
        (
            "tipo",
            report.type_code,
            {c for c, _t in choices.types},
            _l("Tipo di procedimento sconosciuto."),
        ),
        (
            "comune",
            report.municipality,
            {c for c, _n in choices.municipalities},
            _l("Comune non servito da alcuno sportello."),
        ),
        (
            "sportello",
            report.office_id,
            {i for i, _n in choices.offices},
            _l("Sportello sconosciuto."),
        ),
        (
            "ente",
            report.authority_id,
            {i for i, _n in choices.authorities},
            _l("Ente sconosciuto."),
        ),
    )
    for name, value, known, message in checks:
        if value is not None and value not in known:
            errors[name] = str(message)
    return errors
