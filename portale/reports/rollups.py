"""Exact histogram roll-ups of the procedure summaries: what the reports read instead of rows.

Net days, gross days, last days and weeks are whole numbers, so the reports' percentiles,
means and counts can be computed exactly from *counts per value*: for each (municipality,
office, procedure type, time of receipt, measure, value) the number of procedures ``n`` and,
for the measures that are sums, their ``total``. A year of the portal is then a few thousand
rows instead of hundreds of thousands (PERFORMANCE.md, issue 16).

The roll-up is kept at three levels, so that every filter reads few rows:

- the whole portal: ``municipality = ''`` and ``office_id = 0``;
- per office: ``municipality = ''`` and the office;
- per municipality: the municipality and its office;

and at two grains of the day of receipt: the month (``week = 0``) and the *piece* of a week
inside a month (``week`` = the day number of the piece's last day: a Sunday, or the month's
last day). A period is read as its whole months, then the whole pieces at its ends, then at
most six days at each end straight from ``procedure_summary``: exact for any dates.

**One definition.** :func:`_measures` says, for each measure, which summary rows count and
with what value; :func:`contribution_select` turns it into SQL. The same statement rebuilds
the table (:func:`rebuild`, used by the data generator, the migration and ``portale data
rebuild-rollups``), updates it for one procedure in the transaction that rewrites its summary
(:func:`procedure_rows` and :func:`record_change`), and reads the days at the ends of a period
(:func:`period_histograms`). Filters the roll-up cannot answer (an authority consulted) read
the summary rows the same way, so the figures are the same whichever path computed them.

**Concurrency.** Each change adds signed counts with one ``INSERT .. ON CONFLICT DO UPDATE``
whose rows are sorted by key: two transactions lock the rows they share in the same order, so
they wait for each other for a moment but cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil, floor
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from portale.cases.models import ProcedureSummary
from portale.clock import lifecycle as lc
from portale.reports import sql
from portale.reports.models import ALL_MUNICIPALITIES, ALL_OFFICES, MONTH_GRAIN, ProcedureRollup

S = ProcedureSummary
R = ProcedureRollup
KEY = ("municipality", "office_id", "measure", "month", "week", "type_code", "value")
EPOCH = date(1970, 1, 1)  # day numbers count from here
TOTAL_SCALE = 10_000  # stage days are kept to 4 decimals: totals are whole ten-thousandths

# Measures. A histogram measure counts procedures per value; a count measure has value 0.
RECEIVED = "received"  # every procedure; value: day number of the Sunday ending its week
DECIDED = "decided"  # closed; value: day number of the Sunday ending the week of decision
NET = "net"  # closed; value: net days (suspensions excluded)
GROSS = "gross"  # closed; value: gross days
OPEN_DUE = "open_due"  # open, not waiting for the company; value: day number of the last day
WITHIN = "within"  # closed by the last day
WITH_TERM = "with_term"  # closed, with a legal term
SILENT = "silent"  # ended by silent assent
FIRST_TIME = "first_time"  # closed with no integration request
INTEGRATIONS = "integrations"  # every procedure; total: integration requests
STAGE_MEASURES = {  # closed; total: days with each ball-holder, in ten-thousandths
    lc.BALL_COMPANY: "company",
    lc.BALL_OFFICE: "office",
    lc.BALL_AUTHORITY: "authority",
    lc.BALL_DISPATCH: "dispatch",
}
HISTOGRAM_MEASURES = (RECEIVED, DECIDED, NET, GROSS, OPEN_DUE)
MEASURES = (
    *HISTOGRAM_MEASURES,
    WITHIN,
    WITH_TERM,
    SILENT,
    FIRST_TIME,
    INTEGRATIONS,
    *STAGE_MEASURES.values(),
)
# States in which the company holds the ball: the last day still moves, so not "overdue".
COMPANY_STATES = (lc.CORRECTION_REQUESTED, lc.INTEGRATION_REQUESTED)


# --- days, weeks, months ---------------------------------------------------------------------


def day_number(value: date) -> int:
    return (value - EPOCH).days


def week_end(value: date) -> date:
    """The Sunday ending the week of ``value`` (``value`` itself on a Sunday)."""
    return value + timedelta(days=6 - value.weekday())


def month_key(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _month_end(value: date) -> date:
    return _next_month(value) - timedelta(days=1)


def _next_month(value: date) -> date:
    return (value.replace(day=28) + timedelta(days=4)).replace(day=1)


def piece_start(value: date) -> date:
    """The first day of the piece of ``value``: its week's Monday, or its month's first day."""
    return max(value - timedelta(days=value.weekday()), value.replace(day=1))


def piece_end(value: date) -> date:
    """The last day of the piece of ``value``: its week's Sunday, or its month's last day."""
    return min(week_end(value), _month_end(value))


def _sunday(session: Session, column: Any) -> ColumnElement[int]:
    # 1970-01-04 (day 3) was a Sunday; the modulo is made non-negative on both databases.
    days = sql.whole_days(session, column, EPOCH)
    return days + (((3 - days) % 7) + 7) % 7


def _piece(session: Session, column: Any) -> ColumnElement[int]:
    """SQL for the day number of :func:`piece_end` of a date column."""
    sunday = _sunday(session, column)
    if sql.dialect_of(session) == "postgresql":
        start = func.date_trunc("month", cast(column, DateTime))
        month_end = cast(start + literal_column("interval '1 month - 1 day'"), Date)
    else:
        month_end = func.date(column, "start of month", "+1 month", "-1 day")
    last = sql.whole_days(session, month_end, EPOCH)
    return case((sunday < last, sunday), else_=last)


def _ten_thousandths(column: Any) -> ColumnElement[int]:
    return cast(func.round(column * TOTAL_SCALE), BigInteger)


# --- the one definition ----------------------------------------------------------------------


def _measures(session: Session) -> list[tuple[str, ColumnElement[bool], Any, Any]]:
    """(measure, which summary rows count, value, total) for every measure."""
    closed = S.decided_on.is_not(None)
    zero = literal(0)
    measures: list[tuple[str, ColumnElement[bool], Any, Any]] = [
        (RECEIVED, true(), _sunday(session, S.received_on), zero),
        (DECIDED, closed, _sunday(session, S.decided_on), zero),
        (NET, closed & S.days_net.is_not(None), S.days_net, zero),
        (GROSS, closed & S.days_gross.is_not(None), S.days_gross, zero),
        (
            OPEN_DUE,
            S.decided_on.is_(None) & S.last_day.is_not(None) & S.state.not_in(COMPANY_STATES),
            sql.whole_days(session, S.last_day, EPOCH),
            zero,
        ),
        (WITHIN, closed & S.within_term.is_(True), zero, zero),
        (WITH_TERM, closed & S.within_term.is_not(None), zero, zero),
        (SILENT, S.silent_assent.is_(True), zero, zero),
        (FIRST_TIME, closed & (S.integration_requests == 0), zero, zero),
        (INTEGRATIONS, S.integration_requests > 0, zero, S.integration_requests),
    ]
    for stage, name in STAGE_MEASURES.items():
        column = getattr(S, f"days_{stage}")
        measures.append((name, closed & column.is_not(None), zero, _ten_thousandths(column)))
    return measures


def _positions(count: int, *more: int) -> list[Any]:
    # GROUP BY 1, 2, ..: keys may hold bound parameters (a period's dates), which the databases
    # would not recognise as the same expression when repeated.
    return [literal_column(str(i)) for i in (*range(1, count + 1), *more)]


def contribution_select(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[Any],
    *,
    measures: Collection[str] = MEASURES,
) -> Any:
    """The summary rows matching ``where`` as roll-up rows grouped by the labelled ``keys``:
    ``*keys, measure, value, n, total``. One indexed, grouped select per measure."""
    parts = []
    for name, condition, value, total in _measures(session):
        if name not in measures:
            continue
        histogram = name in HISTOGRAM_MEASURES
        part = (
            select(
                *keys,
                literal(name).label("measure"),
                (value if histogram else literal(0)).label("value"),
                func.count().label("n"),
                func.sum(total).label("total"),
            )
            .where(S.received_on.is_not(None), condition, *where)
            .having(func.count() > 0)
        )
        grouped = _positions(len(keys), *((len(keys) + 2,) if histogram else ()))
        parts.append(part.group_by(*grouped) if grouped else part)
    return union_all(*parts).subquery()


def _fine_keys(session: Session) -> list[Any]:
    return [
        S.municipality.label("municipality"),
        S.office_id.label("office_id"),
        S.type_code.label("type_code"),
        sql.month_of(session, S.received_on).label("month"),
        _piece(session, S.received_on).label("week"),
    ]


# --- keeping it current ----------------------------------------------------------------------


def _targets(municipality: str, office_id: int, week: int) -> Iterator[tuple[str, int, int]]:
    """The roll-up rows one procedure counts in: three levels, two grains."""
    for level in (
        (municipality, office_id),
        (ALL_MUNICIPALITIES, office_id),
        (ALL_MUNICIPALITIES, ALL_OFFICES),
    ):
        for grain in (week, MONTH_GRAIN):
            yield (*level, grain)


def procedure_rows(session: Session, procedure_id: int) -> list[tuple[Any, ...]]:
    """The roll-up rows of one procedure's summary as stored now (empty if none): call it
    before and after rewriting the summary and hand both to :func:`record_change`."""
    rows = contribution_select(session, [S.procedure_id == procedure_id], _fine_keys(session))
    return [tuple(r) for r in session.execute(select(rows))]


def record_change(
    session: Session, before: Iterable[tuple[Any, ...]], after: Iterable[tuple[Any, ...]]
) -> int:
    """Move the roll-up from ``before`` to ``after`` (rows of :func:`procedure_rows`), at
    every level and grain, in the caller's transaction. Returns the number of rows touched."""
    delta: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for sign, rows in ((-1, before), (1, after)):
        for municipality, office_id, type_code, month, week, measure, value, n, total in rows:
            for town, office, grain in _targets(municipality, office_id, week):
                entry = delta[(town, office, measure, month, grain, type_code, value)]
                entry[0] += sign * int(n)
                entry[1] += sign * int(total or 0)
    changes = [
        dict(zip(KEY, key, strict=True), n=n, total=total)
        for key, (n, total) in sorted(delta.items())
        if n or total
    ]
    if changes:
        session.execute(_upsert(session), changes)
    return len(changes)


