"""From the business register's JSON (Italian field names) to :class:`CompanyRecord`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.base import Activity, Address, CompanyRecord, RegisteredUnit, Representative

_ADDRESS = {
    "type": "object",
    "required": ["indirizzo", "codiceComuneIstat"],
    "properties": {
        "indirizzo": {"type": "string", "minLength": 1},
        "cap": {"type": ["string", "null"], "pattern": "^[0-9]{5}$"},
        "codiceComuneIstat": {"type": "string", "pattern": "^[0-9]{6}$"},
    },
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["codiceFiscale", "denominazione", "sedeLegale"],
    "properties": {
        "codiceFiscale": {"type": "string", "pattern": "^([0-9]{11}|[A-Z0-9]{16})$"},
        "partitaIva": {"type": ["string", "null"], "pattern": "^[0-9]{11}$"},
        "denominazione": {"type": "string", "minLength": 1},
        "formaGiuridica": {
            "type": ["object", "null"],
            "properties": {"descrizione": {"type": "string"}},
        },
        "rea": {
            "type": ["object", "null"],
            "properties": {"provincia": {"type": "string"}, "numero": {"type": "string"}},
        },
        "pec": {"type": ["string", "null"]},
        "sedeLegale": _ADDRESS,
        "unitaLocali": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["denominazione", "indirizzo"],
                "properties": {
                    "denominazione": {"type": "string"},
                    "indirizzo": _ADDRESS,
                    "codiceAteco": {"type": ["string", "null"]},
                },
            },
        },
        "attivita": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["codiceAteco"],
                "properties": {
                    "codiceAteco": {"type": "string"},
                    "prevalente": {"type": "boolean"},
                },
            },
        },
        "persone": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["nome", "cognome", "codiceFiscale", "carica"],
                "properties": {
                    "nome": {"type": "string"},
                    "cognome": {"type": "string"},
                    "codiceFiscale": {"type": "string"},
                    "carica": {"type": "string"},
                },
            },
        },
    },
}


def _address(raw: dict[str, Any]) -> Address:
    return Address(
        street=raw["indirizzo"],
        postcode=raw.get("cap"),
        municipality_istat=raw["codiceComuneIstat"],
    )


def to_record(body: dict[str, Any], *, source: str) -> CompanyRecord:
    rea = body.get("rea") or {}
    return CompanyRecord(
        tax_code=body["codiceFiscale"],
        vat_number=body.get("partitaIva"),
        name=body["denominazione"],
        legal_form=(body.get("formaGiuridica") or {}).get("descrizione"),
        rea_number=f"{rea['provincia']}-{rea['numero']}"
        if rea.get("provincia") and rea.get("numero")
        else None,
        pec=body.get("pec"),
        registered_office=_address(body["sedeLegale"]),
        local_units=tuple(
            RegisteredUnit(
                name=u["denominazione"],
                address=_address(u["indirizzo"]),
                ateco_code=u.get("codiceAteco"),
            )
            for u in body.get("unitaLocali", [])
        ),
        activities=tuple(
            Activity(a["codiceAteco"], bool(a.get("prevalente"))) for a in body.get("attivita", [])
        ),
        representatives=tuple(
            Representative(f"{p['nome']} {p['cognome']}", p["codiceFiscale"], p["carica"])
            for p in body.get("persone", [])
        ),
        source=source,
        fetched_at=datetime.now(UTC),
    )
