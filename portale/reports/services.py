"""The simplification report: figures per procedure type and a bottleneck ranking.

The figures of procedures come from the exact histogram roll-ups of ``procedure_summary``
(:mod:`portale.reports.rollups`: counts per integer value, so percentiles, means and counts are
exact): one read gives the period and the previous one together. The opinions come from
``opinion_request`` in SQL (their days are not whole), both periods in one pass. Nothing here
loads procedures into Python. The dashboard, the CSV/XLSX/PDF exports and the API all render
these same rows.

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

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from portale.accounts.models import Authority
from portale.cases.models import OpinionRequest, ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.reports import rollups, sql
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


CURRENT, PREVIOUS = "current", "previous"


def overview(session: Session, report: ReportFilter, *, as_of: datetime | None = None) -> Overview:
    """The figures per procedure type (and for all of them), backlog, trend and opinions."""
    as_of = as_of or utcnow()
    figures = _Figures(
        rollups.period_histograms(
            session,
            rollups.Dimensions.of(report),
            {CURRENT: (report.start, report.end)},
            by_month=[(CURRENT, rollups.NET)],
        )
    )
    opinions = _opinion_rows(session, {CURRENT: report}, as_of)[CURRENT]
    return _overview(session, report, as_of, figures, opinions)


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

    ``opinions`` are the period's opinion rows if the caller has them already: they are not
    computed twice.
    """
    return dashboard(session, report, as_of=as_of, limit=limit, opinions=opinions)[1]


def dashboard(
    session: Session,
    report: ReportFilter,
    *,
    as_of: datetime | None = None,
    limit: int = 10,
    opinions: list[OpinionRow] | None = None,
) -> tuple[Overview, Bottlenecks]:
    """The overview and the ranking together, from one read of the roll-up for the period and
    the previous one, and one pass over the opinions of both."""
    as_of = as_of or utcnow()
    today = local_date(as_of)
    previous = report.previous()
    figures = _Figures(
        rollups.period_histograms(
            session,
            rollups.Dimensions.of(report),
            {CURRENT: (report.start, report.end), PREVIOUS: (previous.start, previous.end)},
            by_month=[(CURRENT, rollups.NET)],
        )
    )
    periods = {CURRENT: report, PREVIOUS: previous}
    if opinions is not None:
        periods.pop(CURRENT)
    by_period = _opinion_rows(session, periods, as_of)
    current = opinions if opinions is not None else by_period[CURRENT]
    ranking = Bottlenecks(
        filter=report,
        previous=previous,
        as_of=as_of,
        stages=_stage_ranking(figures),
        authorities=_authority_ranking(current, by_period[PREVIOUS])[:limit],
        types=_late_ranking(figures, type_titles(session), today)[:limit],
    )
    return _overview(session, report, as_of, figures, current), ranking


