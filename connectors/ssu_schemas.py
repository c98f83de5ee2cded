"""JSON Schemas of the SSU messages between a SUAP back office (BO) and third-party
authorities (ET), written for this project from the national specification's OpenAPI
documents ``openAPI/bo_to_et.yaml`` (served by the BO: ``request_integration``,
``request_cdss``, ``send_conclusions``, ``retry``, the instance documents) and
``openAPI/et_to_bo.yaml`` (served by the ET: ``send_instance``, ``notify``, ``retry``), and from
``json-schema/instance-descriptor-schema.yaml`` (AgID, specifiche-tecniche-DPR-160-2010,
branch approved02, CC BY-NC-SA 4.0). The portal validates with these at run time; the tests
check the messages against the specification's own documents as well.
"""

from __future__ import annotations

from typing import Any

import jsonschema

HASH_ALGORITHMS = ["S256", "S384", "S512"]
_TEXT = {"type": "string", "minLength": 1}

CUI: dict[str, Any] = {
    "type": "object",
    "required": ["context", "data", "progressive", "uuid"],
    "properties": {
        "context": {"type": "string"},
        "data": {"type": "string", "format": "date"},
        "progressive": {"type": "string"},
        "progressivo": {"type": "string"},
        "uuid": {"type": "string"},
    },
}
ADMINISTRATION: dict[str, Any] = {
    "type": "object",
    "required": ["ipacode", "officecode", "version", "description"],
    "properties": {
        "ipacode": _TEXT,
        "officecode": _TEXT,
        "version": {"type": "string", "pattern": "[0-9]{2}.[0-9]{2}.[0-9]{2}"},
        "description": {"type": "string"},
    },
}
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_RESOURCE = {
    "resource_id": _TEXT,
    "hash": _TEXT,
    "alg_hash": {"type": "string", "enum": HASH_ALGORITHMS},
}

# -- served by the authority (et_to_bo.yaml): what the portal sends ----------------------------

SEND_INSTANCE: dict[str, Any] = {
    "type": "object",
    "required": ["cui", "instance_descriptor_version", "instance_index", "general_index"],
    "properties": {
        "cui": CUI,
        "instance_descriptor_version": {"type": "string"},
        "instance_index": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "ref", "resource_id", "hash", "alg_hash"],
                "properties": {"code": _TEXT, "ref": _TEXT, **_RESOURCE},
            },
        },
        "general_index": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "mime_type", "resource_id", "hash", "alg_hash"],
                "properties": {
                    "name": {
                        "type": "string",
                        "enum": [
                            "RICEVUTA_XML",
                            "RICEVUTA_PDF",
                            "SUAP_XML",
                            "SUAP_PDF",
                            "SUAP_REA_START_XML",
                            "SUAP_REA_UPDATE_XML",
                            "SUAP_REA_END_XML",
                            "COMUNICA_CUI_XML",
                            "COMUNICA_CUI_PDF",
                        ],
                    },
                    "mime_type": {"type": "string", "enum": ["application/xml", "application/pdf"]},
                    **_RESOURCE,
                },
            },
        },
    },
}
NOTIFY_EVENTS = [
    "end_by_proceeding_time_expired",
    "end_by_integration_times_expired",
    "end_by_submitter_cancel_requested",
    "integration_request_time_expired",
]
TRANSFER_OUTCOME_EVENTS = [
    "end_by_suspension_requested",
    "end_by_conformation_requested",
    "end_by_positive_outcome",
    "end_by_negative_outcome",
]
_NOTIFY_BASE = {
    "cui": CUI,
    "instance_descriptor_version": {"type": "string"},
}
NOTIFY: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["cui", "instance_descriptor_version", "event"],
            "properties": {**_NOTIFY_BASE, "event": {"type": "string", "enum": NOTIFY_EVENTS}},
        },
        {
            "type": "object",
            "required": ["cui", "instance_descriptor_version", "event"],
            "properties": {
                **_NOTIFY_BASE,
                "event": {"type": "string", "enum": TRANSFER_OUTCOME_EVENTS},
                **_RESOURCE,
            },
        },
        {
            "type": "object",
            "required": [
                "cui",
                "instance_descriptor_version",
                "event",
                "cdss_channel",
                "cdss_convocation",
            ],
            "properties": {
                **_NOTIFY_BASE,
                "event": {"type": "string", "enum": ["cdss_convened"]},
                "mime_type": _TEXT,
                "cdss_admin_act_filename": _TEXT,
                "cdss_channel": _TEXT,
                "cdss_convocation": {"type": "string", "format": "date", "minLength": 1},
            },
        },
    ]
}

# -- served by the portal (bo_to_et.yaml): what authorities send -------------------------------

