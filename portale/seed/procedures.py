"""Demo procedures for the back office (``portale demo load``), loaded idempotently.

- a shop-sign authorisation (AUT_INSEGNA) filed 45 days ago, taken through an opinion of the
  municipal police, one integration request and the company's answer, then approved with its
  act (licence in the dossier);
- a medium-size shop (AUT_MEDIA_STRUTTURA, silent assent, 90 days) filed 100 days ago and left
  without decision: the scheduled job marks it silently approved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority, User
from portale.backoffice import consultations, decisions
from portale.backoffice.jobs import tick
from portale.cases import answers as case_answers
from portale.cases import requests as case_requests
from portale.cases.models import OPINION_FAVOURABLE_WITH_CONDITIONS, Procedure
from portale.catalogue import services as catalogue_services
from portale.db import utcnow
from portale.dossier.models import Company
from portale.procedures import services as filing
from portale.storage import AbstractStorage

DEMO_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TYPED = {
    "testo_insegna": "Minimarket Aurora",
    "tipo": "non_luminosa",
    "larghezza_cm": "240",
    "altezza_cm": "60",
}


def _answers(session: Session, draft: Any) -> dict[str, Any]:
    spec = catalogue_services.spec_of(draft.type_version)
    values = dict(filing.dossier_values(spec, draft.company, draft.local_unit))
    for f in spec.fields:
        if f.name in values or f.name in TYPED:
            values.setdefault(f.name, TYPED.get(f.name))
        elif f.kind == "checkbox":
            values[f.name] = True
        elif f.kind == "select" and f.options:
            values[f.name] = f.options[0][0]
        elif f.kind == "number":
            values[f.name] = "400"
        elif f.kind == "date":
            values[f.name] = (utcnow().date() + timedelta(days=30)).isoformat()
        elif f.kind == "municipality":
            values[f.name] = draft.local_unit.municipality
        elif f.kind == "email":
            values[f.name] = draft.company.pec or "demo@pec.demo.example"
        else:
            values[f.name] = "Dato dimostrativo"
    return values


def _file(
    session: Session,
    storage: AbstractStorage,
    owner: User,
    company: Company,
    code: str,
    key: str,
    at: datetime,
) -> Procedure | None:
    existing = session.scalar(select(Procedure).where(Procedure.idempotency_key == key))
    if existing is not None:
        return None
    unit = next(u for u in company.local_units if u.municipality == "001272")
    draft = filing.start_draft(
        session, actor=owner, company_id=company.id, local_unit_id=unit.id, type_code=code
    )
    filing.save_draft(session, draft.id, actor=owner, answers=_answers(session, draft))
    for slot in catalogue_services.spec_of(draft.type_version).attachments:
        if slot.required:
            filing.add_attachment(
                session,
                storage,
                draft.id,
                actor=owner,
                slot=slot.slot,
                filename=f"{slot.slot}.pdf",
                data=DEMO_PDF,
            )
    return filing.submit_procedure(
        session, storage, draft.id, actor=owner, idempotency_key=key, now=at
    )


def load_demo_procedures(
    session: Session, storage: AbstractStorage, users: dict[str, User], company: Company
) -> None:
    now = utcnow()
    owner, clerk = users["entrepreneur"], users["clerk"]
    sign = _file(
        session,
        storage,
        owner,
        company,
        "AUT_INSEGNA",
        "demo:aut-insegna",
        now - timedelta(days=45),
    )
    if sign is not None:
        police = session.scalar(select(Authority).where(Authority.code == "PM_TO"))
        if police is not None:
            [opinion] = consultations.request_opinions(
                session,
                sign,
                [police.id],
                actor_id=clerk.id,
                question="Parere sulla visibilità dell'insegna",
                term_days=20,
                now=now - timedelta(days=43),
            )
            consultations.give_opinion(
                session,
                opinion.id,
                outcome=OPINION_FAVOURABLE_WITH_CONDITIONS,
                text="Favorevole, con insegna a non meno di 2,5 m dal marciapiede.",
                actor_id=None,
                via="ssu",
                now=now - timedelta(days=38),
            )
        decisions.request_integration(
            session,
            sign,
            actor=clerk,
            text="Manca la dichiarazione di stabilità della struttura di sostegno.",
            documents=["Dichiarazione di stabilità firmata da un tecnico"],
            days=20,
            now=now - timedelta(days=35),
        )
        case_answers.answer_request(
            session,
            storage,
            sign,
            actor=owner,
            note="Allegata la dichiarazione del tecnico.",
            uploads=[
                case_answers.Upload(case_requests.INTEGRATION_SLOT, "stabilita.pdf", DEMO_PDF)
            ],
            now=now - timedelta(days=27),
        )
        decisions.approve(
            session,
            storage,
            sign,
            actor=clerk,
            motivation="Istruttoria favorevole; parere della Polizia Municipale con prescrizioni.",
            now=now - timedelta(days=20),
        )
    shop = _file(
        session,
        storage,
        owner,
        company,
        "AUT_MEDIA_STRUTTURA",
        "demo:media-struttura",
        now - timedelta(days=100),
    )
    if shop is not None:
        tick(session, storage, now)
