"""Data fetched from other systems into the dossier, always previewed and confirmed first
(as in the EU once-only technical system): onboarding by tax code from the business
register, "refresh from the register" field by field, and the VAT check on VIES."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from connectors.base import (
    CompanyLookup,
    CompanyRecord,
    ConnectorError,
    ConnectorMalformedResponse,
    ConnectorUnavailable,
    NotFound,
)
from connectors.registry import ConnectorRegistry
from portale.accounts.models import User
from portale.db import utcnow
from portale.dossier import validation
from portale.dossier.access import get_company_for
from portale.dossier.models import SOURCE_CONNECTOR, Company, DossierChange
from portale.dossier.services import COMPANY_LABELS, create_company, update_company


class OnboardingError(Exception):
    """Something the person must be told; ``message`` is in their language."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class RecordChanged(OnboardingError):
    def __init__(self, record: CompanyRecord) -> None:
        super().__init__(
            _l(
                "I dati del Registro delle Imprese sono cambiati dopo l'anteprima: controllali di nuovo."
            )
        )
        self.record = record


def _lookup(registry: ConnectorRegistry) -> CompanyLookup:
    adapter = registry.first("company_lookup")
    if adapter is None:
        raise OnboardingError(
            _l(
                "Il collegamento al Registro delle Imprese non è configurato: inserisci i dati a mano."
            )
        )
    return adapter  # type: ignore[return-value]


def _explain(error: ConnectorError) -> OnboardingError:
    if isinstance(error, NotFound):
        return OnboardingError(_l("Il Registro delle Imprese non conosce questo codice fiscale."))
    if isinstance(error, ConnectorUnavailable):
        return OnboardingError(
            _l(
                "Il Registro delle Imprese non risponde in questo momento: riprova tra qualche minuto o inserisci i dati a mano."
            )
        )
    if isinstance(error, ConnectorMalformedResponse):
        return OnboardingError(
            _l(
                "Il Registro delle Imprese ha risposto con dati non validi: non li usiamo. Riprova più tardi."
            )
        )
    return OnboardingError(_l("Il Registro delle Imprese ha rifiutato la richiesta."))


def fetch_record(registry: ConnectorRegistry, tax_code: str) -> CompanyRecord:
    try:
        code = validation.company_tax_code(tax_code)
    except validation.FieldError as error:
        raise OnboardingError(error.message) from None
    try:
        return _lookup(registry).fetch_company(code)
    except ConnectorError as error:
        raise _explain(error) from error


def fingerprint(record: CompanyRecord) -> str:
    return hashlib.sha256(json.dumps(record.as_dossier_data(), sort_keys=True).encode()).hexdigest()


def create_from_register(
    session: Session, registry: ConnectorRegistry, *, actor: User, tax_code: str, seen: str
) -> Company:
    """Create the dossier from the register, if the data is still what the person confirmed."""
    record = fetch_record(registry, tax_code)
    if fingerprint(record) != seen:
        raise RecordChanged(record)
    return create_company(
        session,
        actor=actor,
        data=record.as_dossier_data(),
        source=SOURCE_CONNECTOR,
        source_ref=record.source,
    )


@dataclass(frozen=True)
class Difference:
    field: str
    label: Any
    current: Any
    register: Any


def register_differences(
    session: Session, registry: ConnectorRegistry, *, actor: User, company_id: int
) -> tuple[Company, list[Difference]]:
    company = get_company_for(session, actor, company_id, need="edit")
    record = fetch_record(registry, company.tax_code)
    fields = record.company_fields()
    return company, [
        Difference(name, COMPANY_LABELS[name], getattr(company, name), value)
        for name, value in fields.items()
        if value not in (None, "") and value != getattr(company, name)
    ]


def apply_register_values(
    session: Session,
    registry: ConnectorRegistry,
    *,
    actor: User,
    company_id: int,
    expected_version: int,
    accepted: list[str],
) -> Company:
    """Copy into the dossier only the fields the person accepted, with the register as source."""
    company = get_company_for(session, actor, company_id, need="edit")
    record = fetch_record(registry, company.tax_code)
    fields = record.company_fields()
    changes = {name: fields[name] for name in accepted if name in fields}
    return update_company(
        session,
        company_id,
        actor=actor,
        expected_version=expected_version,
        changes=changes,
        source=SOURCE_CONNECTOR,
        source_ref=record.source,
    )


def check_vat(
    session: Session, registry: ConnectorRegistry, *, actor: User, company_id: int
) -> Company:
    """Ask VIES whether the company's VAT number is valid; keep the answer and its date."""
    company = get_company_for(session, actor, company_id, need="edit")
    if not company.vat_number:
        raise OnboardingError(_l("Il fascicolo non ha una partita IVA da verificare."))
    adapter = registry.first("vat_check")
    if adapter is None:
        raise OnboardingError(_l("La verifica della partita IVA (VIES) non è configurata."))
    try:
        result = adapter.check_vat("IT", company.vat_number)  # type: ignore[attr-defined]
    except ConnectorUnavailable:
        raise OnboardingError(
            _l("Il servizio VIES non risponde in questo momento: riprova più tardi.")
        ) from None
    except ConnectorError:
        raise OnboardingError(
            _l("Il servizio VIES non ha dato una risposta utilizzabile.")
        ) from None
    old = {
        "valid": company.vat_check_valid,
        "at": company.vat_checked_at.isoformat() if company.vat_checked_at else None,
    }
    company.vat_check_valid = result.valid
    company.vat_checked_at = utcnow()
    company.vat_check_ref = result.consultation_number
    session.flush()  # bumps the dossier version: the check is part of the dossier's history
    session.add(
        DossierChange(
            company_id=company.id,
            company_version=company.version,
            field_path="vat_check",
            old_value=old,
            new_value={
                "valid": result.valid,
                "at": company.vat_checked_at.isoformat(),
                "reference": result.consultation_number,
            },
            source=SOURCE_CONNECTOR,
            source_ref=getattr(adapter, "identifier", "vies"),
            actor_id=actor.id,
        )
    )
    session.commit()
    return company
