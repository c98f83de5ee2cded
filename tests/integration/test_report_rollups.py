"""The dashboard from the histogram roll-ups gives the same numbers as the portal's previous
computation (SQL over every summary row, kept in tests/reports_oracle.py) on the same generated
data, for every kind of filter, on SQLite and PostgreSQL; and the roll-up kept current by the
back office's own transactions equals one rebuilt from scratch."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portale.cases.models import OpinionRequest, ProcedureSummary
from portale.clock.calendar import local_date
from portale.reports import rollups
from portale.reports import services as reports
from portale.reports.filters import ReportFilter, parse_filter
from portale.reports.generator import GeneratorConfig, generate
from portale.reports.models import ProcedureRollup
from tests import reports_oracle as oracle

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = local_date(NOW)
# Means and sums of fractional days are added in another order (and as whole ten-thousandths):
# equal to the last printed digit and far beyond, not to the last bit.
SUMS = {
    "days_company",
    "days_office",
    "days_authority",
    "days_dispatch",
    "days_total",
    "days_per_procedure",
    "share",
    "previous_per_procedure",
    "waiting_days",
    "previous_waiting_days",
    "trend",
}


@pytest.fixture
def generated(session):
    config = GeneratorConfig(companies=60, procedures=700, seed=3, years=2, now=NOW)
    generate(session, config)
    return session


def assert_same(got, expected, path="", name=""):
    if dataclasses.is_dataclass(expected):
        assert type(got) is type(expected), path
        for f in dataclasses.fields(expected):
            assert_same(getattr(got, f.name), getattr(expected, f.name), f"{path}.{f.name}", f.name)
    elif isinstance(expected, list | tuple):
        assert len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_same(g, e, f"{path}[{i}]", name)
    elif isinstance(expected, float) and name in SUMS:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), path
    else:
        assert got == expected, path


def _busiest(session, column):
    return session.execute(
        select(column).group_by(column).order_by(func.count().desc(), column).limit(1)
    ).scalar_one()


def filters(session) -> dict[str, ReportFilter]:
    default = parse_filter({}, today=TODAY)  # the last 12 months: no whole-month edges
    authority = _busiest(session, OpinionRequest.authority_id)
    return {
        "last 12 months": default,
        "type": replace(default, type_code=_busiest(session, ProcedureSummary.type_code)),
        "municipality": replace(
            default, municipality=_busiest(session, ProcedureSummary.municipality)
        ),
        "office": replace(default, office_id=_busiest(session, ProcedureSummary.office_id)),
        "office and type": replace(
            default,
            office_id=_busiest(session, ProcedureSummary.office_id),
            type_code=_busiest(session, ProcedureSummary.type_code),
        ),
        "authority": replace(default, authority_id=authority),
        "whole months": ReportFilter(date(2025, 7, 1), date(2026, 3, 31)),
        "within one month": ReportFilter(date(2026, 2, 3), date(2026, 2, 20)),
        "no sunday": ReportFilter(date(2026, 3, 2), date(2026, 3, 6)),
        "nothing filed": ReportFilter(date(2010, 1, 1), date(2010, 12, 31)),
    }


def test_dashboard_numbers_equal_the_previous_computation_for_every_filter(generated):
    session = generated
    assert session.scalar(select(func.count()).select_from(ProcedureRollup))
    for label, report in filters(session).items():
        overview, ranking = reports.dashboard(session, report, as_of=NOW)
        expected_overview = oracle.overview(session, report, as_of=NOW)
        expected_ranking = oracle.bottlenecks(session, report, as_of=NOW)
        assert_same(overview, expected_overview, label)
        assert_same(ranking, expected_ranking, label)
        # the service's separate entry points say the same
        assert_same(reports.overview(session, report, as_of=NOW), expected_overview, label)
        assert_same(reports.bottlenecks(session, report, as_of=NOW), expected_ranking, label)
    # the data exercise the figures (not a comparison of empty reports)
    total = reports.overview(session, filters(session)["last 12 months"], as_of=NOW).total
    assert total.closed > 100 and total.open and total.overdue_open and total.net_p90
    assert total.within_term < total.with_term


def _table(session):
    return {
        tuple(r[:-2]): (r[-2], r[-1])
        for r in session.execute(
            select(
                *[getattr(ProcedureRollup, k) for k in rollups.KEY],
                ProcedureRollup.n,
                ProcedureRollup.total,
            ).where(ProcedureRollup.n != 0)
        )
    }


def test_the_roll_up_kept_by_the_back_office_equals_a_rebuild(session, tmp_path):
    """Built through the real services (filing, clerk actions, opinions): every summary
    rewrite moved the roll-up in its own transaction."""
    from tests.reports_support import build_report_data

    build_report_data(session, tmp_path)
    kept = _table(session)
    assert kept
    rollups.rebuild(session)
    assert _table(session) == kept


def test_a_filing_and_a_decision_move_the_dashboard_at_once(session, tmp_path):
    from tests.reports_support import AS_OF, PERIOD, build_report_data

    world = build_report_data(session, tmp_path)
    before = reports.overview(session, PERIOD, as_of=AS_OF).total
    expected = oracle.overview(session, PERIOD, as_of=AS_OF).total
    assert_same(before, expected)
    open_one = next(p for p in world.procedures if p.received_on >= PERIOD.start and p.state)
    assert open_one is not None
    # one more summary rewrite (a refresh at a later instant) keeps both computations equal
    from portale.cases import services as core

    core.refresh(session, open_one, now=AS_OF + timedelta(days=1))
    session.flush()
    assert_same(
        reports.overview(session, PERIOD, as_of=AS_OF).total,
        oracle.overview(session, PERIOD, as_of=AS_OF).total,
    )
    rebuilt = _table(session)
    rollups.rebuild(session)
    assert _table(session) == rebuilt


def test_the_rebuild_command_repairs_a_damaged_roll_up(session, app, tmp_path):
    from tests.reports_support import build_report_data

    build_report_data(session, tmp_path)
    kept = _table(session)
    session.execute(ProcedureRollup.__table__.delete().where(ProcedureRollup.measure == "net"))
    assert _table(session) != kept
    result = app.test_cli_runner().invoke(args=["data", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "report roll-ups rebuilt" in result.output
    assert _table(session) == kept


def test_per_municipality_histograms_agree_from_the_roll_up_and_from_the_summaries(generated):
    session = generated
    town = _busiest(session, ProcedureSummary.municipality)
    periods = {"now": (date(2025, 6, 16), date(2026, 6, 15))}
    # one municipality: its finest roll-up rows; every municipality: the summaries, grouped
    one = rollups.period_histograms(
        session, rollups.Dimensions(municipality=town), periods, by_municipality=True
    )
    every = rollups.period_histograms(session, rollups.Dimensions(), periods, by_municipality=True)
    assert one
    assert {k: h.counts for k, h in one.items() if h.n} == {
        k: h.counts for k, h in every.items() if k[2] == town and h.n
    }
    assert {k: h.total for k, h in one.items()} == {
        k: h.total for k, h in every.items() if k[2] == town
    }
