"""Dossier use cases: create and edit a company's dossier with history, provenance and
optimistic locking, its parts (premises, activities, representatives, titles), and mandates.

Every change writes :class:`DossierChange` rows in the same transaction as the change, so the
history is complete and the provenance of each field is its latest change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portale.accounts.models import User
from portale.accounts.services import notify
from portale.db import utcnow
from portale.dossier import validation as v
from portale.dossier.access import NoAccess, get_company_for, today_rome
from portale.dossier.models import (
    MANDATE_DELEGATE,
    MANDATE_OWNER,
    SOURCE_USER,
    Company,
    CompanyActivity,
    DossierChange,
    LegalRepresentative,
    LocalUnit,
    Mandate,
    Title,
)
from portale.reference.models import AtecoCode, Municipality


class DossierConflict(Exception):
    """Someone saved the dossier after the version the user started from."""

    def __init__(self, current_version: int, changes_since: list[DossierChange]) -> None:
        super().__init__(f"dossier is at version {current_version}")
        self.current_version = current_version
        self.changes_since = changes_since


class DossierValidationError(ValueError):
    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


# -- labels ---------------------------------------------------------------------------------

COMPANY_LABELS: dict[str, Any] = {
    "tax_code": _l("Codice fiscale"),
    "vat_number": _l("Partita IVA"),
    "name": _l("Denominazione"),
    "legal_form": _l("Forma giuridica"),
    "rea_number": _l("Numero REA"),
    "pec": _l("PEC"),
    "office_street": _l("Sede legale: indirizzo"),
    "office_postcode": _l("Sede legale: CAP"),
    "office_municipality": _l("Sede legale: comune"),
}
PART_LABELS: dict[str, Any] = {
    "local_units": _l("Unità locale"),
    "activities": _l("Attività ATECO"),
    "representatives": _l("Legale rappresentante"),
    "titles": _l("Titolo"),
}
ATTRIBUTE_LABELS: dict[str, Any] = {
    "name": _l("nome"),
    "street": _l("indirizzo"),
    "postcode": _l("CAP"),
    "municipality": _l("comune"),
    "ateco_code": _l("codice ATECO"),
    "primary": _l("prevalente"),
    "full_name": _l("nome e cognome"),
    "tax_code": _l("codice fiscale"),
    "role": _l("carica"),
    "kind": _l("tipo"),
    "number": _l("numero"),
    "issuer": _l("rilasciato da"),
    "valid_from": _l("valido dal"),
    "valid_until": _l("valido fino al"),
    "local_unit_id": _l("unità locale"),
}


def field_label(path: str) -> str:
    """A human label for a history path: ``name`` or ``local_units/3/street``."""
    if path in COMPANY_LABELS:
        return str(COMPANY_LABELS[path])
    parts = path.split("/")
    if len(parts) == 3 and parts[0] in PART_LABELS:
        return f"{PART_LABELS[parts[0]]} #{parts[1]}: {ATTRIBUTE_LABELS.get(parts[2], parts[2])}"
    return path


# -- validation -----------------------------------------------------------------------------


def _municipality(session: Session) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        code = (value or "").strip()
        if not code:
            return None
        if session.get(Municipality, code) is None:
            raise v.FieldError(_l("Comune sconosciuto: scegli un comune dall'elenco."))
        return code

    return check


def _ateco(session: Session) -> Callable[[Any], str | None]:
    has_codes = session.scalar(select(func.count()).select_from(AtecoCode)) or 0

    def check(value: Any) -> str | None:
        code = v.ateco_code(value)
        if code and has_codes and session.get(AtecoCode, code) is None:
            raise v.FieldError(_l("Codice ATECO sconosciuto nella classificazione ATECO 2025."))
        return code

    return check


def _required(fn: Callable[[Any], Any], message: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        result = fn(value)
        if result in (None, ""):
            raise v.FieldError(message)
        return result

    return check


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise v.FieldError(_l("Data non valida (gg/mm/aaaa).")) from None


def company_validators(session: Session) -> dict[str, Callable[[Any], Any]]:
    return {
        "tax_code": v.company_tax_code,
        "vat_number": v.vat_number,
        "name": lambda x: v.required_text(x, 300, _l("Inserisci la denominazione dell'impresa.")),
        "legal_form": lambda x: v.optional_text(x, 100),
        "rea_number": v.rea_number,
        "pec": lambda x: v.email(x, pec=True),
        "office_street": lambda x: v.optional_text(x, 300),
        "office_postcode": v.postcode,
        "office_municipality": _municipality(session),
    }


def part_validators(session: Session, part: str) -> dict[str, Callable[[Any], Any]]:
    if part == "local_units":
        return {
            "name": lambda x: v.required_text(x, 200, _l("Dai un nome all'unità locale.")),
            "street": lambda x: v.required_text(x, 300, _l("Inserisci l'indirizzo.")),
            "postcode": v.postcode,
            "municipality": _required(_municipality(session), _l("Scegli il comune.")),
            "ateco_code": _ateco(session),
        }
    if part == "activities":
        return {
            "ateco_code": _required(_ateco(session), _l("Inserisci il codice ATECO.")),
            "primary": bool,
        }
    if part == "representatives":
        return {
            "full_name": lambda x: v.required_text(x, 200, _l("Inserisci nome e cognome.")),
            "tax_code": v.person_tax_code,
            "role": lambda x: v.required_text(x, 100, _l("Inserisci la carica.")),
        }
    if part == "titles":
        return {
            "kind": lambda x: v.required_text(x, 200, _l("Inserisci il tipo di titolo.")),
            "number": lambda x: v.optional_text(x, 100),
            "issuer": lambda x: v.optional_text(x, 200),
            "valid_from": _date,
            "valid_until": _date,
            "local_unit_id": lambda x: int(x) if x not in (None, "", 0, "0") else None,
        }
    raise KeyError(part)


def clean(
    validators: dict[str, Callable[[Any], Any]], data: dict[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Validate ``data``; with ``partial`` only the keys given are checked."""
    unknown = set(data) - set(validators)
    errors: dict[str, Any] = {key: _l("Campo sconosciuto.") for key in unknown}
    result: dict[str, Any] = {}
    for key, check in validators.items():
        if partial and key not in data:
            continue
        try:
            result[key] = check(data.get(key))
        except v.FieldError as error:
            errors[key] = error.message
    if errors:
        raise DossierValidationError(errors)
    return result


