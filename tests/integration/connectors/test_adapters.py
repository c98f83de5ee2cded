"""Adapters against fake services that speak the real protocols on loopback."""

from __future__ import annotations

import jwt
import pytest
from stdnum.it import codicefiscale, iva

from connectors.base import (
    ConnectorMalformedResponse,
    ConnectorRejected,
    ConnectorUnavailable,
    NotFound,
)
from connectors.business_register import BusinessRegisterConnector
from connectors.fakes.data import COMPANIES
from connectors.fakes.server import _keypair
from connectors.http import breaker
from connectors.registry import ConnectorRegistry, DuplicateConnector, settings_from_env
from connectors.vies import ViesConnector


@pytest.fixture
def register(fakes):
    return BusinessRegisterConnector(fakes.connector_settings()["business_register"])


def test_company_fetched_with_a_pdnd_voucher_and_mapped(register, fakes):
    record = register.fetch_company("11850450013")
    assert record.name == "Pasticceria Rossi S.r.l." and record.rea_number == "TO-1301133"
    assert record.registered_office.municipality_istat == "001156"
    assert [a.ateco_code for a in record.activities if a.primary] == ["10.71.20"]
    data = record.as_dossier_data()
    assert data["representatives"][0]["full_name"] == "Marco Rossi"
    assert data["local_units"][0]["municipality"] == "001156"


def test_voucher_is_cached_between_calls(register, fakes):
    register.fetch_company("11850450013")
    register.fetch_company("11850440014")
    assert fakes.tokens.behaviour.requests == 1 and fakes.register.behaviour.requests == 2


def test_assertion_signed_with_another_key_is_refused(fakes):
    settings = {**fakes.connector_settings()["business_register"], "private_key": _keypair()[0]}
    with pytest.raises(ConnectorRejected):
        BusinessRegisterConnector(settings).fetch_company("11850450013")


def test_client_assertion_carries_the_pdnd_claims(register, fakes):
    token = register.vouchers.assertion()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["kid"] == "portale-demo-key" and header["alg"] == "RS256"
    assert (
        claims["iss"] == claims["sub"] == "portale-demo"
        and claims["jti"]
        and claims["exp"] > claims["iat"]
    )


def test_unknown_tax_code_is_not_found(register):
    with pytest.raises(NotFound):
        register.fetch_company("00000000000")


@pytest.mark.parametrize(
    "mode,error",
    [
        ("down", ConnectorUnavailable),
        ("error", ConnectorUnavailable),
        ("malformed", ConnectorMalformedResponse),
    ],
)
def test_failures_are_mapped(register, fakes, mode, error):
    register.vouchers.voucher()
    fakes.register.behaviour.mode = mode
    with pytest.raises(error):
        register.fetch_company("11850450013")


def test_slow_service_times_out_as_unavailable(fakes):
    settings = {**fakes.connector_settings()["vies"], "timeout": "0.3"}
    fakes.vies.behaviour.mode, fakes.vies.behaviour.slow_seconds = "slow", 1.0
    with pytest.raises(ConnectorUnavailable, match="timed out"):
        ViesConnector(settings).check_vat("IT", "11850450013")


def test_breaker_opens_after_repeated_failures_and_fails_fast(fakes):
    vies = ViesConnector(fakes.connector_settings()["vies"])
    fakes.vies.behaviour.mode = "down"
    for _ in range(breaker("vies").fail_max):
        with pytest.raises(ConnectorUnavailable):
            vies.check_vat("IT", "11850450013")
    seen = fakes.vies.behaviour.requests
    with pytest.raises(ConnectorUnavailable, match="circuit open"):
        vies.check_vat("IT", "11850450013")
    assert fakes.vies.behaviour.requests == seen  # the dead service was not called again


def test_vies_answers_valid_and_invalid(fakes):
    vies = ViesConnector(fakes.connector_settings()["vies"])
    ok = vies.check_vat("IT", "11850450013")
    assert ok.valid and ok.name == "PASTICCERIA ROSSI S.R.L." and ok.consultation_number
    assert not vies.check_vat("IT", "00000010011").valid
    fakes.vies.behaviour.mode = "malformed"
    with pytest.raises(ConnectorMalformedResponse):
        vies.check_vat("IT", "11850450013")


def test_demo_companies_have_valid_codes():
    for code, company in COMPANIES.items():
        assert iva.is_valid(code) and company["partitaIva"] == code
        for person in company["persone"]:
            assert codicefiscale.is_valid(person["codiceFiscale"])


def test_registry_loads_entry_points_refuses_duplicates_and_reads_settings():
    registry = ConnectorRegistry()
    registry.load_entry_points()
    assert {"business_register", "vies"} <= set(registry.identifiers())

    class Impostor(ViesConnector):
        identifier = "vies"

    with pytest.raises(DuplicateConnector):
        registry.register(Impostor)
    env = {
        "PORTALE_CONNECTOR_VIES_BASE_URL": "http://x",
        "PORTALE_CONNECTOR_VIES_TIMEOUT": "3",
        "OTHER": "1",
    }
    assert settings_from_env(env, "vies") == {"base_url": "http://x", "timeout": "3"}
    registry.configure_from_env(env)
    assert [c.identifier for c in registry.enabled("vat_check")] == ["vies"]
    assert registry.enabled("company_lookup") == []
    assert registry.get("business_register").check_config()