def _upsert(session: Session) -> Any:
    if sql.dialect_of(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(R)
    return statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"n": R.n + statement.excluded.n, "total": R.total + statement.excluded.total},
    )


def rebuild(session: Session) -> int:
    """Recompute the whole roll-up from ``procedure_summary`` (after a bulk load, or to repair
    it). Does not commit. Returns the number of rows written."""
    session.execute(delete(R))
    columns = [*KEY, "n", "total"]
    pieces = contribution_select(session, [], _fine_keys(session))
    session.execute(insert(R).from_select(columns, select(*[pieces.c[c] for c in columns])))
    # the months from their pieces, then per office and for the portal from the finest rows
    values = [R.measure, R.month, R.type_code, R.value]
    sums = [func.sum(R.n), func.sum(R.total)]
    finest = R.municipality != ALL_MUNICIPALITIES
    session.execute(
        insert(R).from_select(
            columns,
            select(
                R.municipality,
                R.office_id,
                R.measure,
                R.month,
                literal(MONTH_GRAIN),
                R.type_code,
                R.value,
                *sums,
            )
            .where(R.week != MONTH_GRAIN)
            .group_by(R.municipality, R.office_id, *values),
        )
    )
    for office in (R.office_id, literal(ALL_OFFICES)):
        source = finest if office is R.office_id else (R.municipality == ALL_MUNICIPALITIES)
        by_office = [R.office_id] if office is R.office_id else []
        session.execute(
            insert(R).from_select(
                columns,
                select(
                    literal(ALL_MUNICIPALITIES),
                    office,
                    R.measure,
                    R.month,
                    R.week,
                    R.type_code,
                    R.value,
                    *sums,
                )
                .where(source)
                .group_by(*by_office, R.measure, R.month, R.week, R.type_code, R.value),
            )
        )
    return session.scalar(select(func.count()).select_from(R)) or 0


