"""Offices compared for one procedure type: a rank with its uncertainty, and what the best do.

The confidence rule (the page states it):

- each office's measure comes with a 95% band (:meth:`Distribution.band`): order statistics
  for medians and percentiles, Wilson for a share, a normal band for a mean;
- an office with fewer than :data:`MIN_RANKED` procedures measured gets its band but **no
  rank**: a handful of procedures says little about an office;
- among the others, an office's rank is a range: from 1 + the offices whose whole band is
  better than its own, to the count of offices whose band is not wholly worse. Offices whose
  bands overlap share ranks; only clear differences separate them;
- volume is shown next to every figure, and the comparison uses rates per procedure (requests
  for integration per procedure, mean days per holder), so a large office is not "worse" for
  being large.

The public version (``public=True``) leaves out altogether every office with fewer than
:data:`portale.reports.opendata.MIN_GROUP` procedures filed or measured, like the open data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portale.programme.figures import Distribution, distributions, merge_all, office_names
from portale.programme.models import BALL_MEASURES, MEASURE_WITHIN_TERM
from portale.programme.targets import lower_is_better
from portale.reports.filters import ReportFilter
from portale.reports.opendata import MIN_GROUP

MIN_RANKED = 10


@dataclass(frozen=True)
class RankedOffice:
    office_id: int
    name: str
    filed: int
    measured: int
    value: float | None
    band: tuple[float, float] | None
    rank_low: int | None  # None: too few procedures for a rank
    rank_high: int | None
    integrations_per_procedure: float | None
    first_time_right_share: float | None
    days_office: float | None
    days_authority: float | None
    days_company: float | None

    @property
    def ranked(self) -> bool:
        return self.rank_low is not None


@dataclass(frozen=True)
class Difference:
    """One way the best office differs from the others, in the best office's favour."""

    label: object
    best: float
    others: float
    unit: str  # "days", "share" or "per_procedure"


@dataclass(frozen=True)
class Ranking:
    filter: ReportFilter
    measure: str
    offices: list[RankedOffice]  # ranked ones in order, then the unranked
    best: RankedOffice | None
    differences: list[Difference]
    public: bool

    @property
    def ranked(self) -> list[RankedOffice]:
        return [o for o in self.offices if o.ranked]


def _better(measure: str, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Is band ``a`` wholly better than band ``b``?"""
    return a[1] < b[0] if lower_is_better(measure) else a[0] > b[1]


def _row(office_id: int, name: str, dist: Distribution, measure: str) -> RankedOffice:
    return RankedOffice(
        office_id=office_id,
        name=name,
        filed=dist.filed,
        measured=dist.sample_size(measure),
        value=dist.value(measure),
        band=dist.band(measure),
        rank_low=None,
        rank_high=None,
        integrations_per_procedure=dist.integrations_per_procedure(),
        first_time_right_share=dist.first_time_right_share(),
        days_office=dist.stage_mean("days_office"),
        days_authority=dist.stage_mean("days_authority"),
        days_company=dist.stage_mean("days_company"),
    )


def _differences(best: Distribution, others: Distribution) -> list[Difference]:
    """The rates on which the best office does better than the rest together, largest first."""
    candidates = [
        (
            _l("Meno richieste di integrazione"),
            best.integrations_per_procedure(),
            others.integrations_per_procedure(),
            "per_procedure",
            True,
        ),
        (
            _l("Più pratiche concluse senza integrazioni"),
            best.first_time_right_share(),
            others.first_time_right_share(),
            "share",
            False,
        ),
        (
            _l("Pareri degli enti più brevi"),
            best.stage_mean("days_authority"),
            others.stage_mean("days_authority"),
            "days",
            True,
        ),
        (
            _l("Meno giorni in carico allo sportello"),
            best.stage_mean("days_office"),
            others.stage_mean("days_office"),
            "days",
            True,
        ),
        (
            _l("Meno giorni in attesa dell'impresa"),
            best.stage_mean("days_company"),
            others.stage_mean("days_company"),
            "days",
            True,
        ),
    ]
    found = []
    for label, mine, theirs, unit, lower in candidates:
        if mine is None or theirs is None or mine == theirs:
            continue
        if (mine < theirs) == lower:
            gap = abs(mine - theirs) / max(abs(theirs), 1e-9)
            found.append((gap, Difference(label, mine, theirs, unit)))
    return [d for _gap, d in sorted(found, key=lambda item: -item[0])][:3]


def rank_offices(
    session: Session,
    *,
    type_code: str,
    measure: str,
    start: date,
    end: date,
    public: bool = False,
) -> Ranking:
    """Offices ranked on ``measure`` for the procedures of ``type_code`` filed in the period."""
    report = ReportFilter(start=start, end=end, type_code=type_code)
    by_office = distributions(session, report, by="office", spread=measure in BALL_MEASURES)
    names = office_names(session)
    rows, dists = [], {}
    for office_id, dist in by_office.items():
        measured = dist.sample_size(measure)
        if public and (dist.filed < MIN_GROUP or measured < MIN_GROUP):
            continue
        rows.append(_row(office_id, names.get(office_id, ""), dist, measure))
        dists[office_id] = dist
    rankable = [r for r in rows if r.measured >= MIN_RANKED and r.band is not None]
    ranked = []
    for row in rankable:
        assert row.band is not None
        better = sum(1 for o in rankable if o is not row and _better(measure, o.band, row.band))
        worse = sum(1 for o in rankable if o is not row and _better(measure, row.band, o.band))
        ranked.append(
            RankedOffice(
                **{**row.__dict__, "rank_low": 1 + better, "rank_high": len(rankable) - worse}
            )
        )
    sign = 1 if lower_is_better(measure) else -1
    ranked.sort(key=lambda r: (r.rank_low, sign * (r.value or 0.0), r.name))
    unranked = sorted(
        (r for r in rows if r not in rankable), key=lambda r: (-(r.measured or 0), r.name)
    )
    best = ranked[0] if ranked else None
    differences: list[Difference] = []
    if best is not None and len(ranked) > 1:
        rest = merge_all(dists[r.office_id] for r in ranked if r is not best)
        differences = _differences(dists[best.office_id], rest)
    return Ranking(report, measure, ranked + unranked, best, differences, public)


def share_or_days(measure: str) -> str:
    return "share" if measure == MEASURE_WITHIN_TERM else "days"
