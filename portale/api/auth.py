"""Bearer-token authentication and JSON errors for the API blueprints.

Every API operation needs ``Authorization: Bearer pui_...`` (a token issued on
/account/token). :class:`TokenBlueprint` enforces it before any view runs, so a view
cannot be forgotten, and declares the ``bearerAuth`` scheme on each operation of the
OpenAPI document. Errors are JSON ``{code, status, message, errors?}`` in the request's
language (Italian unless the client asks otherwise through Accept-Language).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g, jsonify
from flask import request as flask_request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException, Unauthorized

from portale.accounts.models import User
from portale.accounts.services import user_for_token
from portale.extensions import db

SECURITY = [{"bearerAuth": []}]


class ApiError(HTTPException):
    """An HTTP error with an explicit message, field errors and extra headers."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        errors: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code
        super().__init__(description=message)
        self.data = {"message": message, "errors": errors, "headers": headers or {}, **extra}


def _token_from_header() -> str | None:
    header = flask_request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate() -> None:
    """``before_request`` of every API blueprint: resolve the token to ``g.api_user``."""
    secret = _token_from_header()
    if secret is None:
        raise ApiError(
            401,
            _("Autenticazione richiesta: invia un token API nell'intestazione Authorization."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = user_for_token(db.session, secret)
    if user is None:
        raise ApiError(
            401,
            _("Token API non valido, scaduto o revocato."),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    # user_for_token records last_used_at; keep it even when the request only reads.
    db.session.commit()
    g.api_user = user


def current_api_user() -> User:
    user: User | None = g.get("api_user")
    if user is None:  # only reachable if a view runs outside a TokenBlueprint
        raise Unauthorized()
    return user


def _plain(value: Any) -> Any:
    # Messages may be lazy strings (lazy_gettext); resolve them now, in the request's locale.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _field_errors(errors: Mapping[str, Any]) -> dict[str, Any]:
    # One shape for clients whatever raised the error: {field: [message, ...]}. (marshmallow
    # does not wrap lazy messages in a list, and services may give a single string.)
    shaped = _plain(errors)
    return {
        field: messages if isinstance(messages, list | dict) else [messages]
        for field, messages in shaped.items()
    }


def _validation_errors(messages: Mapping[str, Any]) -> dict[str, Any]:
    # webargs nests errors by location ({"json": {...}, "query": {...}}); clients want the
    # field names, as in the errors raised by the services.
    flat: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, Mapping):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """JSON body ``{code, status, message, errors?}`` for every HTTP error of the API."""
    data: dict[str, Any] = dict(getattr(error, "data", None) or {})
    code = error.code or 500
    payload: dict[str, Any] = {"code": code, "status": error.name}
    errors = data.pop("errors", None)
    if errors is None and "messages" in data:  # raised by webargs on invalid input
        errors = _validation_errors(data.pop("messages"))
    payload["message"] = data.pop("message", None) or _default_message(code, error)
    if errors:
        payload["errors"] = _field_errors(errors)
    headers = data.pop("headers", None) or {}
    data.pop("exc", None)
    data.pop("schema", None)
    payload.update(_plain({k: v for k, v in data.items() if not k.startswith("_")}))
    response = jsonify(payload)
    response.status_code = code
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _default_message(code: int, error: HTTPException) -> str:
    messages = {
        400: _("Richiesta non valida."),
        403: _("Operazione non consentita."),
        404: _("Risorsa non trovata."),
        405: _("Metodo non consentito."),
        409: _("Conflitto con lo stato attuale della risorsa."),
        412: _("La versione indicata non corrisponde."),
        415: _("Il corpo della richiesta deve essere JSON."),
        422: _("Dati non validi: controlla i campi indicati."),
        428: _("Precondizione richiesta."),
        500: _("Errore interno: riprova più tardi."),
    }
    return messages.get(code, error.description or error.name)


class TokenBlueprint(Blueprint):
    """A flask-smorest blueprint whose every operation needs a bearer token."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(authenticate)
        self.register_error_handler(HTTPException, handle_http_error)
        # flask-smorest builds each operation's document through these callbacks.
        self._prepare_doc_cbks.append(self._prepare_security_doc)

    @staticmethod
    def _prepare_security_doc(
        doc: dict[str, Any], doc_info: dict[str, Any], **_kwargs: Any
    ) -> dict[str, Any]:
        doc.setdefault("security", SECURITY)
        doc.setdefault("responses", {}).setdefault("401", "UNAUTHORIZED")
        return doc