# --- reading it ------------------------------------------------------------------------------


@dataclass
class Histogram:
    """Counts per whole value (and the sum of a total): exact percentiles, means and counts."""

    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0

    def add(self, value: int, n: int, total: int = 0) -> None:
        if n:
            self.counts[value] = self.counts.get(value, 0) + n
        self.total += total

    def merge(self, other: Histogram) -> None:
        for value, n in other.counts.items():
            self.add(value, n)
        self.total += other.total

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def max(self) -> float | None:
        live = [v for v, n in self.counts.items() if n]
        return float(max(live)) if live else None

    def count_below(self, limit: int) -> int:
        return sum(n for v, n in self.counts.items() if v < limit)

    def mean_total(self, scale: int = 1) -> float | None:
        """The mean of the summed quantity over the procedures counted."""
        n = self.n
        return self.total / scale / n if n else None

    def percentiles(self, fractions: Sequence[float]) -> tuple[float | None, ...]:
        """Continuous percentiles as ``percentile_cont`` computes them (linear interpolation
        between the closest ranks, the same floating-point steps)."""
        ordered = sorted((v, n) for v, n in self.counts.items() if n)
        count = sum(n for _v, n in ordered)
        if not count:
            return tuple(None for _ in fractions)
        return tuple(self._at(ordered, p * (count - 1)) for p in fractions)

    @staticmethod
    def _at(ordered: list[tuple[int, int]], position: float) -> float:
        low_rank, high_rank = floor(position), ceil(position)
        low = high = None
        seen = 0
        for value, n in ordered:
            if low is None and low_rank < seen + n:
                low = value
            if high_rank < seen + n:
                high = value
                break
            seen += n
        assert low is not None and high is not None
        if high_rank == low_rank:
            return float(low)
        return float(low) + (float(high) - float(low)) * (position - low_rank)


