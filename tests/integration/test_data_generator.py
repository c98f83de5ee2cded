"""The data generator: consistent procedures, gapless protocols, summaries as the back office
computes them, repeatable with a seed (small scale, on SQLite and PostgreSQL)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portale.accounts.models import Authority
from portale.cases import services as core
from portale.cases.counters import SequenceCounter
from portale.cases.models import OpinionRequest, Procedure, ProcedureEvent, ProcedureSummary
from portale.cases.protocol import office_scope
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.reports.generator import GeneratorConfig, generate

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PROCEDURES = 300


def _generate(session, seed: int = 7, truncate: bool = False):
    config = GeneratorConfig(companies=40, procedures=PROCEDURES, seed=seed, years=2, now=NOW)
    return generate(session, config, truncate=truncate)


@pytest.fixture
def generated(session):
    return _generate(session)


def _events_by_procedure(session) -> dict[int, list[ProcedureEvent]]:
    result: dict[int, list[ProcedureEvent]] = defaultdict(list)
    for event in session.scalars(
        select(ProcedureEvent).order_by(ProcedureEvent.procedure_id, ProcedureEvent.at)
    ):
        result[event.procedure_id].append(event)
    return result


def test_counts_of_procedures_events_opinions_and_summaries(session, generated):
    assert session.scalar(select(func.count()).select_from(Procedure)) == PROCEDURES
    assert session.scalar(select(func.count()).select_from(ProcedureSummary)) == PROCEDURES
    events = session.scalar(select(func.count()).select_from(ProcedureEvent))
    assert events == generated.events and events >= 6 * PROCEDURES
    asked = session.scalar(select(func.count()).where(ProcedureEvent.kind == lc.OPINION_REQUESTED))
    assert session.scalar(select(func.count()).select_from(OpinionRequest)) == asked > 0


def test_protocol_and_cui_numbers_are_unique_and_gapless_and_counters_continue(session, generated):
    _assert_gapless(session)


def _assert_gapless(session) -> None:
    numbers: dict[tuple[int, int], list[int]] = defaultdict(list)
    cuis: dict[int, list[int]] = defaultdict(list)
    for office, year, number, cui_year, cui in session.execute(
        select(
            Procedure.office_id,
            Procedure.protocol_year,
            Procedure.protocol_number,
            Procedure.cui_year,
            Procedure.cui_progressive,
        )
    ):
        numbers[(office, year)].append(number)
        cuis[cui_year].append(cui)
    counters = dict(
        ((scope, year), value)
        for scope, year, value in session.execute(
            select(SequenceCounter.scope, SequenceCounter.year, SequenceCounter.value)
        )
    )
    assert len(numbers) > 3
    for (office, year), values in numbers.items():
        assert sorted(values) == list(range(1, len(values) + 1))
        assert counters[(office_scope(office), year)] == len(values)
    for year, values in cuis.items():
        assert sorted(values) == list(range(1, len(values) + 1))
        assert counters[("cui:SUAP", year)] == len(values)


def _check_transitions(regime: str, kinds: list[str]) -> str:
    moves = {
        (state, lc.ACTION_EVENT.get(action, target)): target
        for (state, action), target in lc.TRANSITIONS[regime].items()
    }
    changing = set(lc.STATES) | {lc.CONFORMATION_REQUESTED, lc.CONFORMATION_ANSWERED}
    state = lc.STARTED
    for kind in kinds:
        if kind == lc.STARTED or kind not in changing:
            continue
        assert (state, kind) in moves, f"{kind} after {state} ({regime})"
        state = moves[(state, kind)]
    return state


def test_every_event_log_follows_the_state_machine_and_gives_the_stored_state(session, generated):
    events = _events_by_procedure(session)
    finals = set()
    for procedure in session.scalars(select(Procedure)):
        kinds = [e.kind for e in events[procedure.id]]
        assert kinds[:2] == [lc.STARTED, lc.PRESENTED]
        state = _check_transitions(procedure.regime, kinds)
        assert procedure.state == state == lc.derive_state(kinds)
        finals.add(state)
    # decisions of every kind, silent approvals included, and some still open
    assert {lc.ENDED_BY_POSITIVE_OUTCOME, lc.ENDED_BY_PROCEEDING_TIME_EXPIRED} <= finals
    assert finals & lc.OPEN_STATES


def test_summary_rows_equal_the_back_office_recomputation(session, generated):
    columns = [c.name for c in ProcedureSummary.__table__.columns if c.name != "refreshed_at"]
    sample = session.scalars(select(Procedure).order_by(Procedure.id).limit(40)).all()
    for procedure in sample:
        stored_row = session.get(ProcedureSummary, procedure.id)
        stored = {name: getattr(stored_row, name) for name in columns}
        stored_last_day = procedure.last_day
        core.refresh(session, procedure, NOW)
        session.flush()
        again = session.get(ProcedureSummary, procedure.id)
        assert {name: getattr(again, name) for name in columns} == stored
        assert procedure.last_day == stored_last_day


def test_opinion_rows_match_their_events_and_slow_authorities_are_slow(session, generated):
    delays: dict[str, list[int]] = defaultdict(list)
    for opinion, code in session.execute(select(OpinionRequest, Authority.code).join(Authority)):
        given = session.scalar(
            select(ProcedureEvent).where(
                ProcedureEvent.procedure_id == opinion.procedure_id,
                ProcedureEvent.kind == lc.OPINION_GIVEN,
                ProcedureEvent.payload["opinion_id"].as_integer() == opinion.id,
            )
        )
        assert (given is None) == (opinion.answered_at is None)
        if given is not None:
            assert given.payload["outcome"] == opinion.outcome
            delays[code].append(
                (local_date(opinion.answered_at) - local_date(opinion.requested_at)).days
            )
    assert statistics.median(delays["ASL_TO"]) > 2 * statistics.median(delays["PM_TO"])


def _fingerprint(session) -> list[tuple]:
    rows = session.execute(
        select(
            Procedure.office_id,
            Procedure.protocol_year,
            Procedure.protocol_number,
            Procedure.type_code,
            Procedure.state,
            Procedure.submitted_at,
            Procedure.cui_uuid,
        ).order_by(Procedure.office_id, Procedure.protocol_year, Procedure.protocol_number)
    ).all()
    events = session.execute(
        select(ProcedureEvent.kind, ProcedureEvent.at).order_by(
            ProcedureEvent.at, ProcedureEvent.kind
        )
    ).all()
    return [tuple(r) for r in rows] + [tuple(e) for e in events]


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(session, generated):
    first = _fingerprint(session)
    _generate(session, seed=7, truncate=True)
    assert _fingerprint(session) == first
    _generate(session, seed=8, truncate=True)
    assert _fingerprint(session) != first
    assert session.scalar(select(func.count()).select_from(Procedure)) == PROCEDURES


def test_a_second_run_adds_to_the_data_and_numbers_stay_gapless(session, generated):
    _generate(session, seed=9)
    assert session.scalar(select(func.count()).select_from(Procedure)) == 2 * PROCEDURES
    _assert_gapless(session)


def test_a_real_filing_after_generation_continues_the_cui_sequence(session, generated, tmp_path):
    from tests.backoffice_support import file_procedure

    year = NOW.year
    last = session.scalar(
        select(func.max(Procedure.cui_progressive)).where(Procedure.cui_year == year)
    )
    filed = file_procedure(session, tmp_path, now=NOW)
    assert filed.procedure.cui_year == year
    assert filed.procedure.cui_progressive == last + 1
