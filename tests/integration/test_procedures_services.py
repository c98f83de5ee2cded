"""Filing a procedure through the service functions: drafts, prefill, write-back, submission."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portale.cases.models import Procedure, ProcedureEvent
from portale.dossier.models import DossierChange
from portale.errors import NotFound
from portale.procedures import services
from portale.procedures.models import Draft
from portale.storage import LocalStorage
from tests.factories import MandateFactory, UserFactory
from tests.integration.test_procedures_support import (
    PDF,
    VALID_ANSWERS,
    make_type,
    make_world,
    unit_for,
)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "storage")


def filled_draft(session, storage, world, **extra):
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    services.save_draft(
        session, draft.id, actor=world.user, answers={**VALID_ANSWERS, **extra}, dossier_updates=[]
    )
    services.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="planimetria.pdf",
        data=PDF,
    )
    return draft


def test_draft_is_prefilled_from_the_dossier(session):
    world = make_world(session)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    assert draft.answers["ragione_sociale"] == world.company.name
    assert draft.answers["indirizzo"] == "Via Garibaldi 10"


def test_changed_prefilled_value_flows_back_to_the_dossier_with_provenance(session, tmp_path):
    storage = LocalStorage(tmp_path)
    world = make_world(session)
    draft = filled_draft(session, storage, world, indirizzo="Via Po 3")
    services.save_draft(
        session, draft.id, actor=world.user, answers={}, dossier_updates=["indirizzo"]
    )
    procedure = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="k-writeback"
    )

    change = session.scalar(
        select(DossierChange)
        .where(DossierChange.company_id == world.company.id)
        .order_by(DossierChange.id.desc())
        .limit(1)
    )
    assert change.source == "procedure" and change.source_ref == str(procedure.id)
    assert change.new_value == "Via Po 3"
    # the next procedure starts from the new value
    nxt = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    assert nxt.answers["indirizzo"] == "Via Po 3"
    assert procedure.dossier_snapshot["local_units"][0]["street"] == "Via Po 3"


def test_changed_value_without_the_tick_does_not_touch_the_dossier(session, storage):
    world = make_world(session)
    draft = filled_draft(session, storage, world, indirizzo="Via Po 3")
    procedure = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="k-no-writeback"
    )
    assert procedure.answers["indirizzo"] == "Via Po 3"
    session.refresh(world.unit)
    assert world.unit.street == "Via Garibaldi 10"


def test_draft_accepts_invalid_answers_and_keeps_them(session):
    world = make_world(session)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    services.save_draft(
        session,
        draft.id,
        actor=world.user,
        answers={"data_inizio": "31/02/2026", "superficie": "tanti"},
        dossier_updates=[],
    )
    session.expire_all()
    stored = session.get(Draft, draft.id)
    assert stored.answers["data_inizio"] == "31/02/2026"
    assert stored.answers["superficie"] == "tanti"


def test_conditional_field_is_required_only_when_shown(session, storage):
    world = make_world(session)
    draft = filled_draft(session, storage, world, settore="alimentare")
    with pytest.raises(services.SubmissionInvalid) as error:
        services.submit_procedure(
            session, storage, draft.id, actor=world.user, idempotency_key="k1"
        )
    assert "responsabile_haccp" in error.value.errors
    assert error.value.errors["responsabile_haccp"] == ["Campo obbligatorio."]

    services.save_draft(
        session,
        draft.id,
        actor=world.user,
        answers={"settore": "non_alimentare", "responsabile_haccp": "Anna"},
        dossier_updates=[],
    )
    procedure = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="k2"
    )
    # a hidden field's leftover answer is not filed
    assert "responsabile_haccp" not in procedure.answers


def test_missing_fields_and_attachment_are_reported_in_italian(session, storage):
    world = make_world(session)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    with pytest.raises(services.SubmissionInvalid) as error:
        services.submit_procedure(session, storage, draft.id, actor=world.user, idempotency_key="k")
    errors = error.value.errors
    assert errors["data_inizio"] == ["Campo obbligatorio."]
    assert "Planimetria dei locali" in errors["allegato:planimetria"][0]
    assert session.scalar(select(func.count()).select_from(Procedure)) == 0


def test_same_idempotency_key_files_once(session, storage):
    world = make_world(session)
    draft = filled_draft(session, storage, world)
    first = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="same"
    )
    second = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="same"
    )
    third = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="other"
    )
    assert first.id == second.id == third.id
    assert session.scalar(select(func.count()).select_from(Procedure)) == 1


def test_submission_numbers_events_and_clock(session, storage):
    world = make_world(session, regime="AUTORIZZAZIONE", term_days=30)
    d1 = filled_draft(session, storage, world)
    d2 = filled_draft(session, storage, world)
    # 25 May 2026 + 30 days = 24 June, Turin's patron day: the term moves to the 25th
    now = datetime(2026, 5, 25, 9, 30, tzinfo=UTC)
    p1 = services.submit_procedure(
        session, storage, d1.id, actor=world.user, idempotency_key="a", now=now
    )
    p2 = services.submit_procedure(
        session, storage, d2.id, actor=world.user, idempotency_key="b", now=now
    )
    assert (p1.protocol_number, p2.protocol_number) == (1, 2)
    assert p1.protocol_label == "SUAPTO/2026/000001"
    assert p1.cui_progressive + 1 == p2.cui_progressive
    assert p1.cui_date == date(2026, 5, 25)
    assert p1.received_on == date(2026, 5, 25)
    assert p1.last_day == date(2026, 6, 25)
    assert p1.state == "presented"
    assert p1.type_version_id == world.version.id
    kinds = [
        e.kind
        for e in session.scalars(
            select(ProcedureEvent)
            .where(ProcedureEvent.procedure_id == p1.id)
            .order_by(ProcedureEvent.at)
        )
    ]
    assert kinds == ["started", "presented"]
    assert [a.slot for a in p1.attachments] == ["planimetria"]


def test_scia_has_a_control_window_and_a_notice_no_term(session, storage):
    world = make_world(session, regime="SCIA", term_days=None)
    draft = filled_draft(session, storage, world)
    procedure = services.submit_procedure(
        session,
        storage,
        draft.id,
        actor=world.user,
        idempotency_key="s",
        now=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )
    # 2 March + 60 days = 1 May (Labour Day) -> 2 May
    assert procedure.last_day == date(2026, 5, 2)

    notice = make_type(session, code="COMUNICAZIONE_X", regime="COMUNICAZIONE", term_days=None)
    d2 = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=notice.code,
    )
    services.save_draft(session, d2.id, actor=world.user, answers=VALID_ANSWERS, dossier_updates=[])
    services.add_attachment(
        session, storage, d2.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    filed = services.submit_procedure(
        session, storage, d2.id, actor=world.user, idempotency_key="c"
    )
    assert filed.last_day is None


def test_no_office_for_the_municipality_files_nothing(session, storage):
    world = make_world(session, with_office=False)
    draft = filled_draft(session, storage, world)
    with pytest.raises(services.SubmissionInvalid) as error:
        services.submit_procedure(session, storage, draft.id, actor=world.user, idempotency_key="x")
    assert "Nessuno sportello SUAP" in error.value.errors["__all__"][0]
    assert session.scalar(select(func.count()).select_from(Procedure)) == 0


def test_another_companys_user_cannot_reach_draft_or_procedure(session, storage):
    world = make_world(session)
    draft = filled_draft(session, storage, world)
    procedure = services.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="z"
    )
    stranger = UserFactory()
    other_unit = unit_for()
    MandateFactory(company=other_unit.company, grantee_id=stranger.id)
    open_draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    with pytest.raises(NotFound):
        services.get_draft(session, stranger, open_draft.id)
    with pytest.raises(NotFound):
        services.save_draft(session, open_draft.id, actor=stranger, answers={"note": "x"})
    with pytest.raises(NotFound):
        services.procedure_for(session, stranger, procedure.id)
    with pytest.raises(NotFound):
        services.start_draft(
            session,
            actor=stranger,
            company_id=world.company.id,
            local_unit_id=world.unit.id,
            type_code=world.version.code,
        )
    # premises of another company cannot be used even with access to one's own company
    with pytest.raises(NotFound):
        services.start_draft(
            session,
            actor=stranger,
            company_id=other_unit.company.id,
            local_unit_id=world.unit.id,
            type_code=world.version.code,
        )
    assert services.list_procedures_for(session, stranger) == []
    assert [p.id for p in services.list_procedures_for(session, world.user)] == [procedure.id]


def test_intermediary_with_mandate_files_for_the_company(session, storage):
    world = make_world(session)
    intermediary = UserFactory(roles=["intermediary"])
    MandateFactory(company=world.company, grantee_id=intermediary.id, kind="delegate")
    world.user = intermediary
    draft = filled_draft(session, storage, world)
    procedure = services.submit_procedure(
        session, storage, draft.id, actor=intermediary, idempotency_key="i"
    )
    assert procedure.submitter_id == intermediary.id
