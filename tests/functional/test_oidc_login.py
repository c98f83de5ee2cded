"""SPID / CIE login through the fake federation: real signatures, encryption and trust chains."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from connectors.fakes.oidc_federation import CLERK, MARCO_ROSSI, NOBODY
from portale.accounts.identity_models import SecurityEvent
from portale.accounts.models import User
from tests.factories import UserFactory
from tests.oidc_support import PORTAL, callback_url, federation_for, sign_in, start


@pytest.fixture
def fake(app, session):
    with federation_for(app, timeout=0.5) as federation:
        yield federation


def _users(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


def _events(session, kind: str) -> int:
    return session.scalar(
        select(func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == kind)
    )


def _logged_in(client) -> bool:
    return client.get("/imprese/").status_code == 200


def test_entity_configuration_is_signed_with_the_federation_key(client, fake, app):
    response = client.get("/.well-known/openid-federation")
    assert response.content_type == "application/entity-statement+jwt"
    from connectors import oidc

    header, claims = oidc.unverified(response.data.decode())
    keys = KeySet.import_key_set(claims["jwks"])
    assert jwt.decode(response.data.decode(), keys).claims["iss"] == PORTAL
    assert header["typ"] == "entity-statement+jwt"
    rp = claims["metadata"]["openid_relying_party"]
    assert rp["token_endpoint_auth_method"] == "private_key_jwt"
    assert rp["redirect_uris"] == [PORTAL + "/oidc/callback"]
    assert {k["use"] for k in rp["jwks"]["keys"]} == {"sig", "enc"}
    assert claims["authority_hints"] == [fake.anchor.entity_id]
    assert claims["trust_marks"][0]["id"].endswith("/openid_relying_party/public/")


def test_login_page_offers_spid_with_its_providers_and_cie(client, fake):
    html = client.get("/account/accedi").get_data(as_text=True)
    assert "Entra con SPID" in html and "Entra con CIE" in html
    assert "Demo SPID Identity Provider" in html
    assert "IdP fuori federazione" not in html  # its chain does not verify: not offered


def test_request_object_is_signed_with_pkce_nonce_state_and_acr(client, fake, app):
    from urllib.parse import parse_qs, urlsplit

    from connectors import oidc

    location = start(client, fake).headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["code_challenge_method"] == "S256" and params["client_id"] == PORTAL
    _h, config = oidc.unverified(client.get("/.well-known/openid-federation").data.decode())
    keys = KeySet.import_key_set(config["metadata"]["openid_relying_party"]["jwks"])
    claims = jwt.decode(params["request"], keys).claims
    assert claims["acr_values"] == "https://www.spid.gov.it/SpidL2"
    assert claims["prompt"] == "consent login"
    assert len(claims["nonce"]) >= 32 and len(claims["state"]) >= 32
    assert claims["code_challenge"] == params["code_challenge"]
    assert claims["aud"][0] == fake.spid.entity_id


def test_first_spid_login_creates_an_account_by_tax_code_and_cie_finds_the_same(
    client, session, fake
):
    first = sign_in(client, fake, MARCO_ROSSI)
    assert first.headers["Location"].endswith("/oidc/primo-accesso")
    page = client.get("/oidc/primo-accesso").get_data(as_text=True)
    assert "RSSMRC70C12F335M" in page and "Crea il tuo account" in page
    done = client.post("/oidc/primo-accesso", data={"action": "create"})
    assert done.status_code == 302 and _logged_in(client)
    user = session.scalar(select(User).where(User.tax_code == "RSSMRC70C12F335M"))
    assert user.full_name == "Marco Rossi" and user.tax_code_verified_by == "spid"
    client.post("/account/esci")
    assert fake.spid.revoked, "logout revokes the access token at the provider"
    assert not _logged_in(client)
    again = sign_in(client, fake, MARCO_ROSSI, flavour="cie")
    assert again.status_code == 302 and _logged_in(client)
    assert (
        session.scalar(
            select(func.count()).select_from(User).where(User.tax_code == MARCO_ROSSI.tax_code)
        )
        == 1
    )


def test_existing_email_account_is_linked_once_with_its_password(client, session, fake):
    from tests.conftest import TEST_PASSWORD

    existing = UserFactory(email="paola@esempio.it")
    sign_in(client, fake, CLERK)
    wrong = client.post(
        "/oidc/primo-accesso",
        data={"action": "link", "email": "paola@esempio.it", "password": "sbagliata"},
    )
    assert "E-mail o password non corretti" in wrong.get_data(as_text=True)
    linked = client.post(
        "/oidc/primo-accesso",
        data={"action": "link", "email": "paola@esempio.it", "password": TEST_PASSWORD},
    )
    assert linked.status_code == 302
    existing = session.scalar(select(User).where(User.email == "paola@esempio.it"))
    assert existing.tax_code == CLERK.tax_code and existing.tax_code_verified_at is not None
    client.post("/account/esci")
    assert sign_in(client, fake, CLERK).status_code == 302 and _logged_in(client)


def _assert_refused(client, session, response, message: str, kind: str, users_before: int):
    html = response.get_data(as_text=True)
    assert response.status_code in (400, 503), html[:300]
    assert "Accesso non riuscito" in html and message in html
    assert not _logged_in(client)
    assert _users(session) == users_before
    assert _events(session, kind) == 1


@pytest.mark.parametrize(
    ("fault", "message", "kind"),
    [
        ("wrong_nonce", "nonce diverso", "login_nonce"),
        ("expired_id_token", "è scaduto", "login_expired"),
        ("tampered_id_token", "verifica della firma", "login_signature"),
        ("tampered_userinfo", "verifica della firma", "login_signature"),
        ("forged_userinfo", "verifica della firma", "login_signature"),
        ("expired_userinfo", "è scaduto", "login_expired"),
        ("plain_userinfo", "non sono arrivati cifrati", "login_encryption"),
        ("wrong_audience", "destinato a un altro servizio", "login_audience"),
        ("wrong_issuer", "soggetto diverso", "login_issuer"),
        ("down", "non risponde in questo momento", "login_unavailable"),
        ("slow", "non risponde in questo momento", "login_unavailable"),
    ],
)
def test_a_misbehaving_provider_gets_a_clear_page_and_no_session(
    client, session, fake, fault, message, kind
):
    before = _users(session)
    location = callback_url(client, fake, NOBODY)
    fake.spid.faults.add(fault)
    fake.spid.slow_seconds = 1.5
    _assert_refused(client, session, client.get(location), message, kind, before)


def test_replayed_state_and_replayed_or_wrong_code_are_refused(client, session, fake):
    UserFactory(
        tax_code=NOBODY.tax_code,
        tax_code_verified_at=__import__("datetime").datetime(
            2026, 1, 1, tzinfo=__import__("datetime").UTC
        ),
    )
    before = _users(session)
    location = callback_url(client, fake, NOBODY)
    assert client.get(location).status_code == 302
    client.post("/account/esci")
    _assert_refused(client, session, client.get(location), "già stata usata", "login_state", before)
    # A fresh state with the code already used, then with an invented code.
    fresh = callback_url(client, fake, NOBODY)
    state = fresh.split("state=")[1].split("&")[0]
    code = location.split("code=")[1].split("&")[0]
    replay = client.get(f"/oidc/callback?code={code}&state={state}")
    _assert_refused(client, session, replay, "non ha accettato il codice", "login_rejected", before)


def test_state_from_another_browser_is_refused(app, session, fake):
    attacker, victim = app.test_client(), app.test_client()
    location = callback_url(attacker, fake, NOBODY)
    before = _users(session)
    _assert_refused(victim, session, victim.get(location), "non è valida", "login_state", before)


def test_a_provider_outside_the_federation_is_refused(client, session, fake):
    before = _users(session)
    response = start(client, fake, flavour="rogue")
    _assert_refused(
        client, session, response, "non fa parte della federazione", "login_untrusted", before
    )


def test_a_provider_not_offered_by_the_portal_is_refused(client, session, fake):
    response = client.get("/oidc/accedi/spid?op=https://idp.sconosciuto.example")
    assert response.status_code == 400
    assert "non fa parte della federazione" in response.get_data(as_text=True)


def test_a_forged_provider_configuration_breaks_its_trust_chain(client, session, fake):
    fake.spid.faults.add("forged_configuration")
    response = start(client, fake)
    assert response.status_code == 400
    assert "catena di fiducia" in response.get_data(as_text=True)


def test_password_login_can_be_switched_off(client, session, app, fake):
    app.config["LOGIN_METHODS"] = ("spid", "cie")
    html = client.get("/account/accedi").get_data(as_text=True)
    assert "Entra con SPID" in html and 'type="password"' not in html
    user = UserFactory()
    assert (
        client.post("/account/accedi", data={"email": user.email, "password": "x"}).status_code
        == 404
    )
