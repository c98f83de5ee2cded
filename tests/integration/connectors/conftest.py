from __future__ import annotations

import pytest

from connectors.fakes.server import start_fake_services
from connectors.http import reset_breakers
from portale.outbox import services as outbox_services


@pytest.fixture(scope="session")
def fakes():
    services = start_fake_services()
    yield services
    services.stop()


@pytest.fixture(autouse=True)
def healthy(fakes):
    """Every test starts with healthy services and closed breakers."""
    for behaviour in (
        fakes.tokens.behaviour,
        fakes.register.behaviour,
        fakes.vies.behaviour,
        fakes.durc.behaviour,
        fakes.protocol.behaviour,
        fakes.authority.behaviour,
    ):
        behaviour.mode, behaviour.requests, behaviour.slow_seconds = "ok", 0, 3.0
    fakes.pec.mode = "ok"
    fakes.authority.received.clear()
    fakes.authority.refused.clear()
    fakes.authority.deliveries.clear()
    reset_breakers()
    outbox_services.reset_breakers()
    yield
    reset_breakers()
    outbox_services.reset_breakers()


@pytest.fixture
def wired(app, fakes, tmp_path, monkeypatch):
    """The app's connectors pointed at the fakes; SSU callbacks verified with their keys."""
    monkeypatch.setitem(app.config, "CONNECTORS", fakes.connector_settings())
    monkeypatch.setitem(app.config, "SSU_INBOUND", fakes.ssu_inbound(audience="http://localhost"))
    monkeypatch.setitem(app.config, "STORAGE_PATH", str(tmp_path))
    return fakes