@dataclass(frozen=True)
class Dimensions:
    """The filter a roll-up read serves (the period aside)."""

    type_code: str | None = None
    municipality: str | None = None
    office_id: int | None = None
    authority_id: int | None = None

    @classmethod
    def of(cls, report: Any) -> Dimensions:
        return cls(report.type_code, report.municipality, report.office_id, report.authority_id)

    @property
    def from_rollup(self) -> bool:
        """The roll-up has no authority dimension: that filter reads the summary rows."""
        return self.authority_id is None

    def rollup_where(self, by_municipality: bool = False) -> list[ColumnElement[bool]]:
        """The rows of the level that answers this filter (per municipality if asked)."""
        if self.municipality or by_municipality:
            where = [
                R.municipality == self.municipality
                if self.municipality
                else R.municipality != ALL_MUNICIPALITIES
            ]
            if self.office_id is not None:
                where.append(R.office_id == self.office_id)
        else:
            where = [
                R.municipality == ALL_MUNICIPALITIES,
                R.office_id == (ALL_OFFICES if self.office_id is None else self.office_id),
            ]
        if self.type_code:
            where.append(R.type_code == self.type_code)
        return where

    def summary_where(self, start: date, end: date) -> list[ColumnElement[bool]]:
        from portale.reports.filters import ReportFilter

        return ReportFilter(
            start, end, self.type_code, self.municipality, self.office_id, self.authority_id
        ).conditions()


# {(period tag, type code, municipality or None, month or None, measure): histogram}
Histograms = dict[tuple[str, str, str | None, str | None, str], Histogram]


@dataclass(frozen=True)
class Decomposition:
    """A period as the roll-up reads it: whole months, whole pieces of weeks, loose days."""

    months: tuple[str, str] | None  # first and last whole month (YYYY-MM)
    pieces: list[tuple[int, int]] = field(default_factory=list)  # ranges of piece last days
    days: list[tuple[date, date]] = field(default_factory=list)  # read from the summary


def _month_span(start: date, end: date) -> tuple[date, date] | None:
    first = start if start.day == 1 else _next_month(start)
    last = end.replace(day=1)
    if _month_end(end) != end:  # the month of ``end`` is not whole
        last = (last - timedelta(days=1)).replace(day=1)
    return (first, last) if first <= last else None


def decompose(start: date, end: date) -> Decomposition:
    span = _month_span(start, end)
    if span is None:
        rest = [(start, end)]
    else:
        rest = [(start, span[0] - timedelta(days=1)), (_next_month(span[1]), end)]
    pieces, days = [], []
    for low, high in rest:
        while low <= high:  # one month at a time: pieces do not cross months
            top = min(high, _month_end(low))
            first = low if piece_start(low) == low else piece_end(low) + timedelta(days=1)
            last = top if piece_end(top) == top else piece_start(top) - timedelta(days=1)
            if first <= last:
                pieces.append((day_number(piece_end(first)), day_number(last)))
                if low < first:
                    days.append((low, first - timedelta(days=1)))
                if last < top:
                    days.append((last + timedelta(days=1), top))
            else:
                days.append((low, top))
            low = top + timedelta(days=1)
    months = (month_key(span[0]), month_key(span[1])) if span else None
    return Decomposition(months, pieces, days)


