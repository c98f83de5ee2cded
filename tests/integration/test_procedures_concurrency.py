"""Concurrent submissions on PostgreSQL get unique, gapless protocol numbers.

This test cannot use the rolled-back ``session`` fixture: each thread needs its own connection
and must see committed data. It creates its own rows and deletes them at the end.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from portale.accounts.models import Office, User, UserRole, office_municipality
from portale.cases.counters import SequenceCounter
from portale.cases.models import Attachment, Procedure, ProcedureEvent
from portale.cases.protocol import next_protocol_number
from portale.catalogue.models import ProcedureTypeVersion
from portale.db import utcnow
from portale.dossier.models import Company, DossierChange, LocalUnit, Mandate
from portale.procedures import receipt, services
from portale.procedures.models import Draft
from portale.reference.models import Municipality
from portale.storage import LocalStorage
from tests.integration.test_procedures_support import (
    PDF,
    SPEC,
    VALID_ANSWERS,
    company_tax_code,
    make_type_version,
)

SUBMISSIONS = 12


@pytest.fixture
def committed(engine, is_postgres, app):
    if not is_postgres:
        pytest.skip(
            "row locks under concurrency are a PostgreSQL property; SQLite serialises writers"
        )
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    tag = uuid.uuid4().hex[:8]
    ids: dict[str, object] = {}
    with factory() as s:
        municipality = Municipality(
            istat_code="999" + tag[:3].translate(str.maketrans("abcdef", "123456")),
            name="Comune di prova",
            cadastral_code="Z" + tag[:3].upper(),
            province_code="001",
            supra_code="201",
            province_abbr="TO",
        )
        s.add(municipality)
        office = Office(code=f"C{tag}", name=f"SUAP concorrenza {tag}")
        office.municipalities.append(municipality)
        user = User(email=f"conc-{tag}@esempio.it", password_hash="x", full_name="Conc")
        user.roles.append(UserRole(role="entrepreneur"))
        code = company_tax_code()
        company = Company(tax_code=code, vat_number=code, name=f"Impresa {tag}")
        unit = LocalUnit(
            company=company, name="Sede", street="Via Roma 1", municipality=municipality.istat_code
        )
        s.add_all([office, user, company, unit])
        version = make_type_version(
            s,
            code=f"CONC_{tag}",
            version=1,
            title="Prova",
            regime="AUTORIZZAZIONE",
            term_days=30,
            spec=SPEC,
        )
        s.flush()
        s.add(Mandate(company_id=company.id, grantee_id=user.id, kind="legal_representative"))
        s.commit()
        ids.update(
            municipality=municipality.istat_code,
            office=office.id,
            user=user.id,
            company=company.id,
            unit=unit.id,
            version=version.id,
            code=version.code,
        )
    yield factory, ids
    with factory() as s:
        procedure_ids = select(Procedure.id).where(Procedure.office_id == ids["office"])
        from portale.outbox.models import OutboxJob

        s.execute(delete(OutboxJob).where(OutboxJob.procedure_id.in_(procedure_ids)))
        s.execute(delete(ProcedureEvent).where(ProcedureEvent.procedure_id.in_(procedure_ids)))
        s.execute(delete(Attachment).where(Attachment.uploaded_by_id == ids["user"]))
        s.execute(delete(Draft).where(Draft.company_id == ids["company"]))
        s.execute(delete(Procedure).where(Procedure.office_id == ids["office"]))
        s.execute(delete(DossierChange).where(DossierChange.company_id == ids["company"]))
        s.execute(
            delete(SequenceCounter).where(SequenceCounter.scope.like("%" + str(ids["office"])))
        )
        s.execute(delete(Mandate).where(Mandate.company_id == ids["company"]))
        s.execute(delete(LocalUnit).where(LocalUnit.id == ids["unit"]))
        s.execute(delete(Company).where(Company.id == ids["company"]))
        s.execute(delete(ProcedureTypeVersion).where(ProcedureTypeVersion.id == ids["version"]))
        from portale.catalogue.models import ProcedureType

        s.execute(delete(ProcedureType).where(ProcedureType.code.like("CONC_%")))
        s.execute(
            delete(office_municipality).where(office_municipality.c.office_id == ids["office"])
        )
        s.execute(delete(Office).where(Office.id == ids["office"]))
        s.execute(delete(User).where(User.id == ids["user"]))
        s.execute(delete(Municipality).where(Municipality.istat_code == ids["municipality"]))
        s.commit()


def test_concurrent_submissions_get_unique_gapless_numbers(committed, tmp_path, monkeypatch):
    factory, ids = committed
    storage = LocalStorage(tmp_path)
    monkeypatch.setattr(
        receipt, "ensure_receipt", lambda *a, **k: b""
    )  # PDFs are not the point here
    draft_ids = []
    with factory() as s:
        user = s.get(User, ids["user"])
        for _ in range(SUBMISSIONS):
            draft = services.start_draft(
                s,
                actor=user,
                company_id=ids["company"],
                local_unit_id=ids["unit"],
                type_code=ids["code"],
            )
            services.save_draft(s, draft.id, actor=user, answers=VALID_ANSWERS, dossier_updates=[])
            services.add_attachment(
                s, storage, draft.id, actor=user, slot="planimetria", filename="p.pdf", data=PDF
            )
            draft_ids.append(draft.id)

    barrier = threading.Barrier(SUBMISSIONS + 1)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def submit(draft_id: int) -> None:
        with factory() as s:
            user = s.get(User, ids["user"])
            barrier.wait()
            try:
                procedure = services.submit_procedure(
                    s, storage, draft_id, actor=user, idempotency_key=f"conc-{draft_id}"
                )
                numbers.append(procedure.protocol_number)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    def rolled_back() -> None:
        # A submission that takes a number and then fails must not leave a gap.
        with factory() as s:
            barrier.wait()
            next_protocol_number(s, ids["office"], services.rome_date(utcnow()).year)
            s.rollback()

    threads = [threading.Thread(target=submit, args=(d,)) for d in draft_ids]
    threads.append(threading.Thread(target=rolled_back))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(numbers) == list(range(1, SUBMISSIONS + 1))
    with factory() as s:
        filed = list(s.scalars(select(Procedure).where(Procedure.office_id == ids["office"])))
        assert len(filed) == SUBMISSIONS
        assert len({p.cui_uuid for p in filed}) == SUBMISSIONS


def test_the_same_key_submitted_at_once_files_one_procedure(committed, tmp_path, monkeypatch):
    # Two portal instances receiving the same Idempotency-Key at once (found by
    # bench/production_check.py): the loser's INSERT waits for the winner and must answer with
    # the winner's procedure, not fail.
    factory, ids = committed
    storage = LocalStorage(tmp_path)
    monkeypatch.setattr(receipt, "ensure_receipt", lambda *a, **k: b"")
    with factory() as s:
        user = s.get(User, ids["user"])
        draft = services.start_draft(
            s,
            actor=user,
            company_id=ids["company"],
            local_unit_id=ids["unit"],
            type_code=ids["code"],
        )
        services.save_draft(s, draft.id, actor=user, answers=VALID_ANSWERS, dossier_updates=[])
        services.add_attachment(
            s, storage, draft.id, actor=user, slot="planimetria", filename="p.pdf", data=PDF
        )
        draft_id = draft.id
    barrier = threading.Barrier(4)
    filed: list[int] = []
    created: list[bool] = []
    errors: list[BaseException] = []

    def submit() -> None:
        with factory() as s:
            user = s.get(User, ids["user"])
            services.get_draft(s, user, draft_id)  # both read the draft unfiled
            barrier.wait()
            try:
                procedure, new = services.file_draft(
                    s, storage, draft_id, actor=user, idempotency_key=f"same-{draft_id}"
                )
                filed.append(procedure.id)
                created.append(new)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(filed) == 4 and len(set(filed)) == 1
    # only the winner says it filed: the API answers 201 to it and 200 to the others
    assert sorted(created) == [False, False, False, True]
    with factory() as s:
        numbers = list(
            s.scalars(select(Procedure.protocol_number).where(Procedure.office_id == ids["office"]))
        )
        assert numbers == [1]
