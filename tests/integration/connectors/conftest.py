from __future__ import annotations

import pytest

from connectors.fakes.server import start_fake_services
from connectors.http import reset_breakers


@pytest.fixture(scope="session")
def fakes():
    services = start_fake_services()
    yield services
    services.stop()


@pytest.fixture(autouse=True)
def healthy(fakes):
    """Every test starts with healthy services and closed breakers."""
    for behaviour in (fakes.tokens.behaviour, fakes.register.behaviour, fakes.vies.behaviour):
        behaviour.mode, behaviour.requests, behaviour.slow_seconds = "ok", 0, 3.0
    reset_breakers()
    yield
    reset_breakers()
