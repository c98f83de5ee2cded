"""The programme's figures: exact distributions of net days per group, from the summary.

Targets, rankings and a proposal's before/after all need the same few numbers for a group of
procedures (an office, a quarter, a period): how many closed, the histogram of their net days
(integers, so a few hundred rows give exact percentiles for any group), how many within the
term, and the days each ball-holder held them. They come from ``procedure_summary``, the same
table and the same report filter as the dashboard, with the report's definitions (closed =
decided; figures over closed procedures filed in the period), so the programme never shows a
number the dashboard would not.

Percentiles follow ``percentile_cont`` (linear interpolation between the closest ranks), as
:func:`portale.reports.stats.grouped_percentiles` does; a test checks that both agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from portale.backoffice.models import ProcedureSummary
from portale.programme.models import (
    BALL_MEASURES,
    MEASURE_MEDIAN,
    MEASURE_P90,
    MEASURE_WITHIN_TERM,
)
from portale.reports import sql
from portale.reports.filters import ReportFilter

S = ProcedureSummary
Z95 = 1.959963984540054
STAGE_COLUMNS = {
    "days_company": S.days_company,
    "days_office": S.days_office,
    "days_authority": S.days_authority,
    "days_dispatch": S.days_dispatch,
}


@dataclass
class Distribution:
    """The closed procedures of one group: net-day histogram and the sums the measures need."""

    filed: int = 0
    closed: int = 0
    net_days: dict[int, int] = field(default_factory=dict)  # day value -> procedures
    within_term: int = 0
    with_term: int = 0
    integration_requests: int = 0  # over the filed procedures
    first_time_right: int = 0  # closed with no integration request
    stage_sum: dict[str, float] = field(default_factory=dict)  # over the closed ones
    stage_sq: dict[str, float] = field(default_factory=dict)  # sums of squares, for the band

    # --- the measures -----------------------------------------------------------------

    def quantile(self, fraction: float) -> float | None:
        """``percentile_cont(fraction)`` of the net days."""
        n = sum(self.net_days.values())
        if not n:
            return None
        position = fraction * (n - 1)
        low, high = math.floor(position), math.ceil(position)
        v_low, v_high = self._at(low), self._at(high)
        return v_low + (v_high - v_low) * (position - low)

    def _at(self, rank: int) -> float:
        """The net days of the procedure at 0-based ``rank`` in ascending order."""
        seen = 0
        for value in sorted(self.net_days):
            seen += self.net_days[value]
            if rank < seen:
                return float(value)
        raise IndexError(rank)

    def within_share(self) -> float | None:
        return self.within_term / self.with_term if self.with_term else None

    def stage_mean(self, stage: str) -> float | None:
        return self.stage_sum.get(stage, 0.0) / self.closed if self.closed else None

    def integrations_per_procedure(self) -> float | None:
        return self.integration_requests / self.filed if self.filed else None

    def first_time_right_share(self) -> float | None:
        return self.first_time_right / self.closed if self.closed else None

    def value(self, measure: str) -> float | None:
        if measure == MEASURE_MEDIAN:
            return self.quantile(0.5)
        if measure == MEASURE_P90:
            return self.quantile(0.9)
        if measure == MEASURE_WITHIN_TERM:
            return self.within_share()
        if measure in BALL_MEASURES:
            return self.stage_mean(measure)
        raise ValueError(measure)

    def sample_size(self, measure: str) -> int:
        """How many procedures the measure is taken over."""
        return self.with_term if measure == MEASURE_WITHIN_TERM else self.closed

    def band(self, measure: str) -> tuple[float, float] | None:
        """A 95% confidence band for the measure: distribution-free for quantiles (order
        statistics), Wilson for a share, normal for a mean. None with no data."""
        n = self.sample_size(measure)
        if not n:
            return None
        if measure in (MEASURE_MEDIAN, MEASURE_P90):
            low, high = quantile_ranks(n, 0.5 if measure == MEASURE_MEDIAN else 0.9)
            return self._at(low), self._at(high)
        if measure == MEASURE_WITHIN_TERM:
            return wilson(self.within_term, n)
        mean = self.stage_sum.get(measure, 0.0) / n
        if n < 2:
            return 0.0, math.inf
        variance = max(0.0, (self.stage_sq.get(measure, 0.0) - n * mean * mean) / (n - 1))
        half = Z95 * math.sqrt(variance / n)
        return max(0.0, mean - half), mean + half

    def merged(self, other: Distribution) -> Distribution:
        """The two groups together (histograms add up exactly)."""
        days = dict(self.net_days)
        for value, count in other.net_days.items():
            days[value] = days.get(value, 0) + count
        stages = set(self.stage_sum) | set(other.stage_sum)
        return Distribution(
            filed=self.filed + other.filed,
            closed=self.closed + other.closed,
            net_days=days,
            within_term=self.within_term + other.within_term,
            with_term=self.with_term + other.with_term,
            integration_requests=self.integration_requests + other.integration_requests,
            first_time_right=self.first_time_right + other.first_time_right,
            stage_sum={s: self.stage_sum.get(s, 0.0) + other.stage_sum.get(s, 0.0) for s in stages},
            stage_sq={s: self.stage_sq.get(s, 0.0) + other.stage_sq.get(s, 0.0) for s in stages},
        )


def merge_all(parts: Iterable[Distribution]) -> Distribution:
    total = Distribution()
    for part in parts:
        total = total.merged(part)
    return total


# --- confidence --------------------------------------------------------------------------


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), in log space so large n does not overflow."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k + 1):
        log_term = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        total += math.exp(log_term + i * log_p + (n - i) * log_q)
    return min(total, 1.0)


def quantile_ranks(n: int, fraction: float, level: float = 0.95) -> tuple[int, int]:
    """0-based ranks (low, high) of the order statistics bracketing the ``fraction`` quantile
    with at least ``level`` coverage (the distribution-free interval); clipped to the sample.

    Small samples cannot reach the level: the band is then the whole sample, wide on purpose.
    """
    alpha = (1 - level) / 2
    if n > 1000:  # the normal approximation is exact enough and the sum would be long
        half = Z95 * math.sqrt(n * fraction * (1 - fraction))
        low = max(0, math.floor(n * fraction - half) - 1)
        high = min(n - 1, math.ceil(n * fraction + half))
        return low, high
    low = 0
    # the largest j with P(B <= j - 1) <= alpha: X_(j) is below the quantile with prob >= 1 - a
    for j in range(n, 0, -1):
        if _binomial_cdf(j - 1, n, fraction) <= alpha:
            low = j - 1
            break
    high = n - 1
    for k in range(1, n + 1):
        if _binomial_cdf(k - 1, n, fraction) >= 1 - alpha:
            high = k - 1
            break
    return low, max(low, high)


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score interval for a share (95%)."""
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


