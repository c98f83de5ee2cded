"""The SSU calls authorities make to the portal (``bo_to_et.yaml``), without Flask.

An authority proves who it is twice: a PDND voucher (a JWT signed by the platform, naming its
client id, which identifies the :class:`Authority`) and the ModI ``Agid-JWT-Signature`` over
the body, verified with that authority's public key. Then the body is validated against the
specification, the procedure found by its CUI, and the authority must have been consulted
on it; anything else answers as if the procedure did not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import modi, ssu_schemas
from portale.accounts.models import Authority
from portale.cases.models import Attachment, OpinionRequest, Procedure
from portale.cases.routing import DISPATCH_JOB
from portale.outbox.models import OutboxJob

AUTHORITY_INTEGRATION_REQUEST = "authority_integration_request"
CDSS_REQUESTED = "cdss_requested"
CONCLUSION_OUTCOMES = {
    "positive_outcome": ("favourable", "positive_outcome"),
    "conformation_requested": ("conformation_requested", "conformation_requested"),
    "suspension_requested": ("suspension_requested", "negative_outcome_motivation"),
}


class InboundError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _bearer(headers: Mapping[str, str]) -> str:
    value = headers.get("Authorization") or ""
    if not value.startswith("Bearer ") or not value[7:].strip():
        raise InboundError(401, "UNAUTHORIZED", "bearer voucher missing")
    return value[7:].strip()


def authenticate(
    session: Session, *, body: bytes, headers: Mapping[str, str], settings: Mapping[str, Any]
) -> Authority:
    """The authority the voucher and the signature both prove; :class:`InboundError` 401 else."""
    key = settings.get("voucher_public_key")
    if not key:
        raise InboundError(503, "NOT_CONFIGURED", "SSU inbound interface not configured")
    try:
        voucher = jwt.decode(
            _bearer(headers),
            key,
            algorithms=["RS256"],
            issuer=settings.get("voucher_issuer"),
            options={"verify_aud": False, "require": ["exp", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise InboundError(401, "UNAUTHORIZED", f"voucher not valid: {error}") from error
    client_id = voucher.get("client_id") or voucher.get("sub")
    authority = session.scalar(
        select(Authority).where(Authority.ssu_client_id == client_id, Authority.active.is_(True))
    )
    if authority is None or not authority.ssu_public_key:
        raise InboundError(401, "UNAUTHORIZED", "unknown client")
    try:
        modi.verify(
            body,
            headers,
            authority.ssu_public_key,
            audience=settings.get("audience") or None,
            issuer=client_id,
        )
    except modi.SignatureError as error:
        raise InboundError(401, "UNAUTHORIZED", str(error)) from error
    return authority


def consulted_procedure(session: Session, authority: Authority, cui_uuid: str) -> Procedure:
    """The procedure with this CUI, if ``authority`` was asked about it (404 otherwise)."""
    procedure = session.scalar(select(Procedure).where(Procedure.cui_uuid == cui_uuid))
    if procedure is not None and _consulted(session, authority, procedure):
        return procedure
    raise InboundError(404, "NOT_FOUND", "no instance with this CUI for this administration")


def _dispatch_jobs(session: Session, authority: Authority, procedure: Procedure) -> list[OutboxJob]:
    jobs = session.scalars(
        select(OutboxJob)
        .where(OutboxJob.procedure_id == procedure.id, OutboxJob.handler == DISPATCH_JOB)
        .order_by(OutboxJob.id)
    )
    return [j for j in jobs if (j.payload or {}).get("authority") == authority.code]


def _consulted(session: Session, authority: Authority, procedure: Procedure) -> bool:
    asked = session.scalar(
        select(OpinionRequest.id).where(
            OpinionRequest.procedure_id == procedure.id,
            OpinionRequest.authority_id == authority.id,
        )
    )
    return asked is not None or bool(_dispatch_jobs(session, authority, procedure))


def handle(session: Session, authority: Authority, operation: str, body: Any) -> None:
    """Validate and apply one callback; commits. :class:`InboundError` says what went wrong."""
    schema = ssu_schemas.INBOUND.get(operation)
    if schema is None:
        raise InboundError(404, "NOT_FOUND", operation)
    problems = ssu_schemas.errors(body, schema)
    if problems:
        raise InboundError(400, "BAD_REQUEST", "; ".join(problems[:5]))
    cui = body if operation == "request_cdss" else body["cui"]
    try:
        procedure = consulted_procedure(session, authority, cui["uuid"])
    except InboundError as error:
        # The callbacks declare 200, 400, 401, 500 and 503 only (bo_to_et.yaml): an instance
        # this administration does not know of is a bad request, never a 404.
        raise InboundError(400, "UNKNOWN_INSTANCE", error.message) from error
    HANDLERS[operation](session, authority, procedure, body)


def _send_conclusions(
    session: Session, authority: Authority, procedure: Procedure, body: dict[str, Any]
) -> None:
    from portale.backoffice.consultations import give_opinion
    from portale.errors import ActionNotAllowed

    outcome, text_field = CONCLUSION_OUTCOMES[body["conclusions_type"]]
    opinion = session.scalar(
        select(OpinionRequest)
        .where(
            OpinionRequest.procedure_id == procedure.id,
            OpinionRequest.authority_id == authority.id,
            OpinionRequest.answered_at.is_(None),
        )
        .order_by(OpinionRequest.requested_at.desc())
        .limit(1)
    )
    if opinion is None:
        raise InboundError(400, "NO_OPEN_REQUEST", "no opinion is pending from this administration")
    text = body[text_field]
    if body["conclusions_type"] == "conformation_requested":
        text = f"{text} (entro il {body['date']})"
    document = (
        {
            "key": f"ssu:{authority.code}:{body['resource_id']}",
            "name": body["resource_id"],
            "sha256": body.get("hash"),
        }
        if body.get("resource_id")
        else None
    )
    try:
        give_opinion(
            session,
            opinion.id,
            outcome=outcome,
            text=text,
            actor_id=None,
            via="ssu",
            document=document,
        )
    except ActionNotAllowed as error:
        session.rollback()
        raise InboundError(400, "NOT_ALLOWED", error.message) from error


def _request_integration(
    session: Session, authority: Authority, procedure: Procedure, body: dict[str, Any]
) -> None:
    from portale.cases.services import record

    texts = [
        request["request"]
        for item in body["integration_list"]
        for request in item["integration_request"]
        if request.get("request")
    ]
    documents = [
        {"resource_id": d.get("resource_id"), "hash": d.get("hash"), "alg_hash": d.get("alg_hash")}
        for d in body.get("integration_document_list") or []
    ]
    record(
        session,
        procedure,
        AUTHORITY_INTEGRATION_REQUEST,
        actor_id=None,
        payload={
            "authority": authority.code,
            "text": "\n".join(texts),
            "documents": documents,
            "items": [{"code": i["code"], "ref": i["ref"]} for i in body["integration_list"]],
            "via": "ssu",
        },
    )
    session.commit()


def _request_cdss(
    session: Session, authority: Authority, procedure: Procedure, body: dict[str, Any]
) -> None:
    from portale.cases.services import record

    # The SSU message carries only the CUI: the reasons come with the authority's documents.
    record(
        session,
        procedure,
        CDSS_REQUESTED,
        actor_id=None,
        payload={"authority": authority.code, "reason": "", "via": "ssu"},
    )
    session.commit()


def _retry(
    session: Session, authority: Authority, procedure: Procedure, body: dict[str, Any]
) -> None:
    from portale.outbox.services import resend

    wanted = {"send_instance": {"send_instance", "opinion_request"}, "notify": {"notify"}}
    jobs = [
        j
        for j in _dispatch_jobs(session, authority, procedure)
        if (j.payload or {}).get("message", "send_instance") in wanted[body["operation"]]
    ]
    if not jobs:
        raise InboundError(400, "NOTHING_TO_RETRY", f"no {body['operation']} sent for this CUI")
    resend(session, jobs[-1].id)


HANDLERS = {
    "send_conclusions": _send_conclusions,
    "request_integration": _request_integration,
    "request_cdss": _request_cdss,
    "retry": _retry,
}


def document_for(session: Session, authority: Authority, cui_uuid: str, resource_id: str) -> Any:
    """The attachment (``att-<id>``) or act (``act-<id>``) of a procedure the authority was
    consulted on: anything with ``sha256`` and ``storage_key``."""
    from portale.cases.act_models import Act

    procedure = consulted_procedure(session, authority, cui_uuid)
    kind, _, number = resource_id.partition("-")
    model = {"att": Attachment, "act": Act}.get(kind)
    document = (
        session.scalar(
            select(model).where(model.id == int(number), model.procedure_id == procedure.id)
        )
        if model is not None and number.isdigit()
        else None
    )
    if document is None:
        raise InboundError(404, "NOT_FOUND", "no such document")
    return document


def check_precondition(if_match: str | None, sha256: str) -> None:
    if not if_match:
        raise InboundError(428, "PRECONDITION_REQUIRED", "If-Match with the resource hash needed")
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    if "*" not in tags and sha256 not in tags:
        raise InboundError(412, "PRECONDITION_FAILED", "the resource has another hash")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a single-part ``Range`` header; ``None`` for the whole resource."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise InboundError(416, "RANGE_NOT_SATISFIABLE", "only one byte range is supported")
    first_text, _, last_text = spec.strip().partition("-")
    try:
        if first_text == "":
            length = int(last_text)
            first, last = max(size - length, 0), size - 1
        else:
            first = int(first_text)
            last = min(int(last_text), size - 1) if last_text else size - 1
    except ValueError as error:
        raise InboundError(416, "RANGE_NOT_SATISFIABLE", "malformed range") from error
    if first >= size or first > last or first < 0:
        raise InboundError(416, "RANGE_NOT_SATISFIABLE", "range outside the resource")
    return first, last
