"""The fake SPID/CIE federation wired to the test app, and a browser that logs in through it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from flask import Flask
from flask.testing import FlaskClient

from connectors import oidc
from connectors.fakes.oidc_federation import (
    DEMO_IDENTITIES,
    DemoIdentity,
    FakeFederation,
    FakeProvider,
    RoutingTransport,
    start_fake_federation,
)
from portale.accounts import oidc_views

PORTAL = "http://localhost"


def rp_keys() -> dict[str, Any]:
    return {
        "federation_key": oidc.generate_jwk("sig"),
        "signing_key": oidc.generate_jwk("sig"),
        "encryption_key": oidc.generate_jwk("enc"),
    }


_KEYS = rp_keys()  # RSA generation is slow: once per test process


@contextmanager
def federation_for(app: Flask, timeout: float = 1.0) -> Iterator[FakeFederation]:
    """Start the fake federation, onboard the test app as its relying party, restore after."""
    fake = start_fake_federation(transport=RoutingTransport({PORTAL: httpx.WSGITransport(app=app)}))
    federation_key = oidc.load_key(_KEYS["federation_key"], "sig")
    marks = fake.register_relying_party(PORTAL, {"keys": [oidc.public_jwk(federation_key)]})
    previous = (app.config.get("OIDC"), app.config.get("LOGIN_METHODS"))
    settings = {
        "entity_id": PORTAL,
        **fake.portal_settings(),
        **_KEYS,
        "trust_marks": marks,
        "acr": oidc.SPID_LEVELS[1],
        "timeout": timeout,
        "organization_name": "Portale Unico delle Imprese (test)",
    }
    settings["spid_providers"] = [fake.spid.entity_id, fake.rogue.entity_id]
    app.config["LOGIN_METHODS"] = ("spid", "cie", "password")
    oidc_views.configure(app, settings)
    try:
        yield fake
    finally:
        app.config["OIDC"], app.config["LOGIN_METHODS"] = previous
        app.extensions.pop(oidc_views.EXTENSION, None)
        fake.stop()


def provider_of(fake: FakeFederation, flavour: str) -> FakeProvider:
    return {"spid": fake.spid, "cie": fake.cie, "rogue": fake.rogue}[flavour]


def start(client: FlaskClient, fake: FakeFederation, flavour: str = "spid", next: str = ""):  # noqa: A002
    provider = provider_of(fake, flavour)
    url = f"/oidc/accedi/{'cie' if flavour == 'cie' else 'spid'}"
    if flavour != "cie":
        url += f"?op={provider.entity_id}"
    if next:
        url += ("&" if "?" in url else "?") + f"next={next}"
    return client.get(url)


def pick(location: str, identity: DemoIdentity) -> str:
    """At the provider: open the identity page, pick ``identity``; the redirect back."""
    page = httpx.get(location, timeout=5)
    assert page.status_code == 200, page.text[:300]
    txn = re.search(r'name="txn" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    back = httpx.post(
        action, data={"txn": txn, "identity": str(DEMO_IDENTITIES.index(identity))}, timeout=5
    )
    assert back.status_code == 302, back.text[:300]
    return back.headers["Location"]


def callback_url(
    client: FlaskClient, fake: FakeFederation, identity: DemoIdentity, flavour: str = "spid"
) -> str:
    response = start(client, fake, flavour)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return pick(response.headers["Location"], identity)


def sign_in(
    client: FlaskClient, fake: FakeFederation, identity: DemoIdentity, flavour: str = "spid"
):
    """The whole round trip; the portal's answer to the provider's redirect back."""
    return client.get(callback_url(client, fake, identity, flavour))