RETRY: dict[str, Any] = {
    "type": "object",
    "required": ["cui", "operation"],  # the spec marks nothing required; without these it is moot
    "properties": {
        "cui": CUI,
        "operation": {"type": "string", "enum": ["send_instance", "notify"]},
        "error": ERROR,
    },
}
REQUEST_CDSS: dict[str, Any] = CUI
REQUEST_INTEGRATION: dict[str, Any] = {
    "type": "object",
    "required": ["cui", "instance_descriptor_version", "integration_list"],
    "properties": {
        "cui": CUI,
        "instance_descriptor_version": {"type": "string"},
        "integration_list": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "ref", "integration_request"],
                "properties": {
                    "code": _TEXT,
                    "ref": _TEXT,
                    "integration_request": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "request": {"type": "string"},
                                "requester_administration": ADMINISTRATION,
                            },
                        },
                    },
                },
            },
        },
        "integration_document_list": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"requester_administration": ADMINISTRATION, **_RESOURCE},
            },
        },
    },
}
_CONCLUSION_BASE = {"cui": CUI, "instance_descriptor_version": {"type": "string"}, **_RESOURCE}
SEND_CONCLUSIONS: dict[str, Any] = {
    "type": "object",
    "oneOf": [
        {
            "type": "object",
            "required": [
                "cui",
                "instance_descriptor_version",
                "negative_outcome_motivation",
                "conclusions_type",
            ],
            "properties": {
                **_CONCLUSION_BASE,
                "conclusions_type": {"type": "string", "enum": ["suspension_requested"]},
                "negative_outcome_motivation": _TEXT,
            },
        },
        {
            "type": "object",
            "required": [
                "cui",
                "instance_descriptor_version",
                "date",
                "conformation_requested",
                "conclusions_type",
            ],
            "properties": {
                **_CONCLUSION_BASE,
                "conclusions_type": {"type": "string", "enum": ["conformation_requested"]},
                "date": {"type": "string", "format": "date"},
                "conformation_requested": _TEXT,
            },
        },
        {
            "required": [
                "cui",
                "instance_descriptor_version",
                "positive_outcome",
                "conclusions_type",
            ],
            "properties": {
                **_CONCLUSION_BASE,
                "conclusions_type": {"type": "string", "enum": ["positive_outcome"]},
                "positive_outcome": _TEXT,
            },
        },
    ],
}

# -- the instance descriptor (instance-descriptor-schema.yaml), in the parts the portal fills --

STATES = [
    "started",
    "presented",
    "correction_requested",
    "corrected",
    "refused",
    "integration_requested",
    "ended_by_integration_times_expired",
    "integrated",
    "cdss_convened",
    "ended_by_suspension_requested",
    "ended_by_conformation_requested",
    "ended_by_proceeding_time_expired",
    "ended_by_positive_outcome",
    "ended_by_negative_outcome",
    "ended_by_submitter_cancel_requested",
]
DESCRIPTOR: dict[str, Any] = {
    "type": "object",
    "required": ["version", "municipality", "usecase_proceedings"],
    "properties": {
        "version": {"type": "integer"},
        "cui": CUI,
        "municipality": {"type": "string", "pattern": "^[0-9]{6}$"},
        "legal_person": {
            "type": "string",
            "pattern": "^[0-9]{11}|^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST]"
            "[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$",
        },
        "instance_status": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["state", "timestamp"],
                "properties": {
                    "state": {"type": "string", "enum": STATES},
                    "timestamp": {"type": "string", "format": "date-time"},
                },
            },
        },
        "administrative_regime": {
            "type": "object",
            "required": ["id", "version"],
            "properties": {
                "id": {
                    "type": "string",
                    "enum": ["SCIA", "AUTORIZZAZIONE", "SILENZIO-ASSENSO", "COMUNICAZIONE"],
                },
                "version": {"type": "string", "pattern": "[0-9]{2}.[0-9]{2}.[0-9]{2}"},
            },
        },
        "usecase_proceedings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "version", "competent_administration", "instance"],
                "properties": {
                    "code": _TEXT,
                    "version": _TEXT,
                    "competent_administration": ADMINISTRATION,
                    "instance": {
                        "type": "object",
                        "required": ["ref", "hash", "alg_hash"],
                        "properties": {
                            "ref": _TEXT,
                            "hash": _TEXT,
                            "alg_hash": {"type": "string", "enum": HASH_ALGORITHMS},
                        },
                    },
                },
            },
        },
    },
}

INBOUND = {
    "request_integration": REQUEST_INTEGRATION,
    "request_cdss": REQUEST_CDSS,
    "send_conclusions": SEND_CONCLUSIONS,
    "retry": RETRY,
}


def errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Readable problems of ``instance`` against ``schema`` (empty when it fits)."""
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