# -- history --------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record(
    session: Session,
    company: Company,
    path: str,
    old: Any,
    new: Any,
    *,
    actor: User | None,
    source: str,
    source_ref: str | None,
) -> DossierChange:
    change = DossierChange(
        company_id=company.id,
        company_version=company.version,
        field_path=path,
        old_value=_json(old),
        new_value=_json(new),
        source=source,
        source_ref=source_ref,
        actor_id=actor.id if actor else None,
        changed_at=utcnow(),
    )
    session.add(change)
    return change


def changes_since(session: Session, company_id: int, version: int) -> list[DossierChange]:
    return list(
        session.scalars(
            select(DossierChange)
            .options(selectinload(DossierChange.actor))
            .where(DossierChange.company_id == company_id, DossierChange.company_version > version)
            .order_by(DossierChange.id)
        )
    )


def field_provenance(session: Session, company_id: int) -> dict[str, DossierChange]:
    """The latest change of every field path of the dossier, in one query."""
    latest = (
        select(func.max(DossierChange.id))
        .where(DossierChange.company_id == company_id)
        .group_by(DossierChange.field_path)
    )
    rows = session.scalars(
        select(DossierChange)
        .options(selectinload(DossierChange.actor))
        .where(DossierChange.id.in_(latest))
    )
    return {row.field_path: row for row in rows}


