"""Decisions on filed procedures: integration, 10-bis notice, acts, SCIA, silent assent, jobs."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from portale.accounts.models import Notification
from portale.backoffice import consultations
from portale.backoffice import decisions as dec
from portale.backoffice.jobs import tick
from portale.cases import acts
from portale.cases import answers as case_answers
from portale.cases import requests as case_requests
from portale.cases import services as core
from portale.cases.act_models import Act
from portale.cases.models import OPINION_UNFAVOURABLE
from portale.clock import lifecycle as lc
from portale.dossier.models import Title
from portale.errors import ActionNotAllowed
from tests.backoffice_support import file_procedure
from tests.integration.test_procedures_support import PDF

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def day(n: int, hour: int = 9) -> datetime:
    return FILED_AT + timedelta(days=n, hours=hour - 9)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_integration_merges_authorities_suspends_and_approval_issues_the_act(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, authorities=1, now=FILED_AT)
    p, clerk, company_user = filed.procedure, filed.clerk, filed.submitter
    authority = filed.authorities[0]
    core.record(
        session,
        p,
        dec.AUTHORITY_INTEGRATION_REQUEST,
        actor_id=None,
        payload={
            "authority": authority.code,
            "text": "Manca la relazione acustica",
            "documents": ["Relazione acustica"],
        },
        now=day(3),
    )
    [opinion] = consultations.request_opinions(
        session, p, [authority.id], actor_id=clerk.id, now=day(4)
    )
    consultations.give_opinion(
        session,
        opinion.id,
        outcome=OPINION_UNFAVOURABLE,
        text="Uscita di sicurezza assente",
        actor_id=None,
        now=day(8),
    )
    draft = dec.integration_prefill(session, p)
    assert "Manca la relazione acustica" in draft.text and "Uscita di sicurezza" in draft.text
    assert draft.documents == ["Relazione acustica"] and draft.days == 30

    with pytest.raises(ActionNotAllowed) as too_long:
        dec.request_integration(session, p, actor=clerk, text=draft.text, days=45, now=day(10))
    assert "30 giorni" in too_long.value.message
    dec.request_integration(
        session, p, actor=clerk, text=draft.text, documents=draft.documents, days=20, now=day(10)
    )
    assert p.state == lc.INTEGRATION_REQUESTED
    assert dec.pending_authority_requests(session, p) == []
    note = session.scalars(
        select(Notification).where(Notification.user_id == company_user.id)
    ).all()
    assert any("integrazione" in n.subject.lower() for n in note)
    clock = core.clock_of(session, p, day(15))
    assert clock.suspended_now and clock.days_suspended == 5 and clock.days_used == 10

    case_answers.answer_request(
        session,
        filed.storage,
        p,
        actor=company_user,
        note="Ecco la relazione",
        answers={**p.answers, "superficie": "90"},
        uploads=[case_answers.Upload("integrazione", "relazione.pdf", PDF)],
        now=day(22),
    )
    assert p.state == lc.INTEGRATED and p.answers["superficie"] == "90"
    assert any(a.slot == "integrazione" for a in p.attachments)
    with pytest.raises(ActionNotAllowed) as twice:
        dec.request_integration(session, p, actor=clerk, text="Ancora", now=day(25))
    assert "una sola" in twice.value.message
    clock = core.clock_of(session, p, day(30))
    # 2 March + 60 + 12 suspended = 13 May
    assert (clock.days_suspended, clock.days_used, clock.last_day) == (12, 18, date(2026, 5, 13))

    act = dec.approve(
        session, filed.storage, p, actor=clerk, motivation="Requisiti presenti", now=day(30)
    )
    assert p.state == lc.ENDED_BY_POSITIVE_OUTCOME
    text = pdf_text(filed.storage.read(act.storage_key))
    assert act.protocol_label in text and filed.company.name in text and "ACCOGLIE" in text
    title = session.scalar(select(Title).where(Title.procedure_id == p.id))
    assert title is not None and title.number == act.protocol_label
    assert title.valid_from == date(2026, 4, 1)
    kinds = [e.kind for e in core.events_of(session, p.id)]
    assert acts.ACT_ISSUED in kinds


def test_rejection_needs_the_10_bis_notice_and_its_ten_days(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    p, clerk = filed.procedure, filed.clerk
    with pytest.raises(ActionNotAllowed) as no_notice:
        dec.reject(session, filed.storage, p, actor=clerk, motivation="No", now=day(5))
    assert "10-bis" in no_notice.value.message
    dec.send_refusal_notice(session, p, actor=clerk, text="Superficie eccessiva", now=day(5))
    with pytest.raises(ActionNotAllowed) as early:
        dec.reject(session, filed.storage, p, actor=clerk, motivation="No", now=day(8))
    assert "17/03/2026" in early.value.message
    case_answers.send_observations(
        session, filed.storage, p, actor=filed.submitter, text="La superficie è 85 m²", now=day(9)
    )
    with pytest.raises(ActionNotAllowed):
        case_answers.send_observations(
            session, filed.storage, p, actor=filed.submitter, text="Ancora", now=day(9)
        )
    clock = core.clock_of(session, p, day(12))
    # suspended from the notice (7 March) until 10 days after the observations (21 March)
    assert clock.suspended_now and clock.days_suspended == 7
    act = dec.reject(
        session, filed.storage, p, actor=clerk, motivation="Superficie oltre il limite", now=day(12)
    )
    assert p.state == lc.ENDED_BY_NEGATIVE_OUTCOME and act.kind == "rejection"
    assert "Superficie oltre il limite" in pdf_text(filed.storage.read(act.storage_key))


def test_withdrawal_and_invalid_actions_say_why(session, tmp_path):
    filed = file_procedure(session, tmp_path, now=FILED_AT)
    p = filed.procedure
    with pytest.raises(ActionNotAllowed):
        case_answers.answer_request(
            session, filed.storage, p, actor=filed.submitter, note="x", now=day(1)
        )
    case_answers.withdraw(session, p, actor=filed.submitter, reason="Cambio sede", now=day(2))
    assert p.state == lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED
    with pytest.raises(ActionNotAllowed) as done:
        case_answers.withdraw(session, p, actor=filed.submitter, now=day(3))
    assert "conclusa" in done.value.message
    with pytest.raises(ActionNotAllowed) as approve:
        dec.approve(session, filed.storage, p, actor=filed.clerk, now=day(3))
    assert "Ritirata" in approve.value.message


def test_correction_only_within_max_gg_correction(session, tmp_path):
    filed = file_procedure(
        session, tmp_path, now=FILED_AT, spec_extra={"times": {"max_gg_correction": 5}}
    )
    p = filed.procedure
    with pytest.raises(ActionNotAllowed) as late:
        dec.request_correction(session, p, actor=filed.clerk, text="Firma mancante", now=day(6))
    assert "5 giorni" in late.value.message
    dec.request_correction(session, p, actor=filed.clerk, text="Firma mancante", now=day(4))
    assert case_requests.pending_request(session, p).kind == case_requests.REQUEST_CORRECTION
    case_answers.answer_request(
        session,
        filed.storage,
        p,
        actor=filed.submitter,
        uploads=[case_answers.Upload("planimetria", "firmata.pdf", PDF)],
        now=day(5),
    )
    assert p.state == lc.CORRECTED
    dec.refuse(session, p, actor=filed.clerk, motivation="Firma non valida", now=day(6))
    assert p.state == lc.REFUSED


def test_silent_assent_job_across_holidays_is_idempotent_and_gives_a_certificate(session, tmp_path):
    # Filed 25 May 2026; +30 = 24 June, Torino's patron day: the last day is 25 June.
    filed_at = datetime(2026, 5, 25, 8, 0, tzinfo=UTC)
    filed = file_procedure(
        session, tmp_path, regime="SILENZIO-ASSENSO", term_days=30, silent_assent=True, now=filed_at
    )
    p = filed.procedure
    assert p.last_day == date(2026, 6, 25)
    # 23:30 Rome on 25 June is still the last day; 00:30 Rome on 26 June is past it
    with time_machine.travel(datetime(2026, 6, 25, 21, 30, tzinfo=UTC), tick=False):
        assert tick(session, filed.storage)["silent_assent"] == 0
    with time_machine.travel(datetime(2026, 6, 25, 22, 30, tzinfo=UTC), tick=False):
        assert tick(session, filed.storage)["silent_assent"] == 1
        assert tick(session, filed.storage)["silent_assent"] == 0
    assert p.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED
    with time_machine.travel(datetime(2026, 6, 27, tzinfo=UTC), tick=False):
        assert tick(session, filed.storage)["silent_assent"] == 0
    kinds = [e.kind for e in core.events_of(session, p.id)]
    assert kinds.count(lc.ENDED_BY_PROCEEDING_TIME_EXPIRED) == 1
    notes = session.scalars(select(Notification).where(Notification.user_id == filed.submitter.id))
    assert any("silenzio assenso" in n.subject.lower() for n in notes)
    cert = acts.silent_assent_certificate(session, filed.storage, p, actor=filed.submitter)
    again = acts.silent_assent_certificate(session, filed.storage, p, actor=filed.submitter)
    assert cert.id == again.id
    assert "silenzio assenso" in pdf_text(filed.storage.read(cert.storage_key)).lower()


def test_silent_assent_waits_for_a_suspension_across_daylight_saving(session, tmp_path):
    # Filed 2 March; 30 days = 1 April. Integration 20 March - 3 April (DST on 29 March): +14.
    filed = file_procedure(
        session, tmp_path, regime="SILENZIO-ASSENSO", term_days=30, silent_assent=True, now=FILED_AT
    )
    p = filed.procedure
    dec.request_integration(
        session, p, actor=filed.clerk, text="Manca la visura", days=20, now=day(18)
    )
    assert tick(session, filed.storage, datetime(2026, 4, 2, 12, tzinfo=UTC))["silent_assent"] == 0
    case_answers.answer_request(
        session,
        filed.storage,
        p,
        actor=filed.submitter,
        note="Visura allegata",
        uploads=[case_answers.Upload("integrazione", "visura.pdf", PDF)],
        now=datetime(2026, 4, 2, 22, 30, tzinfo=UTC),  # 00:30 on 3 April in Rome (CEST)
    )
    clock = core.clock_of(session, p, datetime(2026, 4, 10, tzinfo=UTC))
    # 1 April + 14 = 15 April
    assert clock.days_suspended == 14 and clock.last_day == date(2026, 4, 15)
    assert tick(session, filed.storage, datetime(2026, 4, 15, 12, tzinfo=UTC))["silent_assent"] == 0
    assert tick(session, filed.storage, datetime(2026, 4, 16, 12, tzinfo=UTC))["silent_assent"] == 1


def test_unanswered_integration_ends_the_procedure_the_day_after_its_term(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    p = filed.procedure
    dec.request_integration(
        session, p, actor=filed.clerk, text="Manca la visura", days=30, now=day(10)
    )
    assert tick(session, filed.storage, day(40))["integration_expired"] == 0  # 11 April: last day
    with pytest.raises(ActionNotAllowed):
        case_answers.answer_request(
            session, filed.storage, p, actor=filed.submitter, note="tardi", now=day(41)
        )
    assert tick(session, filed.storage, day(41))["integration_expired"] == 1
    assert tick(session, filed.storage, day(42))["integration_expired"] == 0
    assert p.state == lc.ENDED_BY_INTEGRATION_TIMES_EXPIRED
    clock = core.clock_of(session, p, day(50))
    assert clock.days_suspended == 30


def test_scia_window_conformation_and_closing(session, tmp_path):
    filed = file_procedure(session, tmp_path, regime="SCIA", term_days=None, now=FILED_AT)
    p = filed.procedure
    assert p.last_day == date(2026, 5, 2)  # 2 March + 60 = 1 May (holiday) -> 2 May
    with pytest.raises(ActionNotAllowed) as short:
        dec.request_conformation(
            session, p, actor=filed.clerk, text="Insegna", days=10, now=day(20)
        )
    assert "30" in short.value.message
    dec.request_conformation(
        session, p, actor=filed.clerk, text="Adeguare l'insegna", days=30, now=day(20)
    )
    assert p.state == lc.ENDED_BY_CONFORMATION_REQUESTED
    assert core.clock_of(session, p, day(25)).interrupted
    case_answers.answer_request(
        session,
        filed.storage,
        p,
        actor=filed.submitter,
        note="Insegna adeguata",
        uploads=[case_answers.Upload("integrazione", "foto.pdf", PDF)],
        now=day(30),
    )
    clock = core.clock_of(session, p, day(31))
    # window restarts from the answer (1 April) + 60 = Sunday 31 May -> Monday 1 June
    assert p.state == lc.INTEGRATED and clock.last_day == date(2026, 6, 1)
    assert tick(session, filed.storage, datetime(2026, 6, 1, 12, tzinfo=UTC))["scia_closed"] == 0
    assert tick(session, filed.storage, datetime(2026, 6, 2, 12, tzinfo=UTC))["scia_closed"] == 1
    assert p.state == lc.ENDED_BY_POSITIVE_OUTCOME
    with pytest.raises(ActionNotAllowed):
        dec.prohibit(session, filed.storage, p, actor=filed.clerk, motivation="tardi", now=day(95))


def test_unanswered_conformation_prohibits_the_activity(session, tmp_path):
    filed = file_procedure(session, tmp_path, regime="SCIA", term_days=None, now=FILED_AT)
    p = filed.procedure
    dec.request_conformation(session, p, actor=filed.clerk, text="Adeguare", days=30, now=day(5))
    assert tick(session, filed.storage, day(35))["conformation_expired"] == 0
    assert tick(session, filed.storage, day(36))["conformation_expired"] == 1
    assert p.state == lc.ENDED_BY_NEGATIVE_OUTCOME
    act = session.scalar(select(Act).where(Act.procedure_id == p.id))
    assert act.kind == "prohibition" and "19" in pdf_text(filed.storage.read(act.storage_key))


def test_scia_prohibition_only_inside_the_window(session, tmp_path):
    other = file_procedure(session, tmp_path, regime="SCIA", term_days=None, now=FILED_AT)
    with pytest.raises(ActionNotAllowed) as late:
        dec.prohibit(
            session, other.storage, other.procedure, actor=other.clerk, motivation="x", now=day(62)
        )
    assert "02/05/2026" in late.value.message
    dec.prohibit(
        session,
        other.storage,
        other.procedure,
        actor=other.clerk,
        motivation="Requisiti assenti",
        now=day(10),
    )
    assert other.procedure.state == lc.ENDED_BY_NEGATIVE_OUTCOME