# --- reading them ------------------------------------------------------------------------


def quarter_of(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-Qn`` of a date column."""
    if sql.dialect_of(session) == "postgresql":
        return func.to_char(column, 'YYYY-"Q"Q')
    month = cast(func.strftime("%m", column), Integer)
    return func.strftime("%Y", column) + "-Q" + cast((month + 2) // 3, String)


def _group_key(session: Session, by: str | tuple[str, ...] | None) -> list[ColumnElement[Any]]:
    if by is None:
        return []
    if isinstance(by, tuple):
        return [key for name in by for key in _group_key(session, name)]
    if by == "office":
        return [S.office_id]
    if by == "type":
        return [S.type_code]
    if by == "quarter":
        return [quarter_of(session, S.received_on)]
    raise ValueError(by)


def _key(row: Any, width: int) -> Any:
    if not width:
        return None
    return row[0] if width == 1 else tuple(row[:width])


def distributions(
    session: Session,
    report: ReportFilter,
    *,
    by: str | tuple[str, ...] | None = None,
    type_codes: Iterable[str] | None = None,
    office_ids: Iterable[int] | None = None,
) -> dict[Any, Distribution]:
    """``{group: Distribution}`` of the report's procedures, grouped ``by`` office, type,
    quarter of filing, a tuple of those (key: a tuple), or not at all (key ``None``). ``type_codes`` / ``office_ids`` narrow
    the report to several types or offices at once (empty or None: all)."""
    keys = _group_key(session, by)
    where = list(report.conditions())
    if type_codes:
        where.append(S.type_code.in_(list(type_codes)))
    if office_ids:
        where.append(S.office_id.in_(list(office_ids)))
    closed = S.decided_on.is_not(None)

    def flag(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    stage_cols = []
    for column in STAGE_COLUMNS.values():
        stage_cols.append(func.sum(case((closed, column), else_=0.0)))
        stage_cols.append(func.sum(case((closed, column * column), else_=0.0)))
    totals = (
        select(
            *keys,
            func.count(),
            flag(closed),
            flag(closed & S.within_term.is_(True)),
            flag(closed & S.within_term.is_not(None)),
            func.sum(S.integration_requests),
            flag(closed & (S.integration_requests == 0)),
            *stage_cols,
        )
        .where(*where)
        .group_by(*keys)
    )
    result: dict[Any, Distribution] = {}
    width = len(keys)
    for row in session.execute(totals):
        key = _key(row, width)
        values = row[width:]
        dist = Distribution(
            filed=int(values[0]),
            closed=int(values[1] or 0),
            within_term=int(values[2] or 0),
            with_term=int(values[3] or 0),
            integration_requests=int(values[4] or 0),
            first_time_right=int(values[5] or 0),
        )
        for i, stage in enumerate(STAGE_COLUMNS):
            dist.stage_sum[stage] = float(values[6 + 2 * i] or 0.0)
            dist.stage_sq[stage] = float(values[7 + 2 * i] or 0.0)
        result[key] = dist
    histogram = (
        select(*keys, S.days_net, func.count())
        .where(*where, closed, S.days_net.is_not(None))
        .group_by(*keys, S.days_net)
    )
    for row in session.execute(histogram):
        key = _key(row, width)
        days, count = int(row[width]), int(row[width + 1])
        result.setdefault(key, Distribution()).net_days[days] = count
    return result


def office_names(session: Session) -> Mapping[int, str]:
    from portale.accounts.models import Office

    return dict(session.execute(select(Office.id, Office.name)).all())
