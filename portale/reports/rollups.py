"""Exact histogram roll-ups of the procedure summaries: what the reports read instead of rows.

Net days, gross days, last days and weeks are whole numbers, so the reports' percentiles,
means and counts can be computed exactly from *counts per value*: for each (municipality,
office, procedure type, month of receipt, measure, value) the number of procedures ``n`` and,
for the measures that are sums, their ``total``. A year of the portal is then a few thousand
rows instead of hundreds of thousands (PERFORMANCE.md, issue 16).

The roll-up is kept at three levels, so that every filter reads few rows:

- the whole portal: ``municipality = ''`` and ``office_id = 0``;
- per office: ``municipality = ''`` and the office;
- per municipality: the municipality and its office.

**One definition.** :func:`contributions` is the SQL that turns summary rows into roll-up rows.
The same statement rebuilds the table (:func:`rebuild`, used by the data generator and the
``portale reports rebuild-rollups`` command), updates it for one procedure in the transaction
that rewrites its summary (:func:`record_change`), and reads the days at the edges of a period
that do not fill a month straight from ``procedure_summary`` (:func:`period_histograms`).
Filters the roll-up cannot answer (an authority consulted) read the summary rows the same way,
so the figures are the same whichever path computed them.

**Concurrency.** Each change adds signed counts with one ``INSERT .. ON CONFLICT DO UPDATE``
whose rows are sorted by key: two transactions lock the rows they share in the same order, so
they wait for each other for a moment but cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil, floor
from typing import Any

from sqlalchemy import (
    BigInteger,
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

from portale.backoffice.models import ProcedureSummary
from portale.clock import lifecycle as lc
from portale.reports import sql
from portale.reports.models import ALL_MUNICIPALITIES, ALL_OFFICES, ProcedureRollup

S = ProcedureSummary
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
# States in which the company holds the ball: the last day still moves, so not "overdue".
COMPANY_STATES = (lc.CORRECTION_REQUESTED, lc.INTEGRATION_REQUESTED)


R = ProcedureRollup
KEY = ("municipality", "office_id", "measure", "month", "type_code", "value")


# --- the one definition ----------------------------------------------------------------------


def day_number(value: date) -> int:
    return (value - EPOCH).days


def week_end(value: date) -> date:
    """The Sunday ending the week of ``value`` (``value`` itself on a Sunday)."""
    return value + timedelta(days=6 - value.weekday())


def month_key(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _sunday(session: Session, column: Any) -> ColumnElement[int]:
    # 1970-01-04 (day 3) was a Sunday; the modulo is made non-negative on both databases.
    days = sql.whole_days(session, column, EPOCH)
    return days + (((3 - days) % 7) + 7) % 7


def _ten_thousandths(column: Any) -> ColumnElement[int]:
    return cast(func.round(column * TOTAL_SCALE), BigInteger)


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


MEASURES = (
    RECEIVED,
    DECIDED,
    NET,
    GROSS,
    OPEN_DUE,
    WITHIN,
    WITH_TERM,
    SILENT,
    FIRST_TIME,
    INTEGRATIONS,
    *STAGE_MEASURES.values(),
)


def contributions(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    *,
    extra: Sequence[ColumnElement[Any]] = (),
    measures: Collection[str] = MEASURES,
) -> Any:
    """A subquery of the summary rows matching ``where`` as roll-up rows at the finest level:
    ``municipality, office_id, type_code, month, measure, value, n, total`` (plus the
    ``extra`` labelled columns, grouped by too). One pass over the rows: each row is crossed
    with the list of measures and kept where it counts."""
    chosen = [m for m in _measures(session) if m[0] in measures]
    names = union_all(*[select(literal(name).label("measure")) for name, *_ in chosen]).subquery()
    value = case(*[((names.c.measure == n) & cond, v) for n, cond, v, _t in chosen], else_=None)
    total = case(*[(names.c.measure == n, t) for n, _c, _v, t in chosen], else_=0)
    rows = (
        select(
            S.municipality,
            S.office_id,
            S.type_code,
            sql.month_of(session, S.received_on).label("month"),
            *extra,
            names.c.measure,
            value.label("value"),
            total.label("total"),
        )
        .select_from(S)
        .join(names, true())
        .where(S.received_on.is_not(None), *where)
        .subquery()
    )
    keys = [
        rows.c.municipality,
        rows.c.office_id,
        rows.c.type_code,
        rows.c.month,
        *[rows.c[c.key] for c in extra],
        rows.c.measure,
        rows.c.value,
    ]
    return (
        select(*keys, func.count().label("n"), func.sum(rows.c.total).label("total"))
        .where(rows.c.value.is_not(None))
        .group_by(*keys)
        .subquery()
    )


# --- keeping it current ----------------------------------------------------------------------


def _levels(municipality: str, office_id: int) -> tuple[tuple[str, int], ...]:
    return (
        (municipality, office_id),
        (ALL_MUNICIPALITIES, office_id),
        (ALL_MUNICIPALITIES, ALL_OFFICES),
    )


def procedure_rows(session: Session, procedure_id: int) -> list[tuple[Any, ...]]:
    """The finest-level roll-up rows of one procedure's summary as stored now (empty if none):
    call it before and after rewriting the summary and hand both to :func:`record_change`."""
    fine = contributions(session, [S.procedure_id == procedure_id])
    return [tuple(r) for r in session.execute(select(fine))]


def record_change(
    session: Session, before: Iterable[tuple[Any, ...]], after: Iterable[tuple[Any, ...]]
) -> int:
    """Move the roll-up from ``before`` to ``after`` (rows of :func:`procedure_rows`), at
    every level, in the caller's transaction. Returns the number of roll-up rows touched."""
    delta: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for sign, rows in ((-1, before), (1, after)):
        for municipality, office_id, type_code, month, measure, value, n, total in rows:
            for level in _levels(municipality, office_id):
                entry = delta[(*level, measure, month, type_code, value)]
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
    fine = contributions(session, [])
    columns = ["municipality", "office_id", "measure", "month", "type_code", "value", "n", "total"]
    session.execute(
        insert(R).from_select(columns, select(*[fine.c[c] for c in columns])),
    )
    finest = R.municipality != ALL_MUNICIPALITIES
    for municipality in (None, literal(ALL_MUNICIPALITIES)):
        # per office from the municipalities' rows, then the portal from the offices' rows
        office = R.office_id if municipality is None else literal(ALL_OFFICES)
        source = finest if municipality is None else (R.municipality == ALL_MUNICIPALITIES)
        keys = [R.measure, R.month, R.type_code, R.value]
        session.execute(
            insert(R).from_select(
                columns,
                select(
                    literal(ALL_MUNICIPALITIES),
                    office,
                    *keys,
                    func.sum(R.n),
                    func.sum(R.total),
                )
                .where(source)
                .group_by(*([R.office_id] if municipality is None else []), *keys),
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

    def rollup_where(self) -> list[ColumnElement[bool]]:
        if self.municipality:
            where = [R.municipality == self.municipality]
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


# {(period tag, type code, month or None, measure): histogram}
Histograms = dict[tuple[str, str, str | None, str], Histogram]


def _month_span(start: date, end: date) -> tuple[str, str] | None:
    """The first and last whole months inside ``start..end`` (None if there is none)."""
    first = start if start.day == 1 else _next_month(start)
    last = end.replace(day=1)
    if (end + timedelta(days=1)).day != 1:  # the month of ``end`` is not whole
        last = (last - timedelta(days=1)).replace(day=1)
    if first > last:
        return None
    return month_key(first), month_key(last)


def _next_month(value: date) -> date:
    return (value.replace(day=28) + timedelta(days=4)).replace(day=1)


def _edges(start: date, end: date, span: tuple[str, str] | None) -> list[tuple[date, date]]:
    """The days of ``start..end`` outside its whole months."""
    if span is None:
        return [(start, end)]
    edges = []
    first_month = date.fromisoformat(span[0] + "-01")
    if start < first_month:
        edges.append((start, first_month - timedelta(days=1)))
    last_month = date.fromisoformat(span[1] + "-01")
    after_last = _next_month(last_month)
    if end >= after_last:
        edges.append((after_last, end))
    return edges


def period_histograms(
    session: Session,
    dims: Dimensions,
    periods: Mapping[str, tuple[date, date]],
    *,
    measures: Collection[str] = MEASURES,
    by_month: Collection[tuple[str, str]] = (),
) -> Histograms:
    """Histograms of the procedures received in each of the (disjoint) ``periods``, per period
    tag, type and measure; per month too for the (tag, measure) pairs in ``by_month``. Whole
    months come from the roll-up, the days around them from the summary rows (all of them
    when :attr:`Dimensions.from_rollup` is false). Two statements whatever the periods."""
    result: Histograms = defaultdict(Histogram)
    measures = list(measures)

    def month_or_none(tag: Any, measure: Any, month: Any) -> Any:
        pairs = [and_(tag == t, measure == m) for t, m in by_month]
        return case((or_(*pairs), month), else_=None) if pairs else cast(null(), String)

    spans = {
        tag: _month_span(*bounds) if dims.from_rollup else None for tag, bounds in periods.items()
    }
    whole = {tag: span for tag, span in spans.items() if span is not None}
    if whole:
        tag = case(*[(R.month.between(a, b), literal(t)) for t, (a, b) in whole.items()])
        month = month_or_none(tag, R.measure, R.month)
        keys = [tag.label("tag"), R.type_code, month.label("m"), R.measure, R.value]
        query = (
            select(*keys, func.sum(R.n), func.sum(R.total))
            .where(
                *dims.rollup_where(),
                R.measure.in_(measures),
                R.n != 0,
                or_(*[R.month.between(a, b) for a, b in whole.values()]),
            )
            .group_by(*_positions(keys))
        )
        _collect(result, session.execute(query))
    edges = [(t, a, b) for t, bounds in periods.items() for a, b in _edges(*bounds, spans[t])]
    if edges:
        tag = case(*[(S.received_on.between(a, b), literal(t)) for t, a, b in edges]).label("tag")
        where = or_(*[and_(*dims.summary_where(a, b)) for _t, a, b in edges])
        fine = contributions(session, [where], extra=[tag], measures=measures)
        month = month_or_none(fine.c.tag, fine.c.measure, fine.c.month)
        keys = [fine.c.tag, fine.c.type_code, month.label("m"), fine.c.measure, fine.c.value]
        query = select(*keys, func.sum(fine.c.n), func.sum(fine.c.total)).group_by(
            *_positions(keys)
        )
        _collect(result, session.execute(query))
    return result


def _positions(keys: Sequence[Any]) -> list[Any]:
    # GROUP BY 1, 2, ..: the keys hold bound parameters (the periods' dates), which the
    # databases would not recognise as the same expression when repeated.
    return [literal_column(str(i + 1)) for i in range(len(keys))]


def _collect(result: Histograms, rows: Iterable[Any]) -> None:
    for tag, type_code, month, measure, value, n, total in rows:
        result[(tag, type_code, month, measure)].add(int(value), int(n or 0), int(total or 0))


def weekly_flows(
    session: Session, dims: Dimensions, first: date, last: date
) -> dict[str, dict[int, int]]:
    """Per type, the procedures received minus those decided in each week up to ``last`` (a
    Sunday), keyed by the week's index from ``first`` (a Sunday; index 0 holds everything up
    to it): the increments of the backlog. From the roll-up: its weeks end on Sundays, so a
    value up to ``last`` means a date up to ``last``."""
    assert dims.from_rollup and last.weekday() == 6 and first.weekday() == 6
    low, high = day_number(first), day_number(last)
    bucket = case((R.value <= low, 0), else_=(R.value - low) / 7)
    sign = case((R.measure == RECEIVED, 1), else_=-1)
    keys = [R.type_code, bucket.label("k")]
    query = (
        select(*keys, func.sum(sign * R.n))
        .where(
            *dims.rollup_where(),
            R.measure.in_((RECEIVED, DECIDED)),
            R.month <= month_key(last),
            R.value <= high,
            R.n != 0,
        )
        .group_by(*_positions(keys))
    )
    flows: dict[str, dict[int, int]] = defaultdict(dict)
    present: set[str] = set()
    for type_code, k, n in session.execute(query):
        present.add(type_code)
        flows[type_code][int(k)] = int(n or 0)
    return {code: flows[code] for code in present}


__all__ = [
    "Dimensions",
    "Histogram",
    "ProcedureRollup",
    "contributions",
    "period_histograms",
    "procedure_rows",
    "rebuild",
    "record_change",
    "weekly_flows",
]
