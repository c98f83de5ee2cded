"""Dossier paths: the names procedure forms use to bind a field to dossier data (once-only).

``company.*`` reads the company, ``unit.*`` the premises chosen for the procedure, and
``representative.*`` the company's first legal representative.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from portale.dossier.models import Company, LocalUnit

# path -> (target, attribute, label)
_PATHS: dict[str, tuple[str, str, Any]] = {
    "company.tax_code": ("company", "tax_code", _l("Codice fiscale dell'impresa")),
    "company.vat_number": ("company", "vat_number", _l("Partita IVA")),
    "company.name": ("company", "name", _l("Denominazione")),
    "company.legal_form": ("company", "legal_form", _l("Forma giuridica")),
    "company.rea_number": ("company", "rea_number", _l("Numero REA")),
    "company.pec": ("company", "pec", _l("PEC dell'impresa")),
    "company.registered_office.street": ("company", "office_street", _l("Sede legale: indirizzo")),
    "company.registered_office.postcode": ("company", "office_postcode", _l("Sede legale: CAP")),
    "company.registered_office.municipality": (
        "company",
        "office_municipality",
        _l("Sede legale: comune"),
    ),
    "company.ateco_primary": ("activity", "ateco_code", _l("Codice ATECO prevalente")),
    "unit.name": ("unit", "name", _l("Unità locale: nome")),
    "unit.street": ("unit", "street", _l("Unità locale: indirizzo")),
    "unit.postcode": ("unit", "postcode", _l("Unità locale: CAP")),
    "unit.municipality": ("unit", "municipality", _l("Unità locale: comune")),
    "unit.ateco": ("unit", "ateco_code", _l("Unità locale: codice ATECO")),
    "representative.full_name": ("representative", "full_name", _l("Legale rappresentante")),
    "representative.tax_code": (
        "representative",
        "tax_code",
        _l("Codice fiscale del legale rappresentante"),
    ),
    "representative.role": ("representative", "role", _l("Carica del legale rappresentante")),
}

DOSSIER_PATHS: dict[str, Any] = {path: label for path, (_t, _a, label) in _PATHS.items()}


def resolve(path: str) -> tuple[str, str]:
    """(target, attribute) of a dossier path; KeyError for an unknown one."""
    target, attribute, _label = _PATHS[path]
    return target, attribute


def target_object(company: Company, unit: LocalUnit | None, target: str) -> Any:
    if target == "company":
        return company
    if target == "unit":
        return unit
    if target == "representative":
        return company.representatives[0] if company.representatives else None
    if target == "activity":
        primary = [a for a in company.activities if a.primary]
        return (primary or company.activities or [None])[0]
    raise KeyError(target)


def read_path(company: Company, unit: LocalUnit | None, path: str) -> str | None:
    target, attribute = resolve(path)
    obj = target_object(company, unit, target)
    return getattr(obj, attribute) if obj is not None else None
