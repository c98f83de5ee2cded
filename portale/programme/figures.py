"""The programme's figures: exact distributions of net days per group, from the summary.

Targets, rankings and a proposal's before/after all need the same few numbers for a group of
procedures (an office, a quarter, a period): how many closed, the histogram of their net days
(integers, so a few hundred rows give exact percentiles for any group), how many within the
term, and the days each ball-holder held them. They come from the dashboard's own histogram
roll-ups (:mod:`portale.reports.rollups`) with the report's filter and definitions (closed =
decided; figures over closed procedures filed in the period), so the programme never shows a
number the dashboard would not: there is no second aggregation path.

Percentiles follow ``percentile_cont`` (linear interpolation between the closest ranks), as
:func:`portale.reports.stats.grouped_percentiles` does; a test checks that both agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.cases.models import ProcedureSummary
from portale.programme.models import (
    BALL_MEASURES,
    MEASURE_MEDIAN,
    MEASURE_P90,
    MEASURE_WITHIN_TERM,
)
from portale.reports import rollups
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

_STAGES = {  # the programme's measure name -> the roll-up's stage measure
    "days_company": rollups.STAGE_MEASURES["company"],
    "days_office": rollups.STAGE_MEASURES["office"],
    "days_authority": rollups.STAGE_MEASURES["authority"],
    "days_dispatch": rollups.STAGE_MEASURES["dispatch"],
}
_READ = (
    rollups.RECEIVED,
    rollups.DECIDED,
    rollups.NET,
    rollups.WITHIN,
    rollups.WITH_TERM,
    rollups.FIRST_TIME,
    rollups.INTEGRATIONS,
    *_STAGES.values(),
)


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(label: str) -> tuple[date, date]:
    year, quarter = int(label[:4]), int(label[-1])
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def _quarters(start: date, end: date) -> dict[str, tuple[date, date]]:
    """The quarters of the period, each cut to it."""
    found: dict[str, tuple[date, date]] = {}
    day = start
    while day <= end:
        low, high = quarter_bounds(quarter_of(day))
        found[quarter_of(day)] = (max(low, start), min(high, end))
        day = high + timedelta(days=1)
    return found


def _fill(dist: Distribution, measure: str, histogram: rollups.Histogram) -> None:
    n = histogram.n
    if measure == rollups.RECEIVED:
        dist.filed += n
    elif measure == rollups.DECIDED:
        dist.closed += n
    elif measure == rollups.NET:
        for value, count in histogram.counts.items():
            if count:
                dist.net_days[value] = dist.net_days.get(value, 0) + count
    elif measure == rollups.WITHIN:
        dist.within_term += n
    elif measure == rollups.WITH_TERM:
        dist.with_term += n
    elif measure == rollups.FIRST_TIME:
        dist.first_time_right += n
    elif measure == rollups.INTEGRATIONS:
        dist.integration_requests += histogram.total
    else:
        stage = next(k for k, v in _STAGES.items() if v == measure)
        dist.stage_sum[stage] = (
            dist.stage_sum.get(stage, 0.0) + histogram.total / rollups.TOTAL_SCALE
        )


def distributions(
    session: Session,
    report: ReportFilter,
    *,
    by: str | tuple[str, ...] | None = None,
    type_codes: Iterable[str] | None = None,
    office_ids: Iterable[int] | None = None,
    spread: bool = False,
) -> dict[Any, Distribution]:
    """``{group: Distribution}`` of the report's procedures, grouped ``by`` office, type,
    quarter of filing, a tuple of those (key: a tuple), or not at all (key ``None``).
    ``type_codes`` / ``office_ids`` narrow the report to several types or offices at once
    (empty or None: all).

    Read from the dashboard's histogram roll-ups (:func:`portale.reports.rollups.
    period_histograms`): two statements per office read, whatever the periods. ``spread``
    adds the sums of squares of the days per ball-holder (a band for their means), which the
    roll-ups do not keep: one more grouped read of the summary rows.
    """
    names = (by,) if isinstance(by, str) else tuple(by or ())
    if set(names) - {"office", "type", "quarter"}:
        raise ValueError(by)
    periods = (
        _quarters(report.start, report.end)
        if "quarter" in names
        else {"p": (report.start, report.end)}
    )
    types = set(type_codes or ()) or ({report.type_code} if report.type_code else set())
    if "office" in names:
        offices: list[int | None] = list(office_ids or ()) or sorted(office_names(session))
    elif report.office_id is not None:
        offices = [report.office_id]
    else:
        offices = list(office_ids or ()) or [None]
    result: dict[Any, Distribution] = {}
    for office_id in offices:
        dims = rollups.Dimensions(
            type_code=next(iter(types)) if len(types) == 1 else None,
            municipality=report.municipality,
            office_id=office_id,
            authority_id=report.authority_id,
        )
        found = rollups.period_histograms(session, dims, periods, measures=_READ)
        for (tag, type_code, _town, _month, measure), histogram in found.items():
            if types and type_code not in types:
                continue
            parts = {"office": office_id, "type": type_code, "quarter": tag}
            key: Any = tuple(parts[n] for n in names)
            key = key[0] if len(key) == 1 else (key or None)
            _fill(result.setdefault(key, Distribution()), measure, histogram)
    result = {k: d for k, d in result.items() if d.filed or d.closed}
    if spread:
        _add_spread(session, report, names, types, offices, result)
    return result


def _add_spread(
    session: Session,
    report: ReportFilter,
    names: tuple[str, ...],
    types: set[str],
    offices: list[int | None],
    result: dict[Any, Distribution],
) -> None:
    columns = {"office": S.office_id, "type": S.type_code}
    if "quarter" in names:
        raise ValueError("spread is read per office or type, not per quarter")
    keys = [columns[n] for n in names]
    where = [*report.conditions(), S.decided_on.is_not(None)]
    if types:
        where.append(S.type_code.in_(sorted(types)))
    chosen = [o for o in offices if o is not None]
    if chosen:
        where.append(S.office_id.in_(chosen))
    squares = [func.sum(column * column) for column in STAGE_COLUMNS.values()]
    for row in session.execute(select(*keys, *squares).where(*where).group_by(*keys)):
        key = tuple(row[: len(keys)])
        key = key[0] if len(key) == 1 else (key or None)
        if key in result:
            for i, stage in enumerate(STAGE_COLUMNS):
                result[key].stage_sq[stage] = float(row[len(keys) + i] or 0.0)


def office_names(session: Session) -> Mapping[int, str]:
    from portale.accounts.models import Office

    return dict(session.execute(select(Office.id, Office.name)).all())