def _overview(
    session: Session,
    report: ReportFilter,
    as_of: datetime,
    figures: _Figures,
    opinions: list[OpinionRow],
) -> Overview:
    today = local_date(as_of)
    titles = type_titles(session)
    groups = [
        _group(figures, CURRENT, code, titles, today)
        for code in sorted(figures.types(CURRENT), key=lambda c: titles.get(c, c))
    ]
    weeks = week_ends(report)
    return Overview(
        filter=report,
        as_of=as_of,
        groups=groups,
        total=_group(figures, CURRENT, None, titles, today),
        weeks=weeks,
        backlog=_with_total(_backlog(session, report, weeks), weeks),
        months=figures.months(CURRENT),
        opinions=opinions,
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


class _Figures:
    """The histograms of a roll-up read, per period, type (None: all) and measure."""

    def __init__(self, histograms: rollups.Histograms) -> None:
        self._by_type: dict[tuple[str, str | None, str], rollups.Histogram] = {}
        self._by_month: dict[tuple[str, str, str], rollups.Histogram] = {}
        for (tag, code, _town, month, measure), histogram in histograms.items():
            for key in ((tag, code, measure), (tag, None, measure)):
                self._by_type.setdefault(key, rollups.Histogram()).merge(histogram)
            if month is not None:
                self._by_month.setdefault((tag, month, measure), rollups.Histogram()).merge(
                    histogram
                )

    def get(self, tag: str, code: str | None, measure: str) -> rollups.Histogram:
        return self._by_type.get((tag, code, measure)) or rollups.Histogram()

    def types(self, tag: str) -> set[str]:
        """The types with procedures filed in the period."""
        return {
            code
            for (t, code, measure), h in self._by_type.items()
            if t == tag and code is not None and measure == rollups.RECEIVED and h.n
        }

    def overdue(self, tag: str, code: str | None, today: date) -> int:
        return self.get(tag, code, rollups.OPEN_DUE).count_below(rollups.day_number(today))

    def months(self, tag: str) -> list[MonthPoint]:
        points = []
        for (t, month, measure), h in sorted(self._by_month.items()):
            if t == tag and measure == rollups.NET and h.n:
                points.append(MonthPoint(month, h.n, h.percentiles((0.5,))[0]))
        return points


def _empty_group(type_code: str | None = None, title: str = "") -> GroupRow:
    return GroupRow(type_code, title, 0, 0, 0, *([None] * 6), 0, 0, 0, 0, 0, 0, *([None] * 4))


def _group(
    figures: _Figures, tag: str, code: str | None, titles: dict[str, str], today: date
) -> GroupRow:
    filed = figures.get(tag, code, rollups.RECEIVED).n
    if not filed:
        return _empty_group()
    closed = figures.get(tag, code, rollups.DECIDED).n
    net = figures.get(tag, code, rollups.NET)
    gross = figures.get(tag, code, rollups.GROSS)
    net_median, net_p90 = net.percentiles((0.5, 0.9))
    gross_median, gross_p90 = gross.percentiles((0.5, 0.9))
    stages = {
        stage: figures.get(tag, code, name).mean_total(rollups.TOTAL_SCALE)
        for stage, name in rollups.STAGE_MEASURES.items()
    }
    return GroupRow(
        type_code=code,
        title=titles.get(code, code) if code else "",
        filed=filed,
        closed=closed,
        open=filed - closed,
        net_median=net_median,
        net_p90=net_p90,
        net_max=net.max(),
        gross_median=gross_median,
        gross_p90=gross_p90,
        gross_max=gross.max(),
        within_term=figures.get(tag, code, rollups.WITHIN).n,
        with_term=figures.get(tag, code, rollups.WITH_TERM).n,
        overdue_open=figures.overdue(tag, code, today),
        silent_approvals=figures.get(tag, code, rollups.SILENT).n,
        integration_requests=figures.get(tag, code, rollups.INTEGRATIONS).total,
        first_time_right=figures.get(tag, code, rollups.FIRST_TIME).n,
        days_company=stages[lc.BALL_COMPANY],
        days_office=stages[lc.BALL_OFFICE],
        days_authority=stages[lc.BALL_AUTHORITY],
        days_dispatch=stages[lc.BALL_DISPATCH],
    )


def _backlog(session: Session, report: ReportFilter, weeks: list[date]) -> list[BacklogPoint]:
    """Per type, the procedures received by each week end and not decided by then."""
    dims = rollups.Dimensions.of(report)
    if dims.from_rollup and weeks[-1].weekday() == 6:
        flows = rollups.weekly_flows(session, dims, weeks[0], weeks[-1])
    else:  # an authority filter, or a period with no Sunday: from the summary rows
        flows = _summary_flows(session, report, weeks)
    points = []
    for code in sorted(flows):
        value = 0
        for index, end in enumerate(weeks):
            value += flows[code].get(index, 0)
            points.append(BacklogPoint(end, code, value))
    return points


def _summary_flows(
    session: Session, report: ReportFilter, weeks: list[date]
) -> dict[str, dict[int, int]]:
    """Per type, +1 per filing and -1 per decision, bucketed by week end, from the summary."""
    first, last = weeks[0], weeks[-1]
    # Every procedure received by the last week end counts, whenever it was filed.
    where = replace(report, start=EARLIEST, end=last).conditions()

    def week(column: Any) -> ColumnElement[int]:
        return case((column <= first, 0), else_=(sql.whole_days(session, column, first) + 6) // 7)

    deltas = union_all(
        select(S.type_code.label("g"), week(S.received_on).label("k"), literal(1).label("d")).where(
            *where
        ),
        select(S.type_code.label("g"), week(S.decided_on).label("k"), literal(-1).label("d")).where(
            *where, S.decided_on.is_not(None), S.decided_on <= last
        ),
    ).subquery()
    flows: dict[str, dict[int, int]] = {}
    query = select(deltas.c.g, deltas.c.k, func.sum(deltas.c.d)).group_by(deltas.c.g, deltas.c.k)
    for code, k, n in session.execute(query):
        flows.setdefault(code, {})[int(k)] = int(n)
    return flows


def _with_total(points: list[BacklogPoint], weeks: list[date]) -> list[BacklogPoint]:
    """Add the all-types series: the sum of the types' series, week by week."""
    total = dict.fromkeys(weeks, 0)
    for point in points:
        total[point.week_end] += point.open
    return points + [BacklogPoint(week, None, total[week]) for week in weeks]


# --- opinions ------------------------------------------------------------------------------


def opinion_rows(session: Session, report: ReportFilter, as_of: datetime) -> list[OpinionRow]:
    """Opinions asked on the report's procedures, per authority, most waiting time first."""
    return _opinion_rows(session, {CURRENT: report}, as_of)[CURRENT]


def _opinion_rows(
    session: Session, periods: dict[str, ReportFilter], as_of: datetime
) -> dict[str, list[OpinionRow]]:
    """:func:`opinion_rows` of several periods of one filter, in one pass (two statements)."""
    result: dict[str, list[OpinionRow]] = {tag: [] for tag in periods}
    if not periods:
        return result
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
    tag = case(*[(S.received_on.between(f.start, f.end), literal(t)) for t, f in periods.items()])
    where = [op.procedure_id == S.procedure_id, or_(*[f.clause() for f in periods.values()])]
    authority_id = next(iter(periods.values())).authority_id
    if authority_id is not None:
        where.append(op.authority_id == authority_id)
    keys = [tag.label("tag"), op.authority_id, Authority.code, Authority.name]
    days = sql.days_between(session, op.answered_at, op.requested_at)
    postgres = sql.dialect_of(session) == "postgresql"
    # PostgreSQL takes the median in the same pass; SQLite ranks the answered ones apart.
    median = func.percentile_cont(0.5).within_group(case((answered, days))) if postgres else null()
    query = (
        select(
            *keys,
            func.count().label("requested"),
            func.sum(_flag(answered)).label("answered"),
            func.sum(_flag(late)).label("late"),
            func.sum(waited).label("waiting"),
            median.label("median"),
        )
        .join(Authority, Authority.id == op.authority_id)
        .where(*where)
        .group_by(*[literal_column(str(i + 1)) for i in range(len(keys))])
    )
    medians = (
        {}
        if postgres
        else grouped_percentiles(
            session,
            days,
            group_by=[tag, op.authority_id],
            where=[*where, answered],
            fractions=(0.5,),
        )
    )
    for r in session.execute(query):
        result[r.tag].append(
            OpinionRow(
                authority_id=r.authority_id,
                code=r.code,
                name=r.name,
                requested=int(r.requested),
                answered=int(r.answered or 0),
                late=int(r.late or 0),
                median_days=(
                    (None if r.median is None else float(r.median))
                    if postgres
                    else medians.get((r.tag, r.authority_id), (None,))[0]
                ),
                waiting_days=float(r.waiting or 0.0),
            )
        )
    return {t: sorted(rows, key=lambda r: (-r.waiting_days, r.code)) for t, rows in result.items()}


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


# --- ranking -------------------------------------------------------------------------------


def _stage_ranking(figures: _Figures) -> list[StageRank]:
    def totals(tag: str) -> tuple[int, dict[str, float]]:
        return figures.get(tag, None, rollups.DECIDED).n, {
            stage: figures.get(tag, None, name).total / rollups.TOTAL_SCALE
            for stage, name in rollups.STAGE_MEASURES.items()
        }

    count, now = totals(CURRENT)
    prev_count, before = totals(PREVIOUS)
    grand = sum(now.values())
    ranks = [
        StageRank(
            stage=stage,
            days_total=now[stage],
            days_per_procedure=now[stage] / count if count else None,
            share=now[stage] / grand if grand else None,
            previous_per_procedure=before[stage] / prev_count if prev_count else None,
        )
        for stage in STAGES
    ]
    return sorted(ranks, key=lambda r: (-r.days_total, STAGES.index(r.stage)))


def _authority_ranking(
    current: list[OpinionRow], previous: list[OpinionRow]
) -> list[AuthorityRank]:
    before = {r.authority_id: r for r in previous}
    ranks = []
    for row in current:
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


def _late_ranking(figures: _Figures, titles: dict[str, str], today: date) -> list[LateTypeRank]:
    def counts(tag: str) -> dict[str, tuple[int, int]]:
        result = {}
        for code in figures.types(tag):
            with_term = figures.get(tag, code, rollups.WITH_TERM).n
            late_closed = with_term - figures.get(tag, code, rollups.WITHIN).n
            overdue = figures.overdue(tag, code, today)
            result[code] = (late_closed + overdue, with_term + overdue)
        return result

    now, before = counts(CURRENT), counts(PREVIOUS)
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
    "dashboard",
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
