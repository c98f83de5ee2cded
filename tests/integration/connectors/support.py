"""Filing procedures wired to the fake services: protocol system, DURC, SSU authorities."""

from __future__ import annotations

from pathlib import Path

from portale.extensions import db
from portale.outbox import services as outbox
from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.factories import AuthorityFactory
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world

REGULAR_COMPANY = "11850450013"  # Pasticceria Rossi: DURC regular
IRREGULAR_COMPANY = "11850470011"  # Caffè Galli: DURC not regular
EXPIRED_COMPANY = "11850460012"  # Barberia Verdi: DURC out of date


def spec_dir() -> Path | None:
    """The national SSU specification beside the repository (any ancestor's ``shared/``)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "specs" / "ssu"
        if candidate.is_dir():
            return candidate
    return None


def ssu_authority(fakes, code="ASL_SSU"):
    return AuthorityFactory(code=code, name=f"Ente {code}", **fakes.authority_record())


def file_with(
    session,
    tmp_path,
    *,
    authorities=(),
    durc=False,
    protocol_system=None,
    tax_code=None,
    key="f",
):
    world = make_world(session)
    world.version.spec = {
        **world.version.spec,
        "authorities": [a.code for a in authorities],
        "durc": durc,
    }
    world.office.protocol_system = protocol_system
    if tax_code:
        world.company.tax_code = tax_code
    session.commit()
    storage = LocalStorage(tmp_path)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    filing.save_draft(session, draft.id, actor=world.user, answers=VALID_ANSWERS)
    filing.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    procedure = filing.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key=key
    )
    return world, procedure


def drain(app):
    return outbox.drain(db.session_factory, worker="t", config=dict(app.config))


def jobs_of(session, procedure, handler):
    session.expire_all()
    return [j for j in outbox.jobs_for_procedure(session, procedure.id) if j.handler == handler]


def kinds(session, procedure):
    from sqlalchemy import inspect

    session.expire_all()
    # The identity survives a request that closed the session the procedure came from.
    return [e.kind for e in session.get(type(procedure), inspect(procedure).identity[0]).events]


def make_due(session, job):
    from datetime import timedelta

    from portale.db import utcnow

    job.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
