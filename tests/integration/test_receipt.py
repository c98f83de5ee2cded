"""The receipt PDF says what was filed, where, with which files and by when the answer is due."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from portale.procedures import services
from portale.procedures.receipt import ensure_receipt, receipt_key
from portale.storage import LocalStorage
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_receipt_content_and_rendering_when_missing(session, tmp_path):
    storage = LocalStorage(tmp_path)
    world = make_world(session, regime="AUTORIZZAZIONE", term_days=30)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    services.save_draft(
        session, draft.id, actor=world.user, answers=VALID_ANSWERS, dossier_updates=[]
    )
    attachment = services.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="planimetria.pdf",
        data=PDF,
    )
    procedure = services.submit_procedure(
        session,
        storage,
        draft.id,
        actor=world.user,
        idempotency_key="r",
        now=datetime(2026, 5, 25, 14, 5, tzinfo=UTC),
    )
    assert not storage.exists(receipt_key(procedure))  # rendered by the outbox job, not inline
    ensure_receipt(session, storage, procedure)
    assert storage.exists(receipt_key(procedure))
    text = " ".join(pdf_text(storage.read(receipt_key(procedure))).split())
    assert procedure.protocol_label in text
    assert "25/05/2026 ore 16:05" in text  # Europe/Rome, summer time
    assert world.company.name in text
    assert "Superficie di vendita (mq)" in text and "Non alimentare" in text  # labels, not names
    assert attachment.sha256[:32] in text.replace(" ", "")
    assert "25/06/2026" in text  # 24 June is Turin's patron day
    assert "Apertura di un esercizio di vicinato" in text

    # a crash between filing and rendering: the download renders it again
    storage.delete(receipt_key(procedure))
    again = ensure_receipt(session, storage, procedure)
    assert again.startswith(b"%PDF") and storage.exists(receipt_key(procedure))


def test_scia_receipt_says_effective_at_filing(session, tmp_path):
    storage = LocalStorage(tmp_path)
    world = make_world(session, regime="SCIA", term_days=None)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    services.save_draft(
        session, draft.id, actor=world.user, answers=VALID_ANSWERS, dossier_updates=[]
    )
    services.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    procedure = services.submit_procedure(
        session,
        storage,
        draft.id,
        actor=world.user,
        idempotency_key="s",
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    text = " ".join(pdf_text(ensure_receipt(session, storage, procedure)).split())
    assert "efficace dalla data di presentazione" in text and "02/03/2026" in text
    assert "02/05/2026" in text  # end of the 60-day control window, past 1 May
