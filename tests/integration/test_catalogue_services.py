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
from portale.reference.services import load_reference_data
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


def _changed_copy(tmp_path):
    """A copy of the shipped files where one label of the notice of end of activity changed."""
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
    return copy


def _admin(session):
    admin = User(email="a@esempio.it", password_hash="x", full_name="Admin")
    session.add(admin)
    session.flush()
    return admin


def test_changed_file_is_a_draft_until_published(session, tmp_path):
    services.sync_catalogue(session, load_catalogue())
    v1 = services.current_version(session, "COM_CESSAZIONE")
    copy = _changed_copy(tmp_path)
    report = {line.code: line for line in services.sync_catalogue(session, load_catalogue(copy))}
    assert (
        report["COM_CESSAZIONE"].action == "new_version"
        and report["COM_CESSAZIONE"].status == DRAFT
    )
    assert report["SCIA_VICINATO"].action == "unchanged"
    assert services.current_version(session, "COM_CESSAZIONE").id == v1.id
    v2 = next(v for v in services.list_versions(session, "COM_CESSAZIONE") if v.version == 2)
    diff = services.spec_diff(v1.spec, v2.spec)
    assert any(key == "fields.note" for key, _old, _new in diff)
    # Loading the changed files again is a no-op: no third version.
    again = {line.code: line for line in services.sync_catalogue(session, load_catalogue(copy))}
    assert again["COM_CESSAZIONE"].action == "unchanged"
    assert len(services.list_versions(session, "COM_CESSAZIONE")) == 2

    admin = _admin(session)
    services.publish_version(session, v2.id, admin.id)
    assert services.current_version(session, "COM_CESSAZIONE").version == 2
    session.refresh(v1)
    assert v1.status == RETIRED and v2.status == PUBLISHED
    assert v2.published_by_id == admin.id and v2.published_at is not None


def test_publishing_the_published_version_again_changes_nothing(session, tmp_path):
    services.sync_catalogue(session, load_catalogue())
    services.sync_catalogue(session, load_catalogue(_changed_copy(tmp_path)))
    v2 = next(v for v in services.list_versions(session, "COM_CESSAZIONE") if v.version == 2)
    admin = _admin(session)
    services.publish_version(session, v2.id, admin)  # the acting User is accepted too
    stamped = v2.published_at
    services.publish_version(session, v2.id, None)
    assert v2.published_at == stamped and v2.published_by_id == admin.id
    with pytest.raises(LookupError):
        services.publish_version(session, 999_999, admin.id)


def test_a_filed_procedure_stays_on_its_version(session, demo, tmp_path):
    owner, company = demo
    unit = company.local_units[0]
    v1 = services.current_version(session, "COM_CESSAZIONE")
    storage = LocalStorage(tmp_path / "storage")
    draft = filing.start_draft(
        session, actor=owner, company_id=company.id, local_unit_id=unit.id, type_code=v1.code
    )
    answers = {**draft.answers, "data_cessazione": "2026-12-01", "motivo": "chiusura"}
    filing.save_draft(session, draft.id, actor=owner, answers=answers, dossier_updates=[])
    procedure = filing.submit_procedure(
        session, storage, draft.id, actor=owner, idempotency_key="stays-on-v1"
    )
    services.sync_catalogue(session, load_catalogue(_changed_copy(tmp_path)))
    v2 = next(v for v in services.list_versions(session, "COM_CESSAZIONE") if v.version == 2)
    services.publish_version(session, v2.id, _admin(session).id)
    session.refresh(procedure)
    assert procedure.type_version_id == v1.id
    assert services.current_version(session, "COM_CESSAZIONE").id == v2.id


def test_search_by_words_and_municipality(session):
    services.sync_catalogue(session, load_catalogue())
    assert [v.code for v in services.search_catalogue(session, "insegna")] == ["AUT_INSEGNA"]
    assert {v.code for v in services.search_catalogue(session, "bar 287")} >= {
        "SCIA_SOMMINISTRAZIONE"
    }
    assert len(services.search_catalogue(session, None, "001272")) == 8
    assert services.search_catalogue(session, "parola-che-non-esiste") == []


def test_search_ignores_accents_and_case(session):
    services.sync_catalogue(session, load_catalogue())
    # "attività" is in the title of the notice of end of activity; people type it either way.
    assert "COM_CESSAZIONE" in {v.code for v in services.search_catalogue(session, "ATTIVITA")}
    assert "COM_CESSAZIONE" in {v.code for v in services.search_catalogue(session, "attività")}


def test_search_lists_in_the_order_of_the_locale(session):
    services.sync_catalogue(session, load_catalogue())
    italian = [v.title for v in services.search_catalogue(session, locale="it")]
    english = [v.title_en for v in services.search_catalogue(session, locale="en")]
    assert italian == sorted(italian, key=str.lower)
    assert english == sorted(english, key=str.lower)


def test_authority_codes_unknown_to_the_portal_are_reported(session):
    report = {line.code: line for line in services.sync_catalogue(session, load_catalogue())}
    # No seed organisations in this database yet: the catalogue still loads, with a warning.
    assert report["NOTIFICA_SANITARIA"].warnings == ("unknown authority ASL_TO",)
    assert report["COM_CESSAZIONE"].warnings == ()
    load_reference_data(session)
    report = {line.code: line for line in services.sync_catalogue(session, load_catalogue())}
    assert all(line.warnings == () for line in report.values())


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
    # What goes to authorities and other SUAP systems follows the SSU schema for every type.
    from portale.cases.ssu import instance_descriptor
    from tests.integration.test_dispatch import SSU_SCHEMAS, _ssu_validator

    if SSU_SCHEMAS.exists():
        descriptor = instance_descriptor(procedure)
        errors = [
            e.message
            for e in _ssu_validator("instance-descriptor-schema.yaml").iter_errors(descriptor)
        ]
        assert errors == []
