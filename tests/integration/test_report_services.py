"""Every figure of the report, computed in SQL, equals a plain Python computation over the same
procedures (on SQLite and on PostgreSQL); the ranking names the slow authority first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portale.cases.models import OpinionRequest, ProcedureSummary
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.reports import services as reports
from tests.integration.test_report_stats import percentile_cont
from tests.reports_support import AS_OF, PERIOD, build_report_data

TODAY = local_date(AS_OF)


@pytest.fixture
def world(session, tmp_path):
    return build_report_data(session, tmp_path)


def summaries(session, report):
    rows = session.scalars(select(ProcedureSummary)).all()
    rows = [
        r
        for r in rows
        if report.start <= r.received_on <= report.end
        and (report.type_code is None or r.type_code == report.type_code)
        and (report.municipality is None or r.municipality == report.municipality)
        and (report.office_id is None or r.office_id == report.office_id)
    ]
    if report.authority_id is not None:
        consulted = {
            o.procedure_id
            for o in session.scalars(select(OpinionRequest))
            if o.authority_id == report.authority_id
        }
        rows = [r for r in rows if r.procedure_id in consulted]
    return rows


def is_overdue(r):
    return (
        r.decided_on is None
        and r.last_day is not None
        and r.last_day < TODAY
        and r.state not in (lc.CORRECTION_REQUESTED, lc.INTEGRATION_REQUESTED)
    )


def expected_group(rows):
    closed = [r for r in rows if r.decided_on is not None]
    net = [float(r.days_net) for r in closed]
    gross = [float(r.days_gross) for r in closed]

    def pct(values, p):
        return percentile_cont(values, p) if values else None

    def mean(values):
        return sum(values) / len(values) if values else None

    return {
        "filed": len(rows),
        "closed": len(closed),
        "open": len(rows) - len(closed),
        "net_median": pct(net, 0.5),
        "net_p90": pct(net, 0.9),
        "net_max": max(net, default=None),
        "gross_median": pct(gross, 0.5),
        "gross_p90": pct(gross, 0.9),
        "gross_max": max(gross, default=None),
        "within_term": sum(1 for r in closed if r.within_term is True),
        "with_term": sum(1 for r in closed if r.within_term is not None),
        "overdue_open": sum(1 for r in rows if is_overdue(r)),
        "silent_approvals": sum(1 for r in rows if r.silent_assent),
        "integration_requests": sum(r.integration_requests for r in rows),
        "first_time_right": sum(1 for r in closed if r.integration_requests == 0),
        "days_company": mean([r.days_company for r in closed]),
        "days_office": mean([r.days_office for r in closed]),
        "days_authority": mean([r.days_authority for r in closed]),
        "days_dispatch": mean([r.days_dispatch for r in closed]),
    }


def assert_group(row, expected):
    for name, value in expected.items():
        got = getattr(row, name)
        if value is None:
            assert got is None, name
        else:
            assert got == pytest.approx(value, abs=1e-6), name


FILTERS = [
    PERIOD,
    replace(PERIOD, municipality="001156"),
    replace(PERIOD, start=date(2025, 11, 1), end=date(2026, 2, 28)),
]


@pytest.mark.parametrize("report", FILTERS, ids=["period", "moncalieri", "earlier"])
def test_figures_per_type_and_overall_match_python(session, world, report):
    overview = reports.overview(session, report, as_of=AS_OF)
    rows = summaries(session, report)
    assert rows, "the data set must cover the filter"
    assert {g.type_code for g in overview.groups} == {r.type_code for r in rows}
    for group in overview.groups:
        assert_group(group, expected_group([r for r in rows if r.type_code == group.type_code]))
    assert_group(overview.total, expected_group(rows))
    # the data exercise every figure: none of them trivially zero over the period
    if report is PERIOD:
        total = overview.total
        assert total.closed and total.open and total.overdue_open and total.silent_approvals
        assert 0 < total.first_time_right < total.closed
        assert total.days_company and total.days_authority and total.days_dispatch


def test_filters_narrow_by_office_and_by_authority(session, world):
    office = world.offices["001272"]
    by_office = replace(PERIOD, office_id=office.id)
    overview = reports.overview(session, by_office, as_of=AS_OF)
    assert_group(overview.total, expected_group(summaries(session, by_office)))
    slow = replace(PERIOD, authority_id=world.slow.id)
    overview = reports.overview(session, slow, as_of=AS_OF)
    assert_group(overview.total, expected_group(summaries(session, slow)))
    assert [o.code for o in overview.opinions] == [world.slow.code]


def test_backlog_at_the_end_of_each_week_matches_python(session, world):
    overview = reports.overview(session, PERIOD, as_of=AS_OF)
    assert overview.weeks[0] == date(2026, 5, 3) and overview.weeks[-1] == date(2026, 10, 25)
    assert all(w.weekday() == 6 for w in overview.weeks)
    everything = [
        r for r in session.scalars(select(ProcedureSummary)) if r.received_on <= PERIOD.end
    ]
    for code in [None, *sorted({r.type_code for r in everything})]:
        rows = [r for r in everything if code is None or r.type_code == code]
        expected = [
            sum(
                1
                for r in rows
                if r.received_on <= week and (r.decided_on is None or r.decided_on > week)
            )
            for week in overview.weeks
        ]
        assert overview.backlog_of(code) == expected, code
    assert max(overview.backlog_of(None)) > 0


def test_monthly_trend_of_median_net_days_matches_python(session, world):
    overview = reports.overview(session, PERIOD, as_of=AS_OF)
    closed = [r for r in summaries(session, PERIOD) if r.decided_on is not None]
    months = sorted({r.received_on.strftime("%Y-%m") for r in closed})
    assert [m.month for m in overview.months] == months
    for point in overview.months:
        values = [
            float(r.days_net) for r in closed if r.received_on.strftime("%Y-%m") == point.month
        ]
        assert point.closed == len(values)
        assert point.net_median == pytest.approx(percentile_cont(values, 0.5))


def expected_opinions(session, report):
    procedures = {r.procedure_id for r in summaries(session, report)}
    result = {}
    for o in session.scalars(select(OpinionRequest)):
        if o.procedure_id not in procedures:
            continue
        if report.authority_id is not None and o.authority_id != report.authority_id:
            continue
        entry = result.setdefault(o.authority_id, {"n": 0, "answered": [], "late": 0, "wait": 0.0})
        entry["n"] += 1
        entry["late"] += o.is_late(TODAY)
        end = o.answered_at or AS_OF
        entry["wait"] += (end - o.requested_at).total_seconds() / 86400
        if o.answered_at is not None:
            entry["answered"].append((o.answered_at - o.requested_at).total_seconds() / 86400)
    return result


def test_opinions_per_authority_match_python(session, world):
    overview = reports.overview(session, PERIOD, as_of=AS_OF)
    expected = expected_opinions(session, PERIOD)
    assert {o.authority_id for o in overview.opinions} == set(expected)
    for row in overview.opinions:
        e = expected[row.authority_id]
        assert (row.requested, row.answered, row.late) == (e["n"], len(e["answered"]), e["late"])
        assert row.median_days == pytest.approx(percentile_cont(e["answered"], 0.5))
        assert row.waiting_days == pytest.approx(e["wait"], abs=1e-4)


def test_an_opinion_answered_on_its_due_day_in_rome_is_not_late(session, world):
    # 23:30 UTC on the due day is already the next day in Rome: late. 21:30 UTC is not.
    opinion = session.scalars(
        select(OpinionRequest).where(OpinionRequest.answered_at.is_not(None))
    ).first()
    summary = session.get(ProcedureSummary, opinion.procedure_id)
    report = replace(PERIOD, start=summary.received_on, end=summary.received_on)
    for hour, late in ((21, False), (23, True)):
        due = opinion.due_on
        opinion.answered_at = opinion.requested_at.replace(
            year=due.year, month=due.month, day=due.day, hour=hour, minute=30
        )
        session.flush()
        rows = {r.authority_id: r for r in reports.opinion_rows(session, report, AS_OF)}
        assert opinion.is_late(TODAY) is late
        assert rows[opinion.authority_id].late == sum(
            o.is_late(TODAY)
            for o in session.scalars(
                select(OpinionRequest).where(
                    OpinionRequest.authority_id == opinion.authority_id,
                    OpinionRequest.procedure_id.in_(
                        [r.procedure_id for r in summaries(session, report)]
                    ),
                )
            )
        )


def test_ranking_names_the_slow_authority_first_with_its_trend(session, world):
    ranking = reports.bottlenecks(session, PERIOD, as_of=AS_OF)
    assert ranking.authorities[0].authority_id == world.slow.id
    previous = expected_opinions(session, PERIOD.previous())
    first = ranking.authorities[0]
    assert first.previous_waiting_days == pytest.approx(previous[world.slow.id]["wait"], abs=1e-4)
    assert first.trend == pytest.approx(
        first.median_days - percentile_cont(previous[world.slow.id]["answered"], 0.5)
    )
    waits = [a.waiting_days for a in ranking.authorities]
    assert waits == sorted(waits, reverse=True)


def test_ranking_of_stages_and_late_types_matches_python(session, world):
    ranking = reports.bottlenecks(session, PERIOD, as_of=AS_OF)
    for report, attr in (
        (PERIOD, "days_per_procedure"),
        (PERIOD.previous(), "previous_per_procedure"),
    ):
        closed = [r for r in summaries(session, report) if r.decided_on is not None]
        for stage in ranking.stages:
            total = sum(getattr(r, f"days_{stage.stage}") for r in closed)
            assert getattr(stage, attr) == pytest.approx(total / len(closed)), stage.stage
    totals = [s.days_total for s in ranking.stages]
    assert totals == sorted(totals, reverse=True)
    assert ranking.stages[0].stage == lc.BALL_AUTHORITY  # the slow authority shows as a stage too

    def late_of(report):
        result = {}
        for r in summaries(session, report):
            closed_late = r.decided_on is not None and r.within_term is False
            assessed = (r.decided_on is not None and r.within_term is not None) or is_overdue(r)
            late, n = result.get(r.type_code, (0, 0))
            result[r.type_code] = (late + (closed_late or is_overdue(r)), n + assessed)
        return result

    now, before = late_of(PERIOD), late_of(PERIOD.previous())
    assert [t.type_code for t in ranking.types] == sorted(
        (c for c in now if now[c][0]), key=lambda c: (-now[c][0], -now[c][0] / now[c][1], c)
    )
    for t in ranking.types:
        assert (t.late, t.assessed) == now[t.type_code]
        assert (t.previous_late, t.previous_assessed) == before[t.type_code]


def test_an_empty_period_gives_empty_rows_not_errors(session, world):
    empty = replace(PERIOD, start=date(2030, 1, 1), end=date(2030, 1, 3))
    overview = reports.overview(session, empty, as_of=AS_OF)
    assert overview.groups == [] and overview.total.filed == 0 and overview.opinions == []
    assert overview.weeks == [date(2030, 1, 1) + timedelta(days=2)]
    ranking = reports.bottlenecks(session, empty, as_of=AS_OF)
    assert ranking.authorities == [] and ranking.types == []
    assert all(s.days_per_procedure is None for s in ranking.stages)
