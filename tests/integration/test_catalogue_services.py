"""Catalogue in the database: idempotent loading, versions, publishing, search, and filing
every shipped procedure type from the demo dossier without retyping dossier data."""

from __future__ import annotations

import io
import shutil

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portale.accounts.models import User
from portale.catalogue import services
from portale.catalogue.loader import DATA_DIR, load_catalogue
from portale.catalogue.models import DRAFT, PUBLISHED, RETIRED, ProcedureTypeVersion
from portale.demo import load_demo
from portale.dossier.models import Company
from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.integration.test_procedures_support import PDF, PNG

pytestmark = pytest.mark.slow


def test_loading_twice_creates_nothing_new(session):
    first = services.sync_catalogue(session, load_catalogue())
    second = services.sync_catalogue(session, load_catalogue())
    assert {line.action for line in first} == {"created"}
    assert {line.action for line in second} == {"unchanged"}
    assert (
        session.scalar(select(ProcedureTypeVersion).where(ProcedureTypeVersion.status == DRAFT))
        is None
    )


def test_changed_file_is_a_draft_until_published_and_filed_procedures_keep_their_version(
    session, tmp_path
):
    services.sync_catalogue(session, load_catalogue())
    v1 = services.current_version(session, "COM_CESSAZIONE")
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    path = copy / "cessazione.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            'label: {it: "Note", en: "Notes"}',
            'label: {it: "Note aggiuntive", en: "Further notes"}',
        ),
        encoding="utf-8",
    )
    report = {line.code: line for line in services.sync_catalogue(session, load_catalogue(copy))}
    assert (
        report["COM_CESSAZIONE"].action == "new_version"
        and report["COM_CESSAZIONE"].status == DRAFT
    )
    assert services.current_version(session, "COM_CESSAZIONE").id == v1.id
    v2 = next(v for v in services.list_versions(session, "COM_CESSAZIONE") if v.version == 2)
    diff = services.spec_diff(v1.spec, v2.spec)
    assert any(key == "fields.note" for key, _old, _new in diff)
    admin = User(email="a@esempio.it", password_hash="x", full_name="Admin")
    session.add(admin)
    session.flush()
    services.publish_version(session, v2.id, admin)
    assert services.current_version(session, "COM_CESSAZIONE").version == 2
    session.refresh(v1)
    assert v1.status == RETIRED and v2.status == PUBLISHED


def test_search_by_words_and_municipality(session):
    services.sync_catalogue(session, load_catalogue())
    assert [v.code for v in services.search_catalogue(session, "insegna")] == ["AUT_INSEGNA"]
    assert {v.code for v in services.search_catalogue(session, "bar 287")} >= {
        "SCIA_SOMMINISTRAZIONE"
    }
    assert len(services.search_catalogue(session, None, "001272")) == 8
    assert services.search_catalogue(session, "parola-che-non-esiste") == []


@pytest.fixture
def demo(session):
    load_demo(session)
    owner = session.scalar(select(User).where(User.email == "impresa@demo.it"))
    company = session.scalar(select(Company).where(Company.name.like("Bottega%")))
    return owner, company


def _answer(field):
    kind = field["type"]
    if field.get("options"):
        return field["options"][0]["value"]
    return {
        "date": "2026-12-01",
        "number": "120",
        "checkbox": True,
        "email": "x@pec.esempio.it",
        "municipality": "001272",
        "ateco": "47.11.02",
    }.get(kind, "Testo di prova")


@pytest.mark.parametrize("code", sorted({s.code for s in load_catalogue()}))
def test_every_shipped_type_is_filed_from_the_demo_dossier(session, demo, tmp_path, code):
    owner, company = demo
    unit = company.local_units[0]
    storage = LocalStorage(tmp_path / "storage")
    draft = filing.start_draft(
        session, actor=owner, company_id=company.id, local_unit_id=unit.id, type_code=code
    )
    spec = services.current_version(session, code).spec
    bound = {f["name"] for f in spec["fields"] if f.get("dossier_path")}
    # Everything the dossier knows is already there: the user types only the rest.
    assert bound <= {k for k, v in draft.answers.items() if v not in (None, "")}
    answers = dict(draft.answers)
    for field in spec["fields"]:
        if field["name"] not in bound:
            answers[field["name"]] = _answer(field)
    filing.save_draft(session, draft.id, actor=owner, answers=answers, dossier_updates=[])
    for attachment in spec["attachments"]:
        data = PDF if "pdf" in attachment["accept"] else PNG
        filing.add_attachment(
            session,
            storage,
            draft.id,
            actor=owner,
            slot=attachment["code"],
            filename="allegato.pdf" if data is PDF else "foto.png",
            data=data,
        )
    procedure = filing.submit_procedure(
        session, storage, draft.id, actor=owner, idempotency_key=f"demo-{code}"
    )
    from portale.procedures.receipt import ensure_receipt

    pdf = ensure_receipt(session, storage, procedure)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert procedure.protocol_label in text
    assert company.name in text
