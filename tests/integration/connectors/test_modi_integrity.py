"""ModI INTEGRITY_REST_01 as the SSU specification names it: the certificate in ``x5c`` (a
``kid`` variant by configuration), ``Digest`` and ``Content-Digest`` (RFC 9530) both sent and
either accepted, and the authority's answers verified before a dispatch counts as delivered."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import time_machine

from connectors import modi
from connectors.base import ConfigurationError
from connectors.fakes.server import _certificate, _keypair
from connectors.ssu import SsuAuthorityConnector, signing_certificate
from portale.cases.routing import DISPATCH_JOB
from portale.outbox.models import DONE, RETRYING
from tests.integration.connectors.support import (
    drain,
    file_with,
    jobs_of,
    make_due,
    ssu_authority,
)

BODY = json.dumps({"cui": {"uuid": "x"}}).encode()


@pytest.fixture
def filed(session, tmp_path, app, wired):
    authority = ssu_authority(wired)
    world, procedure = file_with(session, tmp_path, authorities=[authority])
    return world, procedure, authority


@pytest.fixture(scope="module")
def keys():
    private, public = _keypair()
    return private, public, _certificate(private, "portale-test")


def signed(keys, **overrides):
    private, _public, certificate = keys
    args = {
        "private_key": private,
        "kid": "k1",
        "issuer": "portale",
        "audience": "https://ente.example",
        "certificate": certificate,
        **overrides,
    }
    return modi.sign(BODY, **args)


def test_the_signature_carries_the_certificate_in_x5c(keys):
    _private, public, certificate = keys
    headers = signed(keys)
    jose = jwt.get_unverified_header(headers[modi.HEADER])
    assert "kid" not in jose and jose["typ"] == "JWT" and jose["alg"] == "RS256"
    assert jose["x5c"] == modi.certificate_chain(certificate)
    assert base64.b64decode(jose["x5c"][0])  # DER, base64 (RFC 7515 4.1.6)
    claims = modi.verify(BODY, headers, public, audience="https://ente.example", issuer="portale")
    assert {"digest", "content-digest", "content-type"} == {
        name for item in claims["signed_headers"] for name in item
    }


def test_a_certificate_for_another_key_is_refused_even_if_self_consistent(keys):
    other_private, _other_public = _keypair()
    forged = modi.sign(
        BODY,
        private_key=other_private,
        kid="k1",
        issuer="portale",
        audience="https://ente.example",
        certificate=_certificate(other_private, "portale-test"),
    )
    with pytest.raises(modi.SignatureError, match="not the one trusted"):
        modi.verify(BODY, forged, keys[1])


def test_the_kid_variant_is_a_configuration(keys, fakes):
    headers = signed(keys, certificate=None)
    assert jwt.get_unverified_header(headers[modi.HEADER])["kid"] == "k1"
    settings = {**fakes.connector_settings()["ssu"], "signature_key_reference": "kid"}
    assert signing_certificate(settings) is None
    without = {k: v for k, v in fakes.connector_settings()["ssu"].items() if k != "certificate"}
    with pytest.raises(ConfigurationError, match="x5c"):
        signing_certificate(without)
    assert any("x5c" in p for p in SsuAuthorityConnector(without).check_config())
    with pytest.raises(ConfigurationError):
        signing_certificate({**settings, "signature_key_reference": "x5u"})


def test_both_digest_headers_are_sent_and_either_is_accepted(keys):
    public = keys[1]
    headers = signed(keys)
    assert headers[modi.DIGEST] == modi.digest(BODY)
    assert headers[modi.CONTENT_DIGEST].startswith("sha-256=:") and headers[
        modi.CONTENT_DIGEST
    ].endswith(":")
    only_new = {k: v for k, v in headers.items() if k != modi.DIGEST}
    only_old = {k: v for k, v in headers.items() if k != modi.CONTENT_DIGEST}
    for variant in (headers, only_new, only_old):
        modi.verify(BODY, variant, public)
        with pytest.raises(modi.SignatureError, match="does not match"):
            modi.verify(BODY + b" ", variant, public)
    # a Content-Digest header that disagrees with the signed one is refused too
    wrong = {**headers, modi.CONTENT_DIGEST: modi.content_digest(b"other")}
    with pytest.raises(modi.SignatureError, match="content digest"):
        modi.verify(BODY, wrong, public)


def test_a_peer_signing_with_only_content_digest_is_verified(keys):
    """A sender on RFC 9530 alone: signs content-digest and sends no Digest header."""
    private, public, _certificate_pem = keys
    claims = {
        "aud": "x",
        "iat": 2_000_000_000 - 10,
        "exp": 2_000_000_000 + 10**6,
        "jti": "j",
        "signed_headers": [{"content-digest": modi.content_digest(BODY)}],
    }
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k"})
    headers = {modi.HEADER: token, modi.CONTENT_DIGEST: modi.content_digest(BODY)}
    with time_machine.travel(2_000_000_000, tick=False):
        modi.verify(BODY, headers, public)
        bare = jwt.encode({**claims, "signed_headers": []}, private, algorithm="RS256")
        unsigned_digest = {modi.HEADER: bare}
        with pytest.raises(modi.SignatureError, match="no digest"):
            modi.verify(BODY, unsigned_digest, public)


@pytest.mark.parametrize("mode", ["unsigned", "tampered"])
def test_an_unsigned_or_tampered_answer_is_not_a_delivery(session, app, wired, filed, mode):
    _world, procedure, _authority = filed
    wired.authority.behaviour.mode = mode
    drain(app)
    [job] = jobs_of(session, procedure, DISPATCH_JOB)
    assert job.status == RETRYING
    assert "answer is refused" in job.last_error
    wired.authority.behaviour.mode = "ok"
    make_due(session, job)
    drain(app)
    [job] = jobs_of(session, procedure, DISPATCH_JOB)
    assert job.status == DONE
    # the authority acted once: the same Idempotency-Key both times
    assert {r.key for r in wired.authority.received} == {job.idempotency_key}