def company_history(
    session: Session, company_id: int, *, limit: int = 50, offset: int = 0
) -> list[DossierChange]:
    return list(
        session.scalars(
            select(DossierChange)
            .options(selectinload(DossierChange.actor))
            .where(DossierChange.company_id == company_id)
            .order_by(DossierChange.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def count_history(session: Session, company_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DossierChange)
            .where(DossierChange.company_id == company_id)
        )
        or 0
    )


# -- company --------------------------------------------------------------------------------

PART_MODELS: dict[str, type] = {
    "local_units": LocalUnit,
    "activities": CompanyActivity,
    "representatives": LegalRepresentative,
    "titles": Title,
}


def create_company(
    session: Session,
    *,
    actor: User,
    data: dict[str, Any],
    source: str = SOURCE_USER,
    source_ref: str | None = None,
) -> Company:
    """Create a dossier; the creator gets an owner mandate on it.

    ``data`` holds company fields and optionally lists under ``local_units``, ``activities``,
    ``representatives`` and ``titles`` (as fetched from the business register).
    """
    data = dict(data)
    parts = {name: data.pop(name, None) or [] for name in PART_MODELS}
    values = clean(company_validators(session), data, partial=False)
    if session.scalar(select(Company.id).where(Company.tax_code == values["tax_code"])):
        raise DossierValidationError(
            {"tax_code": _l("Esiste già un fascicolo per questo codice fiscale.")}
        )
    company = Company(**values)
    session.add(company)
    session.flush()
    for key, value in values.items():
        if value not in (None, ""):
            _record(
                session,
                company,
                key,
                None,
                value,
                actor=actor,
                source=source,
                source_ref=source_ref,
            )
    errors: dict[str, Any] = {}
    for name, items in parts.items():
        for index, item in enumerate(items):
            try:
                _add_part(
                    session, company, name, item, actor=actor, source=source, source_ref=source_ref
                )
            except DossierValidationError as error:
                errors.update({f"{name}.{index}.{k}": m for k, m in error.errors.items()})
    if errors:
        session.rollback()
        raise DossierValidationError(errors)
    session.add(
        Mandate(
            company_id=company.id,
            grantee_id=actor.id,
            kind=MANDATE_OWNER,
            scope="full",
            granted_by_id=actor.id,
            note="creator of the dossier",
        )
    )
    session.commit()
    return company


def _load_for_edit(
    session: Session, company_id: int, actor: User, expected_version: int
) -> Company:
    company = get_company_for(session, actor, company_id, need="edit")
    if company.version != expected_version:
        raise DossierConflict(company.version, changes_since(session, company_id, expected_version))
    return company


def _bump(session: Session, company: Company, expected_version: int) -> None:
    """Increment the dossier version; a concurrent save makes this flush fail, not overwrite."""
    company.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        current = session.get(Company, company.id)
        version = current.version if current else expected_version
        raise DossierConflict(
            version, changes_since(session, company.id, expected_version)
        ) from None


def update_company(
    session: Session,
    company_id: int,
    *,
    actor: User,
    expected_version: int,
    changes: dict[str, Any],
    source: str = SOURCE_USER,
    source_ref: str | None = None,
) -> Company:
    company = _load_for_edit(session, company_id, actor, expected_version)
    values = clean(company_validators(session), changes, partial=True)
    if "tax_code" in values and values["tax_code"] != company.tax_code:
        other = session.scalar(select(Company.id).where(Company.tax_code == values["tax_code"]))
        if other:
            raise DossierValidationError(
                {"tax_code": _l("Esiste già un fascicolo per questo codice fiscale.")}
            )
    diff = {
        k: (getattr(company, k), new) for k, new in values.items() if getattr(company, k) != new
    }
    if not diff:
        return company
    for key, (_old, new) in diff.items():
        setattr(company, key, new)
    _bump(session, company, expected_version)
    for key, (old, new) in diff.items():
        _record(session, company, key, old, new, actor=actor, source=source, source_ref=source_ref)
    session.commit()
    return company


# -- parts ----------------------------------------------------------------------------------


def _add_part(
    session: Session,
    company: Company,
    part: str,
    data: dict[str, Any],
    *,
    actor: User | None,
    source: str,
    source_ref: str | None,
) -> Any:
    values = clean(part_validators(session, part), data, partial=False)
    if part == "titles" and values.get("local_unit_id"):
        _check_unit(company, values["local_unit_id"])
    obj = PART_MODELS[part](company_id=company.id, **values)
    session.add(obj)
    session.flush()
    for key, value in values.items():
        if value not in (None, "", False):
            _record(
                session,
                company,
                f"{part}/{obj.id}/{key}",
                None,
                value,
                actor=actor,
                source=source,
                source_ref=source_ref,
            )
    return obj


def _check_unit(company: Company, unit_id: int) -> None:
    if unit_id not in {u.id for u in company.local_units}:
        raise DossierValidationError({"local_unit_id": _l("Unità locale sconosciuta.")})


def _get_part(session: Session, company: Company, part: str, part_id: int) -> Any:
    obj = session.get(PART_MODELS[part], part_id)
    if obj is None or obj.company_id != company.id:
        raise NoAccess(part_id)
    return obj


def add_part(
    session: Session,
    company_id: int,
    part: str,
    *,
    actor: User,
    expected_version: int,
    data: dict[str, Any],
    source: str = SOURCE_USER,
    source_ref: str | None = None,
) -> Any:
    company = _load_for_edit(session, company_id, actor, expected_version)
    _bump(session, company, expected_version)
    obj = _add_part(session, company, part, data, actor=actor, source=source, source_ref=source_ref)
    if part == "activities" and obj.primary:
        _single_primary(company, obj)
    session.commit()
    return obj


def _single_primary(company: Company, primary: CompanyActivity) -> None:
    for activity in company.activities:
        if activity is not primary and activity.primary:
            activity.primary = False


def update_part(
    session: Session,
    company_id: int,
    part: str,
    part_id: int,
    *,
    actor: User,
    expected_version: int,
    data: dict[str, Any],
    source: str = SOURCE_USER,
    source_ref: str | None = None,
) -> Any:
    company = _load_for_edit(session, company_id, actor, expected_version)
    obj = _get_part(session, company, part, part_id)
    values = clean(part_validators(session, part), data, partial=True)
    if part == "titles" and values.get("local_unit_id"):
        _check_unit(company, values["local_unit_id"])
    diff = {k: (getattr(obj, k), new) for k, new in values.items() if getattr(obj, k) != new}
    if not diff:
        return obj
    for key, (_old, new) in diff.items():
        setattr(obj, key, new)
    _bump(session, company, expected_version)
    for key, (old, new) in diff.items():
        _record(
            session,
            company,
            f"{part}/{obj.id}/{key}",
            old,
            new,
            actor=actor,
            source=source,
            source_ref=source_ref,
        )
    session.commit()
    return obj


def remove_part(
    session: Session,
    company_id: int,
    part: str,
    part_id: int,
    *,
    actor: User,
    expected_version: int,
    source: str = SOURCE_USER,
    source_ref: str | None = None,
) -> None:
    company = _load_for_edit(session, company_id, actor, expected_version)
    obj = _get_part(session, company, part, part_id)
    validators = part_validators(session, part)
    old_values = {key: getattr(obj, key) for key in validators}
    session.delete(obj)
    _bump(session, company, expected_version)
    for key, old in old_values.items():
        if old not in (None, "", False):
            _record(
                session,
                company,
                f"{part}/{part_id}/{key}",
                old,
                None,
                actor=actor,
                source=source,
                source_ref=source_ref,
            )
    session.commit()


def _named(part: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    def add(session: Session, company_id: int, **kw: Any) -> Any:
        return add_part(session, company_id, part, **kw)

    def update(session: Session, company_id: int, part_id: int, **kw: Any) -> Any:
        return update_part(session, company_id, part, part_id, **kw)

    def remove(session: Session, company_id: int, part_id: int, **kw: Any) -> None:
        remove_part(session, company_id, part, part_id, **kw)

    return add, update, remove


add_local_unit, update_local_unit, remove_local_unit = _named("local_units")
add_activity, update_activity, remove_activity = _named("activities")
add_representative, update_representative, remove_representative = _named("representatives")
add_title, update_title, remove_title = _named("titles")


# -- serialisation --------------------------------------------------------------------------


def _row(obj: Any, keys: Iterable[str]) -> dict[str, Any]:
    return {"id": obj.id, **{k: _json(getattr(obj, k)) for k in keys}}


def serialise_company(company: Company) -> dict[str, Any]:
    """The whole dossier as plain JSON-able data (API, snapshots at submission)."""
    return {
        "id": company.id,
        "version": company.version,
        **{key: getattr(company, key) for key in COMPANY_LABELS},
        "vat_check": {
            "valid": company.vat_check_valid,
            "checked_at": company.vat_checked_at.isoformat() if company.vat_checked_at else None,
            "reference": company.vat_check_ref,
        },
        "local_units": [
            _row(u, ("name", "street", "postcode", "municipality", "ateco_code", "active"))
            for u in company.local_units
        ],
        "activities": [_row(a, ("ateco_code", "primary")) for a in company.activities],
        "representatives": [
            _row(r, ("full_name", "tax_code", "role")) for r in company.representatives
        ],
        "titles": [
            _row(
                t,
                (
                    "kind",
                    "number",
                    "issuer",
                    "valid_from",
                    "valid_until",
                    "local_unit_id",
                    "procedure_id",
                ),
            )
            for t in company.titles
        ],
    }


# -- mandates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MandateView:
    mandate: Mandate
    active: bool


def list_mandates(session: Session, company_id: int, on: date | None = None) -> list[MandateView]:
    on = on or today_rome()
    rows = session.scalars(
        select(Mandate)
        .options(selectinload(Mandate.grantee))
        .where(Mandate.company_id == company_id)
        .order_by(Mandate.revoked_at.is_not(None), Mandate.granted_at.desc())
    )
    return [
        MandateView(m, m.revoked_at is None and (m.expires_on is None or m.expires_on >= on))
        for m in rows
    ]


def grant_mandate(
    session: Session,
    company_id: int,
    *,
    actor: User,
    grantee_email: str | None = None,
    grantee_tax_code: str | None = None,
    expires_on: date | None,
    scope: str = "full",
    mail_config: dict[str, Any] | None = None,
    link: str | None = None,
) -> Mandate:
    """A legal representative lets a person (by e-mail or tax code) act for the company."""
    company = get_company_for(session, actor, company_id, need="grant")
    email, tax_code = _validate_grant(grantee_email, grantee_tax_code, expires_on, scope)
    grantee = None
    if email:
        grantee = session.scalar(select(User).where(User.email == email))
    if grantee is None and tax_code:
        grantee = session.scalar(select(User).where(User.tax_code == tax_code))
    if grantee is not None and grantee.id == actor.id:
        raise DossierValidationError({"grantee_email": _l("Non puoi delegare te stesso.")})
    mandate = Mandate(
        company_id=company.id,
        grantee_id=grantee.id if grantee else None,
        grantee_email=email,
        grantee_tax_code=tax_code,
        kind=MANDATE_DELEGATE,
        scope=scope,
        granted_by_id=actor.id,
        expires_on=expires_on,
    )
    session.add(mandate)
    session.flush()
    subject = str(_l("Nuova delega per %(company)s", company=company.name))
    body = str(
        _l(
            "%(who)s ti ha delegato ad operare per %(company)s fino al %(until)s.",
            who=actor.full_name,
            company=company.name,
            until=expires_on.strftime("%d/%m/%Y") if expires_on else "-",
        )
    )
    if grantee is not None:
        notify(session, grantee.id, subject, body, link)
    session.commit()
    recipient = grantee.email if grantee else email
    if mail_config and recipient:
        from portale.mail import MailMessage, send

        send(MailMessage(to=(recipient,), subject=subject, body=body), mail_config)
    return mandate


def _validate_grant(
    grantee_email: str | None, grantee_tax_code: str | None, expires_on: date | None, scope: str
) -> tuple[str | None, str | None]:
    errors: dict[str, Any] = {}
    email = tax_code = None
    try:
        email = v.email(grantee_email)
    except v.FieldError as error:
        errors["grantee_email"] = error.message
    if grantee_tax_code:
        try:
            tax_code = v.person_tax_code(grantee_tax_code)
        except v.FieldError as error:
            errors["grantee_tax_code"] = error.message
    if not errors and not email and not tax_code:
        errors["grantee_email"] = _l("Indica l'e-mail o il codice fiscale della persona delegata.")
    if expires_on is None:
        errors["expires_on"] = _l("Indica la data di scadenza della delega.")
    elif expires_on < today_rome():
        errors["expires_on"] = _l("La scadenza non può essere nel passato.")
    if scope not in ("full", "read"):
        errors["scope"] = _l("Ambito della delega non valido.")
    if errors:
        raise DossierValidationError(errors)
    return email, tax_code


def revoke_mandate(session: Session, mandate_id: int, *, actor: User) -> None:
    mandate = session.get(Mandate, mandate_id)
    if mandate is None:
        raise NoAccess(mandate_id)
    get_company_for(session, actor, mandate.company_id, need="grant")
    if mandate.revoked_at is not None:
        return
    if mandate.kind == MANDATE_OWNER:
        owners = session.scalar(
            select(func.count())
            .select_from(Mandate)
            .where(
                Mandate.company_id == mandate.company_id,
                Mandate.kind == MANDATE_OWNER,
                Mandate.revoked_at.is_(None),
            )
        )
        if owners <= 1:
            raise DossierValidationError(
                {"mandate": _l("Non puoi revocare l'ultimo legale rappresentante.")}
            )
    mandate.revoked_at = utcnow()
    mandate.revoked_by_id = actor.id
    if mandate.grantee_id:
        company = session.get(Company, mandate.company_id)
        notify(
            session,
            mandate.grantee_id,
            str(_l("Delega revocata")),
            str(
                _l(
                    "La tua delega per %(company)s è stata revocata.",
                    company=company.name if company else "",
                )
            ),
        )
    session.commit()


# -- once-only write-back from procedures -----------------------------------------------------

_PART_OF_TARGET = {
    "unit": "local_units",
    "representative": "representatives",
    "activity": "activities",
}


def apply_declared_values(
    session: Session,
    company: Company,
    unit: LocalUnit | None,
    values: dict[str, Any],
    *,
    actor: User,
    procedure_id: int,
) -> list[DossierChange]:
    """Write values the user declared in procedure ``procedure_id`` back into the dossier.

    Provenance is "procedure", so the next form shows where the value came from. The caller's
    transaction commits (the submission).
    """
    from portale.dossier.models import SOURCE_PROCEDURE
    from portale.dossier.paths import resolve, target_object

    planned: list[tuple[Any, str, str, Any, Any]] = []
    errors: dict[str, Any] = {}
    for path, raw in values.items():
        target, attribute = resolve(path)
        obj = target_object(company, unit, target)
        if obj is None:
            continue
        if target == "company":
            validators, history_path = company_validators(session), attribute
        else:
            part = _PART_OF_TARGET[target]
            validators, history_path = (
                part_validators(session, part),
                f"{part}/{obj.id}/{attribute}",
            )
        try:
            new = clean({attribute: validators[attribute]}, {attribute: raw}, partial=True)[
                attribute
            ]
        except DossierValidationError as error:
            errors[path] = error.errors[attribute]
            continue
        old = getattr(obj, attribute)
        if old != new:
            planned.append((obj, attribute, history_path, old, new))
    if errors:
        raise DossierValidationError(errors)
    if not planned:
        return []
    for obj, attribute, _path, _old, new in planned:
        setattr(obj, attribute, new)
    company.updated_at = utcnow()
    session.flush()
    return [
        _record(
            session,
            company,
            path,
            old,
            new,
            actor=actor,
            source=SOURCE_PROCEDURE,
            source_ref=str(procedure_id),
        )
        for _obj, _attr, path, old, new in planned
    ]
