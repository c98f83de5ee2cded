"""From the contribution-regularity e-service's JSON (Italian field names) to :class:`DurcResult`.

The answer names the company, the outcome (``REGOLARE`` / ``NON_REGOLARE``), the date the
certificate was issued, the end of its validity (120 days in the DURC On Line rules) and its
protocol number (``INPS_...`` or ``INAIL_...``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from connectors.base import DurcResult

OUTCOMES = {"REGOLARE": True, "NON_REGOLARE": False}

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "codiceFiscale",
        "esito",
        "dataEmissione",
        "scadenzaValidita",
        "numeroProtocollo",
    ],
    "properties": {
        "codiceFiscale": {"type": "string", "pattern": "^([0-9]{11}|[A-Z0-9]{16})$"},
        "esito": {"type": "string", "enum": sorted(OUTCOMES)},
        "dataEmissione": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "scadenzaValidita": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "numeroProtocollo": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}


def to_result(body: dict[str, Any]) -> DurcResult:
    """Map a validated answer; raises ``ValueError`` on impossible dates."""
    issued = date.fromisoformat(body["dataEmissione"])
    valid_until = date.fromisoformat(body["scadenzaValidita"])
    if valid_until < issued:
        raise ValueError("validity ends before the certificate was issued")
    return DurcResult(
        tax_code=body["codiceFiscale"],
        regular=OUTCOMES[body["esito"]],
        issued_on=issued,
        valid_until=valid_until,
        protocol=body["numeroProtocollo"],
    )
