"""The SSU instance descriptor of a filed procedure (instance-descriptor-schema.yaml): what
the portal sends to third-party authorities and other SUAP systems."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from portale.cases.models import Procedure
from portale.cases.terms import rules_for
from portale.clock.lifecycle import STATES as _SSU_STATES
from portale.clock.terms import times_for

DESCRIPTOR_VERSION = 1
REGIME_VERSION = "01.00.00"


def instance_hash(procedure: Procedure) -> str:
    body = json.dumps(
        {"answers": procedure.answers, "attachments": [a.sha256 for a in procedure.attachments]},
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def instance_descriptor(procedure: Procedure) -> dict[str, Any]:
    version = procedure.type_version
    ssu = (version.spec or {}).get("ssu") or {}
    competent = ssu.get("competent_administration") or {}
    if not isinstance(competent, dict):
        # The catalogue names the kind of administration (e.g. "SUAP"); the SSU object is the office.
        competent = {}
    office = procedure.office
    return {
        "version": DESCRIPTOR_VERSION,
        "cui": {
            "context": procedure.cui_context,
            "data": procedure.cui_date.isoformat(),
            "progressive": str(procedure.cui_progressive),
            "progressivo": str(procedure.cui_progressive),
            "uuid": procedure.cui_uuid,
        },
        "municipality": procedure.municipality,
        "legal_person": procedure.company.tax_code,
        "instance_status": [
            {"state": e.kind, "timestamp": e.at.isoformat()}
            for e in procedure.events
            if e.kind in _SSU_STATES
        ],
        "times": times_for(rules_for(procedure), procedure.received_on),
        "administrative_regime": {"id": procedure.regime, "version": REGIME_VERSION},
        "usecase_proceedings": [
            {
                "code": ssu.get("usecase") or ssu.get("proceeding") or procedure.type_code,
                "version": f"{version.version:02d}.00.00",
                "competent_administration": {
                    "ipacode": competent.get("ipacode") or f"suap_{office.code.lower()}",
                    "officecode": competent.get("officecode") or office.code,
                    "version": competent.get("version") or "01.00.00",
                    "description": competent.get("description") or office.name,
                },
                "instance": {
                    "ref": f"instance/{procedure.cui_uuid}",
                    "hash": instance_hash(procedure),
                    "alg_hash": "S256",
                },
            }
        ],
    }
