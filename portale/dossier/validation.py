"""Checks on dossier values, shared by the web forms, the API and the services.

Each function returns the normalised value or raises :class:`FieldError` with an Italian
message (lazy, so it is translated when shown).
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from stdnum.it import codicefiscale, iva


class FieldError(ValueError):
    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message


def company_tax_code(value: str) -> str:
    """A company's tax code: 11 digits (with check digit) or a person's 16-character code."""
    v = re.sub(r"\s", "", value or "").upper()
    if not v:
        raise FieldError(_l("Inserisci il codice fiscale dell'impresa."))
    if v.isdigit():
        if len(v) != 11 or not iva.is_valid(v):
            raise FieldError(
                _l("Codice fiscale non valido: 11 cifre con la cifra di controllo corretta.")
            )
        return v
    return person_tax_code(v)


def person_tax_code(value: str) -> str:
    v = re.sub(r"\s", "", value or "").upper()
    if len(v) != 16 or not codicefiscale.is_valid(v):
        raise FieldError(_l("Codice fiscale non valido: controlla le 16 lettere e cifre."))
    return v


def vat_number(value: str | None) -> str | None:
    v = re.sub(r"\s", "", value or "").upper().removeprefix("IT")
    if not v:
        return None
    if len(v) != 11 or not v.isdigit() or not iva.is_valid(v):
        raise FieldError(_l("Partita IVA non valida: 11 cifre con la cifra di controllo corretta."))
    return v


def required_text(value: str | None, max_len: int, message: Any) -> str:
    v = (value or "").strip()
    if not v:
        raise FieldError(message)
    if len(v) > max_len:
        raise FieldError(_l("Testo troppo lungo (massimo %(n)d caratteri).", n=max_len))
    return v


def optional_text(value: str | None, max_len: int) -> str | None:
    v = (value or "").strip()
    if len(v) > max_len:
        raise FieldError(_l("Testo troppo lungo (massimo %(n)d caratteri).", n=max_len))
    return v or None


def rea_number(value: str | None) -> str | None:
    v = (value or "").strip().upper().replace(" ", "")
    if not v:
        return None
    if not re.fullmatch(r"[A-Z]{2}-?\d{1,7}", v):
        raise FieldError(
            _l("Numero REA non valido: sigla della provincia e numero, es. TO-1234567.")
        )
    return v if "-" in v else f"{v[:2]}-{v[2:]}"


def postcode(value: str | None) -> str | None:
    v = (value or "").strip()
    if not v:
        return None
    if not re.fullmatch(r"\d{5}", v):
        raise FieldError(_l("CAP non valido: 5 cifre."))
    return v


def email(value: str | None, *, pec: bool = False) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    v = (value or "").strip()
    if not v:
        return None
    try:
        return validate_email(v, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        if pec:
            raise FieldError(_l("Indirizzo PEC non valido.")) from None
        raise FieldError(_l("Indirizzo e-mail non valido.")) from None


def ateco_code(value: str | None, known: set[str] | None = None) -> str | None:
    v = (value or "").strip()
    if not v:
        return None
    if not re.fullmatch(r"\d{2}(\.\d{1,2}){0,3}", v):
        raise FieldError(_l("Codice ATECO non valido: formato 00.00.00."))
    if known is not None and v not in known:
        raise FieldError(_l("Codice ATECO sconosciuto nella classificazione ATECO 2025."))
    return v
