"""Shared data for the procedures tests: a small procedure type, a company with premises, files.

No tests here; the other ``test_procedures_*`` modules import these helpers. The procedure type
is built directly as a catalogue version row from a spec dict, so these tests do not depend on
the shipped catalogue YAML.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from stdnum import luhn

from portale.catalogue.models import ProcedureTypeVersion
from tests.factories import (
    LocalUnitFactory,
    MandateFactory,
    MunicipalityFactory,
    OfficeFactory,
    UserFactory,
)

SPEC: dict[str, Any] = {
    "fields": [
        {
            "name": "ragione_sociale",
            "label": "Denominazione dell'impresa",
            "type": "text",
            "required": True,
            "dossier_path": "company.name",
        },
        {
            "name": "indirizzo",
            "label": "Indirizzo della sede",
            "type": "text",
            "required": True,
            "dossier_path": "unit.street",
        },
        {
            "name": "data_inizio",
            "label": "Data di inizio attività",
            "type": "date",
            "required": True,
        },
        {
            "name": "superficie",
            "label": "Superficie di vendita (mq)",
            "type": "number",
            "required": True,
        },
        {
            "name": "settore",
            "label": "Settore merceologico",
            "type": "select",
            "required": True,
            "options": [
                {"value": "alimentare", "label": "Alimentare"},
                {"value": "non_alimentare", "label": "Non alimentare"},
            ],
        },
        {
            "name": "responsabile_haccp",
            "label": "Responsabile del piano HACCP",
            "type": "text",
            "required": True,
            "show_if": {"field": "settore", "equals": "alimentare"},
        },
        {"name": "note", "label": "Note", "type": "textarea"},
    ],
    "attachments": [
        {
            "slot": "planimetria",
            "label": "Planimetria dei locali",
            "required": True,
            "max_mb": 0.05,
            "accept": ["pdf", "p7m"],
        },
        {
            "slot": "foto",
            "label": "Fotografia dell'insegna",
            "required": False,
            "max_mb": 0.05,
            "accept": ["png", "jpeg", "pdf"],
        },
    ],
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
# A minimal CMS ContentInfo: SEQUENCE { OID 1.2.840.113549.1.7.2, [0] { SEQUENCE {} } }
P7M_DER = bytes.fromhex("30 11 06 09 2a864886f70d010702 a0 04 30 02 02 00".replace(" ", ""))
P7M_B64 = base64.encodebytes(P7M_DER)

VALID_ANSWERS = {
    "data_inizio": "2026-12-01",
    "superficie": "85,5".replace(",", "."),
    "settore": "non_alimentare",
}


_numbers = itertools.count(7_000_000)


def company_tax_code() -> str:
    """A valid 11-digit company tax code (tests.factories' own sequence trips on python-stdnum)."""
    body = f"{next(_numbers):010d}"
    return body + luhn.calc_check_digit(body)


def unit_for(**kwargs: Any) -> Any:
    code = company_tax_code()
    return LocalUnitFactory(company__tax_code=code, company__vat_number=code, **kwargs)


def make_type(
    session: Session,
    *,
    code: str = "ESERCIZIO_VICINATO",
    regime: str = "SCIA",
    term_days: int | None = 60,
    spec: dict[str, Any] | None = None,
    version: int = 1,
    title: str = "Apertura di un esercizio di vicinato",
) -> Any:
    return make_type_version(
        session,
        code=code,
        version=version,
        title=title,
        regime=regime,
        term_days=term_days,
        spec=spec or SPEC,
    )


def make_type_version(
    session: Session,
    *,
    code: str,
    version: int,
    title: str,
    regime: str,
    term_days: int | None,
    spec: dict[str, Any],
) -> Any:
    """A published catalogue version built from a spec dict (not from the shipped files)."""
    from sqlalchemy import select

    from portale.catalogue.loader import content_hash
    from portale.catalogue.models import PUBLISHED, ProcedureType

    ptype = session.scalar(select(ProcedureType).where(ProcedureType.code == code))
    if ptype is None:
        ptype = ProcedureType(code=code, title=title)
        session.add(ptype)
        session.flush()
    row = ProcedureTypeVersion(
        type_id=ptype.id,
        code=code,
        version=version,
        title=title,
        regime=regime,
        term_days=term_days,
        spec=spec,
        content_hash=content_hash(spec),
        status=PUBLISHED,
    )
    session.add(row)
    session.commit()
    return row


@dataclass
class World:
    user: Any
    company: Any
    unit: Any
    office: Any
    version: Any


def make_world(
    session: Session,
    *,
    regime: str = "SCIA",
    term_days: int | None = 60,
    with_office: bool = True,
    code: str = "ESERCIZIO_VICINATO",
) -> World:
    torino = MunicipalityFactory()
    user = UserFactory()
    unit = unit_for(street="Via Garibaldi 10")
    MandateFactory(company=unit.company, grantee_id=user.id)
    office = None
    if with_office:
        office = OfficeFactory(code="SUAPTO")
        office.municipalities.append(torino)
        session.commit()
    version = make_type(session, code=code, regime=regime, term_days=term_days)
    return World(user=user, company=unit.company, unit=unit, office=office, version=version)