def period_histograms(
    session: Session,
    dims: Dimensions,
    periods: Mapping[str, tuple[date, date]],
    *,
    measures: Collection[str] = MEASURES,
    by_month: Collection[tuple[str, str]] = (),
    by_municipality: bool = False,
) -> Histograms:
    """Histograms of the procedures received in each of the (disjoint) ``periods``, per period
    tag, type and measure; per month too for the (tag, measure) pairs in ``by_month``, per
    municipality too with ``by_municipality``. Whole months and pieces of weeks come from the
    roll-up, the few days around them from the summary rows (all of them when
    :attr:`Dimensions.from_rollup` is false, or for every municipality at once). Two
    statements whatever the periods."""
    result: Histograms = defaultdict(Histogram)
    measures = list(measures)
    monthly = set(by_month)
    # Every municipality at once: the finest rows are sparser than the summaries themselves
    # (hundreds of small municipalities), so those are read from the summaries, grouped.
    from_rollup = dims.from_rollup and (dims.municipality is not None or not by_municipality)
    parts: dict[str, Decomposition] = {
        tag: decompose(*bounds) if from_rollup else Decomposition(None, [], [bounds])
        for tag, bounds in periods.items()
    }
    conditions = []
    for tag, part in parts.items():
        if part.months:
            conditions.append((tag, (R.week == MONTH_GRAIN) & R.month.between(*part.months)))
        conditions += [(tag, R.week.between(low, high)) for low, high in part.pieces]
    if conditions:
        tag = case(*[(c, literal(t)) for t, c in conditions])
        pairs = [and_(tag == t, R.measure == m) for t, m in monthly]
        month = case((or_(*pairs), R.month), else_=None) if pairs else cast(null(), String)
        town = R.municipality if by_municipality else cast(null(), String)
        keys = [tag.label("tag"), R.type_code, town, month.label("m"), R.measure, R.value]
        query = (
            select(*keys, func.sum(R.n), func.sum(R.total))
            .where(
                *dims.rollup_where(by_municipality),
                R.measure.in_(measures),
                R.n != 0,
                or_(*[c for _t, c in conditions]),
            )
            .group_by(*_positions(len(keys)))
        )
        _collect(result, session.execute(query), monthly)
    days = [(t, a, b) for t, part in parts.items() for a, b in part.days]
    if days:
        tag = case(*[(S.received_on.between(a, b), literal(t)) for t, a, b in days])
        keys = [
            tag.label("tag"),
            S.type_code.label("type_code"),
            (S.municipality if by_municipality else cast(null(), String)).label("town"),
            sql.month_of(session, S.received_on).label("m"),
        ]
        where = or_(*[and_(*dims.summary_where(a, b)) for _t, a, b in days])
        rows = contribution_select(session, [where], keys, measures=measures)
        _collect(result, session.execute(select(rows)), monthly)
    return result


def _collect(result: Histograms, rows: Iterable[Any], monthly: set[tuple[str, str]]) -> None:
    for tag, type_code, town, month, measure, value, n, total in rows:
        key = (tag, type_code, town, month if (tag, measure) in monthly else None, measure)
        result[key].add(int(value), int(n or 0), int(total or 0))


def weekly_flows(
    session: Session, dims: Dimensions, first: date, last: date
) -> dict[str, dict[int, int]]:
    """Per type, the procedures received minus those decided in each week up to ``last`` (a
    Sunday), keyed by the week's index from ``first`` (a Sunday; index 0 holds everything up
    to it): the increments of the backlog. From the monthly roll-up: its weeks end on Sundays,
    so a value up to ``last`` means a date up to ``last``."""
    assert dims.from_rollup and last.weekday() == 6 and first.weekday() == 6
    low, high = day_number(first), day_number(last)
    bucket = case((R.value <= low, 0), else_=(R.value - low) / 7)
    sign = case((R.measure == RECEIVED, 1), else_=-1)
    keys = [R.type_code, bucket.label("k")]
    query = (
        select(*keys, func.sum(sign * R.n))
        .where(
            *dims.rollup_where(),
            R.week == MONTH_GRAIN,
            R.measure.in_((RECEIVED, DECIDED)),
            R.month <= month_key(last),
            R.value <= high,
            R.n != 0,
        )
        .group_by(*_positions(len(keys)))
    )
    flows: dict[str, dict[int, int]] = defaultdict(dict)
    for type_code, k, n in session.execute(query):
        flows[type_code][int(k)] = int(n or 0)
    return dict(flows)


__all__ = [
    "Dimensions",
    "Histogram",
    "ProcedureRollup",
    "contribution_select",
    "decompose",
    "period_histograms",
    "procedure_rows",
    "rebuild",
    "record_change",
    "weekly_flows",
]
