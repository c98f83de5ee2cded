"""Targets of the pact and their progress: baseline, now, trend, projection, status.

How a target is judged (the same rules the page explains to its readers):

- the **baseline** is the measure over the procedures filed in the baseline period;
- the **series** is the measure per quarter of filing, from the baseline's start to the last
  quarter that has ended; a quarter with fewer than :data:`MIN_POINT` procedures measured has
  no point (too few to mean anything, and too few to be shown outside the office);
- **now** is the latest quarter with a point after the baseline (the baseline if none);
- the **trend** is the least-squares line through the points after the baseline (at least two),
  and the **projection** is that line read on the due date (with fewer points: now);
- the **status**: after the due date, *achieved* if now meets the threshold, else *missed*;
  before it, *on track* if the projection meets the threshold, else *at risk*; *no data*
  while nothing was measured. A target "in every office" takes the worst office's status.

"Meets" is ``value <= threshold`` for days and ``value >= threshold`` for a share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.programme.figures import (
    Distribution,
    distributions,
    merge_all,
    office_names,
    quarter_bounds,
)
from portale.programme.models import MEASURE_WITHIN_TERM, Target
from portale.reports.filters import ReportFilter

MIN_POINT = 5

ON_TRACK = "on_track"
AT_RISK = "at_risk"
MISSED = "missed"
ACHIEVED = "achieved"
NO_DATA = "no_data"
# worst first: an "in every office" target takes the first status any office has
SEVERITY = (MISSED, AT_RISK, ON_TRACK, ACHIEVED, NO_DATA)


@dataclass(frozen=True)
class Point:
    label: str  # YYYY-Qn, or "baseline"
    start: date
    end: date
    value: float | None
    n: int


@dataclass(frozen=True)
class Progress:
    """A target's figures for one scope: all its offices together, or one office."""

    baseline: Point
    points: list[Point]
    now: Point | None
    slope_per_year: float | None
    projection: float | None
    status: str
    office_id: int | None = None
    office_name: str = ""


@dataclass(frozen=True)
class TargetProgress:
    target: Target
    overall: Progress
    offices: list[Progress] = field(default_factory=list)  # when each_office
    as_of: date | None = None

    @property
    def status(self) -> str:
        if not self.target.each_office:
            return self.overall.status
        return worst(p.status for p in self.offices) if self.offices else NO_DATA

    @property
    def failing_offices(self) -> list[Progress]:
        return [p for p in self.offices if p.status in (MISSED, AT_RISK)]


def worst(statuses: Iterable[str]) -> str:
    known = [s for s in statuses if s != NO_DATA]
    return min(known, key=SEVERITY.index) if known else NO_DATA


def lower_is_better(measure: str) -> bool:
    return measure != MEASURE_WITHIN_TERM


def meets(measure: str, value: float, threshold: float) -> bool:
    return value <= threshold if lower_is_better(measure) else value >= threshold


