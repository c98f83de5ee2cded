"""Validation of the portal's pagoPA traffic against pagoPA's own OpenAPI documents.

The fake keeps every exchange; each request the portal sent and each answer the fake gave is
checked with openapi-core against ``shared/specs/pagopa`` (the documents are read unchanged;
only their ``servers`` entry is pointed at a test host, since the fake listens on loopback).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from connectors.pagopa import CHECKOUT_PATH, GPD_PATH, MBD_PATH, RECEIPTS_PATH

HOST = "http://pagopa.test"
SPECS = {
    "gpd": ("gpd.json", GPD_PATH),
    "receipts": ("gpd_payments.json", RECEIPTS_PATH),
    "checkout": ("checkout_v2.json", CHECKOUT_PATH),
    "mbd": ("e_bollo_20.json", MBD_PATH),
}


def spec_dir() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "specs" / "pagopa"
        if candidate.is_dir():
            return candidate
    pytest.fail("shared/specs/pagopa not found beside the repository")


def _python_patterns(node):
    """GPD's patterns are Java regexes: ``\\h`` (horizontal space) becomes space and tab."""
    if isinstance(node, dict):
        return {
            k: v.replace("\\h", " \\t")
            if k == "pattern" and isinstance(v, str)
            else _python_patterns(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


@cache
def openapi(api: str) -> OpenAPI:
    filename, prefix = SPECS[api]
    document = json.loads((spec_dir() / filename).read_text(encoding="utf-8"))
    document = _python_patterns(document)
    document["servers"] = [{"url": HOST + prefix}]
    # GPD gives the receipt as ``application/xml`` with schema ``type: string``: the XML text.
    config = Config(extra_media_type_deserializers={"application/xml": _text})
    return OpenAPI.from_dict(document, config=config)


def _text(data: bytes) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def validate_exchanges(exchanges) -> int:
    """Validate every API exchange; returns how many were checked (fails on the first error).

    Requests are always checked; answers too, except those of an injected failure mode.
    """
    checked = 0
    for ex in exchanges:
        if ex.api not in SPECS:
            continue
        prefix = SPECS[ex.api][1]
        headers = {
            k: v for k, v in ex.headers.items() if k.lower() not in ("host", "content-length")
        }
        builder = EnvironBuilder(
            method=ex.method,
            base_url=HOST,
            path=prefix + ex.path,
            query_string=ex.query,
            headers=headers,
            data=ex.body or None,
            content_type=ex.headers.get("Content-Type"),
        )
        request = WerkzeugOpenAPIRequest(Request(builder.get_environ()))
        response = WerkzeugOpenAPIResponse(
            Response(
                ex.response_body,
                status=ex.status,
                headers=ex.response_headers,
                mimetype=ex.response_type or None,
            )
        )
        spec = openapi(ex.api)
        try:
            spec.validate_request(request)
            if not ex.injected:
                spec.validate_response(request, response)
        except Exception as error:  # noqa: BLE001 - say which exchange broke the contract
            raise AssertionError(
                f"{ex.api} {ex.method} {ex.path} -> {ex.status}: {error!r}\n"
                f"request: {ex.body[:500]!r}\nresponse: {ex.response_body[:500]!r}"
            ) from error
        checked += 1
    return checked
