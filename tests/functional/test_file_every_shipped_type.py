"""Issue 3's end-to-end promise: from the demo dossier, every shipped procedure type is filed
through the web form without retyping data the dossier holds, and yields a PDF receipt."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portale.cases.models import Procedure
from portale.catalogue import formbuilder
from portale.catalogue.models import PUBLISHED, ProcedureTypeVersion
from portale.catalogue.services import spec_of
from portale.demo import load_demo
from portale.dossier.access import accessible_companies
from portale.procedures.models import Draft
from tests.integration.test_procedures_support import PDF, PNG

# What a person types for the fields the dossier cannot know, by kind.
TYPED = {
    "text": "Dato dichiarato",
    "textarea": "Descrizione dichiarata dall'impresa.",
    "date": "2026-12-01",
    "number": "42",
    "email": "referente@esempio.it",
    "checkbox": "y",
    "municipality": "001272",
    "ateco": "47.11.02",
}
TAX_CODE = "RSSMRA80A01L219M"  # a valid personal tax code (for "codice fiscale" fields)


def typed_value(field: formbuilder.FieldSpec) -> str:
    if field.kind == "select":
        return field.options[0][0]
    if field.kind == "text" and "codice_fiscale" in field.name:
        return TAX_CODE
    return TYPED[field.kind]


@pytest.fixture
def demo(session):
    load_demo(session)
    return session


def shipped_codes() -> list[str]:
    from pathlib import Path

    import yaml

    data = Path(__file__).resolve().parents[2] / "portale/catalogue/data"
    return sorted(yaml.safe_load(p.read_text())["code"] for p in data.glob("[!_]*.yaml"))


@pytest.mark.parametrize("code", shipped_codes())
def test_each_shipped_type_is_filed_from_the_demo_dossier(client, demo, code):
    session = demo
    from portale.accounts.models import User

    owner = session.scalar(select(User).where(User.email == "impresa@demo.it"))
    [company] = accessible_companies(session, owner)
    unit = next(u for u in company.local_units if u.municipality == "001272")
    client.post("/account/accedi", data={"email": owner.email, "password": "demo12345!"})

    version = session.scalar(
        select(ProcedureTypeVersion).where(
            ProcedureTypeVersion.code == code, ProcedureTypeVersion.status == PUBLISHED
        )
    )
    assert version is not None, f"{code} is not published by the demo load"
    started = client.post(
        f"/pratiche/nuova?tipo={code}", data={"premises": f"{company.id}:{unit.id}"}
    )
    assert started.status_code == 302
    draft = session.get(Draft, int(started.headers["Location"].rstrip("/").split("/")[-1]))
    spec = spec_of(version)

    # Every field bound to the dossier arrives filled: the person does not type it again.
    bound = [f for f in spec.fields if f.dossier_path]
    assert bound, f"{code} has no field prefilled from the dossier"
    page = client.get(f"/pratiche/bozze/{draft.id}").get_data(as_text=True)
    for f in bound:
        assert draft.answers.get(f.name) not in (None, ""), f"{code}: {f.name} not prefilled"
    assert "dal fascicolo" in page.lower()

    form = dict(formbuilder.answers_formdata(draft.answers or {}, ()))
    for f in spec.fields:
        if not f.dossier_path and (f.required or f.kind == "select"):
            form[f.name] = typed_value(f)
    visible = formbuilder.visible_fields(spec, formbuilder.answers_from_formdata(spec, form)[0])
    for f in spec.fields:
        if f.name in visible and not f.dossier_path and f.name not in form:
            form[f.name] = typed_value(f)
    for slot in spec.attachments:
        if slot.required:
            content, name = (PDF, "documento.pdf") if "pdf" in slot.accept else (PNG, "foto.png")
            form[f"allegato__{slot.slot}"] = (io.BytesIO(content), name)
    form.update(action="submit", idempotency_key=f"e2e-{code}")

    response = client.post(
        f"/pratiche/bozze/{draft.id}", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    procedure = session.scalar(select(Procedure).where(Procedure.idempotency_key == f"e2e-{code}"))
    assert procedure.type_code == code and procedure.company_id == company.id

    receipt = client.get(f"/pratiche/{procedure.id}/ricevuta.pdf")
    assert receipt.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.data)).pages)
    assert procedure.protocol_label in text and company.name in " ".join(text.split())
