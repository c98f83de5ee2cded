"""SSU endpoints the portal serves to third-party authorities (``bo_to_et.yaml``): the
callbacks and the instance documents. Thin: authenticate, call the service, answer."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from portale.extensions import db
from portale.external import ssu_inbound as inbound

bp = Blueprint("ssu", __name__)
OPERATIONS = ("request_integration", "request_cdss", "send_conclusions", "retry")


def _settings() -> dict[str, Any]:
    return dict(current_app.config.get("SSU_INBOUND") or {})


def _error(error: inbound.InboundError, extra: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(error.body()),
        status=error.status,
        mimetype="application/json",
        headers=extra or {},
    )


@bp.after_request
def sign_response(response: Response) -> Response:
    """Every answer carries the portal's ``Agid-JWT-Signature`` over its body, as the
    specification's responses do, when the ``ssu`` connector has the portal's key."""
    from connectors import modi
    from portale.procedures.jobs import registry_for

    enabled = {
        c.identifier: c for c in registry_for(current_app.config).enabled("authority_dispatch")
    }
    adapter = enabled.get("ssu")
    key = getattr(getattr(adapter, "vouchers", None), "private_key", None)
    if not key or response.direct_passthrough:
        return response
    from connectors.base import ConfigurationError
    from connectors.ssu import signing_certificate

    try:
        certificate = signing_certificate(adapter.settings)
    except ConfigurationError:
        certificate = None  # the kid variant: the check at start-up says what is missing
    response.headers.update(
        modi.sign(
            response.get_data(),
            private_key=key,
            kid=adapter.vouchers.kid,
            issuer=adapter.vouchers.client_id,
            audience=g.get("ssu_client_id") or "ssu",
            content_type=response.mimetype or "application/json",
            certificate=certificate,
        )
    )
    return response


def callback(operation: str) -> Response:
    raw = request.get_data(cache=True)
    try:
        authority = inbound.authenticate(
            db.session, body=raw, headers=request.headers, settings=_settings()
        )
        g.ssu_client_id = authority.ssu_client_id
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise inbound.InboundError(400, "BAD_REQUEST", "body is not JSON") from error
        inbound.handle(db.session, authority, operation, body)
    except inbound.InboundError as error:
        db.session.rollback()
        return _error(error)
    return Response(status=200)


for _operation in OPERATIONS:
    bp.add_url_rule(
        f"/{_operation}",
        endpoint=_operation,
        view_func=lambda _op=_operation: callback(_op),
        methods=["POST"],
    )


@bp.get("/instance/<cui_uuid>/document/<resource_id>")
def document(cui_uuid: str, resource_id: str) -> Response:
    from portale.storage import storage_from_config

    try:
        authority = inbound.authenticate(
            db.session, body=b"", headers=request.headers, settings=_settings()
        )
        g.ssu_client_id = authority.ssu_client_id
        attachment = inbound.document_for(db.session, authority, cui_uuid, resource_id)
        inbound.check_precondition(request.headers.get("If-Match"), attachment.sha256)
        content = storage_from_config(current_app.config).read(attachment.storage_key)
        size = len(content)
        try:
            span = inbound.byte_range(request.headers.get("Range"), size)
        except inbound.InboundError as error:
            return _error(error, {"Content-Range": f"bytes */{size}"})
    except inbound.InboundError as error:
        return _error(error)
    headers = {"ETag": f'"{attachment.sha256}"', "Accept-Ranges": "bytes"}
    if span is None:
        return Response(base64.b64encode(content), 200, mimetype="text/plain", headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(
        base64.b64encode(content[first : last + 1]), 206, mimetype="text/plain", headers=headers
    )
