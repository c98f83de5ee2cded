"""Wires the connector registry into the app: adapters from entry points, settings from the
environment (``PORTALE_CONNECTOR_<ID>_<KEY>``) or, for tests and the demo, from the
``CONNECTORS`` config mapping."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from connectors.registry import ConnectorRegistry


def init_app(app: Flask) -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.load_entry_points()
    if app.config.get("CONNECTORS"):
        registry.configure(app.config["CONNECTORS"])
    else:
        registry.configure_from_env(app.config.get("CONNECTOR_ENV", {}))
    app.extensions["connectors"] = registry
    return registry


def connectors() -> ConnectorRegistry:
    return current_app.extensions["connectors"]


def configure(app: Flask, settings: dict[str, dict[str, Any]]) -> None:
    """Point the app's adapters at new endpoints (the demo's fake services)."""
    app.config["CONNECTORS"] = settings
    app.extensions["connectors"].configure(settings)
