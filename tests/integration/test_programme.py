"""The simplification programme on hand-computed figures, on SQLite and PostgreSQL.

The data generator writes real procedures; their summary rows are then replaced by rows with
figures chosen here (the summary is the programme's only input), so every median, share,
status and rank below can be worked out by hand from the table in :func:`layout`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select

from portale.accounts.models import Notification, Office
from portale.cases.models import ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.programme import proposals, ranking, targets
from portale.programme.figures import distributions, quantile_ranks, wilson
from portale.programme.models import IN_FORCE, UNDER_REVIEW, Target
from portale.reports import rollups
from portale.reports import services as report_services
from portale.reports.filters import ReportFilter
from portale.reports.generator import GeneratorConfig, generate
from tests.factories import UserFactory

T = "PROGRAMME_TYPE"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 4, 15)  # the last ended quarter is 2026-Q1

# office -> [(day filed, net days, within term, integration requests)]
A_ROWS = (
    # baseline, 2025-Q1: median 34, none within the term
    [(date(2025, 2, 10), d, False, 0) for d in (30, 32, 34, 36, 38)]
    # 2025-Q2 .. 2026-Q1: five each, all within the term, 30 -> 26 -> 22 -> 18 days
    + [(date(2025, 5, 10), 30, True, 0)] * 5
    + [(date(2025, 8, 10), 26, True, 0)] * 5
    + [(date(2025, 11, 10), 22, True, 0)] * 5
    + [(date(2026, 2, 10), 18, True, 0)] * 5
)
B_ROWS = [(date(2026, 2, 12), 40, False, 1)] * 4  # too few for a rank, left out in public
C_ROWS = [(date(2025, 9, 1), 60, False, 1)] * 15


@pytest.fixture
def layout(session):
    generate(session, GeneratorConfig(companies=10, procedures=60, seed=3, years=2, now=NOW))
    ids = list(session.scalars(select(ProcedureSummary.procedure_id).order_by("procedure_id")))
    offices = list(session.scalars(select(Office).order_by(Office.id)))[:3]
    assert len(offices) == 3 and len(ids) >= len(A_ROWS) + len(B_ROWS) + len(C_ROWS)
    session.execute(delete(ProcedureSummary))
    session.add(ProcedureType(code=T, title="Autorizzazione di prova"))
    pool = iter(ids)
    for office, rows in zip(offices, (A_ROWS, B_ROWS, C_ROWS), strict=True):
        for filed, net, within, integrations in rows:
            session.add(
                ProcedureSummary(
                    procedure_id=next(pool),
                    type_code=T,
                    municipality="001272",
                    office_id=office.id,
                    regime="AUTORIZZAZIONE",
                    state="ended_by_positive_outcome",
                    received_on=filed,
                    decided_on=filed,
                    term_days=60,
                    days_gross=net,
                    days_net=net,
                    days_suspended=0,
                    days_company=0.0,
                    days_office=float(net),
                    days_authority=0.0,
                    days_dispatch=0.0,
                    integration_requests=integrations,
                    within_term=within,
                )
            )
    session.flush()
    rollups.rebuild(session)  # the summaries' roll-ups, as the generator keeps them
    return offices


def _target(session, offices, **values) -> Target:
    analyst = UserFactory(roles=["analyst"])
    fields = {
        "title": "Autorizzazioni: mediana entro 20 giorni",
        "type_code": T,
        "measure": "median_net",
        "threshold": 20.0,
        "each_office": False,
        "baseline_start": date(2025, 1, 1),
        "baseline_end": date(2025, 3, 31),
        "due_on": date(2026, 12, 31),
        "office_ids": [offices[0].id],
        **values,
    }
    return targets.save_target(session, None, actor_id=analyst.id, **fields)


def _projection_by_hand(points: list[tuple[date, float]], due: date) -> float:
    xs = [(d - date(1970, 1, 1)).days for d, _v in points]
    ys = [v for _d, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my + slope * ((due - date(1970, 1, 1)).days - mx)


def test_median_target_baseline_now_trend_projection_and_status(session, layout):
    target = _target(session, layout)
    result = targets.progress(session, target, today=TODAY)
    overall = result.overall
    assert (overall.baseline.value, overall.baseline.n) == (34.0, 5)
    assert [(p.label, p.value) for p in overall.points] == [
        ("2025-Q1", 34.0),
        ("2025-Q2", 30.0),
        ("2025-Q3", 26.0),
        ("2025-Q4", 22.0),
        ("2026-Q1", 18.0),
    ]
    assert overall.now is not None and (overall.now.label, overall.now.value) == ("2026-Q1", 18.0)
    middles = [date(2025, 5, 16), date(2025, 8, 15), date(2025, 11, 15), date(2026, 2, 14)]
    expected = _projection_by_hand(list(zip(middles, [30, 26, 22, 18], strict=True)), target.due_on)
    assert overall.projection == pytest.approx(max(0.0, expected), abs=0.01)
    assert overall.slope_per_year == pytest.approx(-16, abs=0.5)  # -4 days a quarter
    assert result.status == targets.ON_TRACK  # projection about 4 days, threshold 20

    strict = _target(session, layout, threshold=2.0)
    assert targets.progress(session, strict, today=TODAY).status == targets.AT_RISK
    # once the due date has passed, now (18 days) decides
    assert targets.progress(session, target, today=date(2027, 1, 10)).status == targets.ACHIEVED
    assert targets.progress(session, strict, today=date(2027, 1, 10)).status == targets.MISSED


def test_share_target_and_the_worst_office_decides_in_every_office(session, layout):
    share = _target(session, layout, measure="within_term", threshold=0.9)
    result = targets.progress(session, share, today=TODAY)
    assert result.overall.baseline.value == 0.0 and result.overall.now.value == 1.0
    assert result.status == targets.ON_TRACK

    every = _target(session, layout, each_office=True, office_ids=[o.id for o in layout[:2]])
    result = targets.progress(session, every, today=TODAY)
    by_office = {p.office_id: p for p in result.offices}
    assert by_office[layout[0].id].status == targets.ON_TRACK
    # office B has one quarter of four procedures: below the five a point needs, so no data
    assert by_office[layout[1].id].status == targets.NO_DATA
    assert result.status == targets.ON_TRACK

    c_target = _target(session, layout, each_office=True, office_ids=[layout[0].id, layout[2].id])
    result = targets.progress(session, c_target, today=TODAY)
    assert {p.office_id: p.status for p in result.offices}[layout[2].id] == targets.AT_RISK
    assert result.status == targets.AT_RISK
    assert [p.office_id for p in result.failing_offices] == [layout[2].id]


def test_ranking_gives_ranks_with_bands_and_no_rank_to_small_offices(session, layout):
    a, b, c = layout
    result = ranking.rank_offices(
        session, type_code=T, measure="median_net", start=date(2025, 1, 1), end=date(2026, 3, 31)
    )
    rows = {o.office_id: o for o in result.offices}
    # A: 25 procedures, median of 5x(30..38), 5x30, 5x26, 5x22, 5x18 = 26
    assert rows[a.id].value == 26.0 and rows[a.id].measured == 25
    low, high = quantile_ranks(25, 0.5)
    ordered = sorted(d for _f, d, _w, _i in A_ROWS)
    assert rows[a.id].band == (ordered[low], ordered[high])
    assert (rows[a.id].rank_low, rows[a.id].rank_high) == (1, 1)
    assert (rows[c.id].rank_low, rows[c.id].rank_high) == (2, 2)
    assert rows[b.id].rank_low is None and not rows[b.id].ranked  # 4 < MIN_RANKED
    assert [o.office_id for o in result.offices] == [a.id, c.id, b.id]
    assert result.best is not None and result.best.office_id == a.id
    labels = [str(d.label) for d in result.differences]
    assert "Meno richieste di integrazione" in labels
    first = next(d for d in result.differences if str(d.label) == "Meno richieste di integrazione")
    assert (first.best, first.others) == (0.0, 1.0)

    public = ranking.rank_offices(
        session,
        type_code=T,
        measure="median_net",
        start=date(2025, 1, 1),
        end=date(2026, 3, 31),
        public=True,
    )
    assert b.id not in {o.office_id for o in public.offices}  # under five: left out


def test_overlapping_bands_share_ranks():
    # two offices whose bands overlap cannot be told apart: both are "1st-2nd"
    from portale.programme.figures import Distribution

    one = Distribution(closed=12, filed=12, net_days={10: 6, 14: 6})
    two = Distribution(closed=12, filed=12, net_days={12: 6, 16: 6})
    band_one, band_two = one.band("median_net"), two.band("median_net")
    assert band_one[1] >= band_two[0]
    assert wilson(9, 10)[0] < 0.9 < wilson(9, 10)[1]


def test_histogram_quantiles_equal_the_dashboard_percentiles(session):
    generate(session, GeneratorConfig(companies=20, procedures=200, seed=5, years=2, now=NOW))
    report = ReportFilter(start=date(2024, 6, 1), end=date(2026, 6, 1))
    overview = report_services.overview(session, report, as_of=NOW)
    mine = distributions(session, report, by="type")
    for group in overview.groups:
        dist = mine[group.type_code]
        assert dist.closed == group.closed and dist.filed == group.filed
        if group.net_median is not None:
            assert dist.quantile(0.5) == pytest.approx(group.net_median)
            assert dist.quantile(0.9) == pytest.approx(group.net_p90)
        assert dist.within_share() == group.within_term_share


def test_proposal_lifecycle_notifications_and_measured_effect(session, layout):
    a = layout[0]
    stakeholder = UserFactory(roles=["stakeholder"])
    analyst = UserFactory(roles=["analyst"])
    entrepreneur = UserFactory(roles=["entrepreneur"])
    proposal = proposals.file_proposal(
        session,
        stakeholder,
        title="Un solo parere ASL e VVF per i dehors",
        body="Unire i due pareri in una conferenza semplificata.",
        type_codes=[T],
        steps=["authority"],
        office_ids=[a.id],
    )
    assert proposals.is_following(session, proposal.id, stakeholder.id)
    told = session.scalars(select(Notification.user_id)).all()
    assert analyst.id in told  # analysts hear of a new proposal

    with pytest.raises(PermissionError):
        proposals.file_proposal(session, entrepreneur, title="x", body="y")
    with pytest.raises(PermissionError):
        proposals.change_status(session, proposal, stakeholder, UNDER_REVIEW)
    with pytest.raises(proposals.ProposalError):
        proposals.change_status(session, proposal, analyst, IN_FORCE)  # must be reviewed first

    proposals.change_status(session, proposal, analyst, UNDER_REVIEW, note="In istruttoria")
    stakeholder_notes = session.scalars(
        select(Notification.subject).where(Notification.user_id == stakeholder.id)
    ).all()
    assert any("In esame" in s for s in stakeholder_notes)
    proposals.add_comment(session, proposal, analyst, "Servono i dati dell'ASL.")
    assert proposals.is_following(session, proposal.id, analyst.id)
    proposals.change_status(session, proposal, analyst, "accepted")
    with pytest.raises(proposals.ProposalError):
        proposals.change_status(
            session, proposal, analyst, IN_FORCE, in_force_on=date(2026, 5, 1), today=TODAY
        )  # not in the future
    proposals.change_status(
        session, proposal, analyst, IN_FORCE, in_force_on=date(2025, 10, 1), today=TODAY
    )
    assert [c.to_status for c in proposal.changes] == [
        "proposed",
        "under_review",
        "accepted",
        "in_force",
    ]
    effect = proposals.effect(session, proposal, today=TODAY)
    # 180 days before 1 Oct 2025: filed 4 Apr - 30 Sep 2025: 5x30 and 5x26 -> median 28
    # 180 days from it: 1 Oct 2025 - 29 Mar 2026: 5x22 and 5x18 -> median 20
    assert effect is not None and effect.window_days == 180
    assert (effect.before_value, effect.before_n) == (28.0, 10)
    assert (effect.after_value, effect.after_n) == (20.0, 10)
    assert effect.change == -8.0


def test_the_demo_shows_a_target_on_track_one_at_risk_and_three_proposals(session):
    from portale.programme.demo import load_demo_programme

    generate(session, GeneratorConfig(companies=60, procedures=600, seed=1, years=3, now=NOW))
    analyst, stakeholder = UserFactory(roles=["analyst"]), UserFactory(roles=["stakeholder"])
    today = NOW.date()
    load_demo_programme(session, analyst, stakeholder, today)
    load_demo_programme(session, analyst, stakeholder, today)  # idempotent
    statuses = [p.status for p in targets.progress_of_all(session, today=today)]
    assert sorted(statuses) == [targets.AT_RISK, targets.ON_TRACK]
    found = proposals.list_proposals(session)
    assert sorted(p.status for p in found) == ["in_force", "proposed", "under_review"]
    in_force = next(p for p in found if p.status == "in_force")
    effect = proposals.effect(session, in_force, today=today)
    assert effect is not None and effect.before_n > 0 and effect.after_n > 0