def last_ended_quarter_end(today: date) -> date:
    first_month = 3 * ((today.month - 1) // 3) + 1
    return date(today.year, first_month, 1) - timedelta(days=1)


def _point(label: str, start: date, end: date, dist: Distribution | None, measure: str) -> Point:
    if dist is None:
        return Point(label, start, end, None, 0)
    n = dist.sample_size(measure)
    return Point(label, start, end, dist.value(measure) if n >= MIN_POINT else None, n)


def _middle(point: Point) -> date:
    return point.start + (point.end - point.start) / 2


def trend(points: list[Point]) -> tuple[float, float] | None:
    """(value at day 0 = 1 Jan 1970, slope per day) of the least-squares line, or None."""
    xs = [(_middle(p) - date(1970, 1, 1)).days for p in points if p.value is not None]
    ys = [p.value for p in points if p.value is not None]
    if len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if not sxx:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def _progress(
    target: Target,
    baseline: Distribution | None,
    by_quarter: dict[str, Distribution],
    today: date,
    series_end: date,
) -> Progress:
    measure = target.measure
    base = _point("baseline", target.baseline_start, target.baseline_end, baseline, measure)
    points = []
    for label in sorted(by_quarter):
        start, end = quarter_bounds(label)
        if end <= series_end:
            points.append(_point(label, start, end, by_quarter[label], measure))
    after = [p for p in points if p.start > target.baseline_end and p.value is not None]
    now = after[-1] if after else (base if base.value is not None else None)
    line = trend(after)
    slope_per_year = line[1] * 365.25 if line else None
    if line:
        projection: float | None = line[0] + line[1] * (target.due_on - date(1970, 1, 1)).days
        low, high = (0.0, 1.0) if measure == MEASURE_WITHIN_TERM else (0.0, float("inf"))
        projection = min(high, max(low, projection))
    else:
        projection = now.value if now else None
    if now is None or now.value is None:
        status = NO_DATA
    elif today > target.due_on:
        status = ACHIEVED if meets(measure, now.value, target.threshold) else MISSED
    elif projection is not None and meets(measure, projection, target.threshold):
        status = ON_TRACK
    else:
        status = AT_RISK
    return Progress(base, points, now, slope_per_year, projection, status)


def progress(session: Session, target: Target, *, today: date) -> TargetProgress:
    """The target's figures as of ``today`` (computed, never stored)."""
    series_end = last_ended_quarter_end(today)
    series = ReportFilter(
        start=min(target.baseline_start, series_end), end=series_end, type_code=target.type_code
    )
    baseline = ReportFilter(
        start=target.baseline_start, end=target.baseline_end, type_code=target.type_code
    )
    offices = target.office_ids or None
    if not target.each_office:
        base = distributions(session, baseline, office_ids=offices).get(None)
        quarters = distributions(session, series, by="quarter", office_ids=offices)
        return TargetProgress(
            target, _progress(target, base, quarters, today, series_end), as_of=today
        )
    # per office: the baseline per office, and the series per (quarter) for each office
    names = office_names(session)
    ids = offices or sorted(names)
    base_by_office = distributions(session, baseline, by="office", office_ids=ids)
    by_office_quarter = distributions(session, series, by=("office", "quarter"), office_ids=ids)
    per_office = []
    all_quarters: dict[str, Distribution] = {}
    for (_office, label), dist in by_office_quarter.items():
        all_quarters[label] = all_quarters.get(label, Distribution()).merged(dist)
    for office_id in ids:
        quarters = {q: d for (o, q), d in by_office_quarter.items() if o == office_id}
        result = _progress(target, base_by_office.get(office_id), quarters, today, series_end)
        if result.baseline.n or any(p.n for p in result.points):
            per_office.append(
                replace(result, office_id=office_id, office_name=names.get(office_id, ""))
            )
    pooled_base = merge_all(base_by_office.values()) if base_by_office else None
    overall = _progress(target, pooled_base, all_quarters, today, series_end)
    per_office.sort(key=lambda p: (SEVERITY.index(p.status), p.office_name))
    return TargetProgress(target, overall, per_office, as_of=today)


def all_targets(session: Session) -> list[Target]:
    return list(session.scalars(select(Target).order_by(Target.due_on, Target.id)))


def progress_of_all(session: Session, *, today: date) -> list[TargetProgress]:
    return [progress(session, t, today=today) for t in all_targets(session)]


# --- keeping them ------------------------------------------------------------------------


def save_target(
    session: Session,
    target: Target | None,
    *,
    actor_id: int,
    title: str,
    type_code: str | None,
    measure: str,
    threshold: float,
    each_office: bool,
    baseline_start: date,
    baseline_end: date,
    due_on: date,
    office_ids: Iterable[int] = (),
    notes: str | None = None,
) -> Target:
    """Create (``target`` None) or change a target. Commits."""
    from portale.accounts.models import Office

    if baseline_end < baseline_start or due_on <= baseline_end:
        raise ValueError("the baseline must be a period that ends before the due date")
    if target is None:
        target = Target(created_by_id=actor_id)
        session.add(target)
    ids = list(dict.fromkeys(office_ids))
    target.title = title.strip()[:300]
    target.type_code = type_code or None
    target.measure = measure
    target.threshold = threshold
    target.each_office = each_office
    target.baseline_start, target.baseline_end, target.due_on = baseline_start, baseline_end, due_on
    target.notes = (notes or "").strip() or None
    target.offices = list(session.scalars(select(Office).where(Office.id.in_(ids)))) if ids else []
    session.commit()
    return target


def delete_target(session: Session, target: Target) -> None:
    session.delete(target)
    session.commit()
