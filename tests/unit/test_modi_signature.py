"""ModI INTEGRITY_REST_01: the Agid-JWT-Signature binds the body, the signer and the audience."""

from __future__ import annotations

import pytest

from connectors import modi
from connectors.fakes.server import _keypair

PRIVATE, PUBLIC = _keypair()
OTHER_PRIVATE, _ = _keypair()
BODY = b'{"cui":{"uuid":"x"}}'


def signed(body=BODY, key=PRIVATE, audience="https://portale.example"):
    return modi.sign(body, private_key=key, kid="k", issuer="ente", audience=audience)


def test_a_signed_body_verifies_and_names_its_digest():
    claims = modi.verify(BODY, signed(), PUBLIC, audience="https://portale.example", issuer="ente")
    assert {"digest": modi.digest(BODY)} in claims["signed_headers"]


@pytest.mark.parametrize(
    "headers,body",
    [
        ({}, BODY),  # unsigned
        (signed(key=OTHER_PRIVATE), BODY),  # forged
        (signed(), BODY + b" "),  # tampered
        (signed(audience="https://altro.example"), BODY),  # meant for someone else
        ({"Agid-JWT-Signature": "not.a.jws"}, BODY),
    ],
)
def test_anything_else_is_refused(headers, body):
    with pytest.raises(modi.SignatureError):
        modi.verify(body, headers, PUBLIC, audience="https://portale.example")
