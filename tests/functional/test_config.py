"""Settings: production refuses to start without its secrets; CSRF guards every form."""

from __future__ import annotations

import pytest

from portale.config import ConfigError, load_settings


def test_production_without_secret_key_refuses_to_start():
    with pytest.raises(ConfigError, match="PORTALE_SECRET_KEY"):
        load_settings({"PORTALE_ENV": "production"})


def test_production_with_secret_key_uses_secure_cookies():
    settings = load_settings({"PORTALE_ENV": "production", "PORTALE_SECRET_KEY": "s3cret"})
    assert settings["SECRET_KEY"] == "s3cret" and settings["SESSION_COOKIE_SECURE"]


def test_database_url_and_connector_settings_come_from_the_environment():
    settings = load_settings(
        {
            "PORTALE_DATABASE_URL": "postgresql+psycopg://u@db/portale",
            "PORTALE_CONNECTOR_VIES_BASE_URL": "https://vies.example",
        }
    )
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@db/portale"
    assert settings["CONNECTOR_ENV"] == {"PORTALE_CONNECTOR_VIES_BASE_URL": "https://vies.example"}


def test_forms_without_csrf_token_are_refused(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/account/accedi", data={"email": "a@b.it", "password": "x"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Modulo scaduto" in response.get_data(as_text=True)


def test_messages_outside_a_request_are_italian(app):
    from flask_babel import lazy_gettext

    with app.app_context():
        assert str(lazy_gettext("Campo obbligatorio.")) == "Campo obbligatorio."
