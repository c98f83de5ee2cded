"""The connector registry: adapters by identifier, switched on by configuration.

Adapters come from entry points (group ``portale.connectors``) so a new public database is a
new package, not a change in ``portale/``. Settings for adapter ``vies`` come from the
environment as ``PORTALE_CONNECTOR_VIES_BASE_URL``, ``..._TIMEOUT`` and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from connectors.base import Connector

GROUP = "portale.connectors"
PREFIX = "PORTALE_CONNECTOR_"


class DuplicateConnector(ValueError):
    pass


def settings_from_env(environ: Mapping[str, str], identifier: str) -> dict[str, str]:
    prefix = f"{PREFIX}{identifier.upper()}_"
    return {
        key[len(prefix) :].lower(): value
        for key, value in environ.items()
        if key.startswith(prefix)
    }


class ConnectorRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Connector]] = {}
        self._settings: dict[str, dict[str, Any]] = {}
        self._instances: dict[str, Connector] = {}

    def register(self, cls: type[Connector]) -> type[Connector]:
        existing = self._classes.get(cls.identifier)
        if existing is not None and existing is not cls:
            raise DuplicateConnector(
                f"connector {cls.identifier!r} is already registered by {existing!r}"
            )
        self._classes[cls.identifier] = cls
        return cls

    def load_entry_points(self, group: str = GROUP) -> None:
        for ep in entry_points(group=group):
            self.register(ep.load())

    def configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Settings per identifier; an adapter is enabled when it has settings."""
        self._settings = {k: dict(v) for k, v in settings.items()}
        self._instances.clear()

    def configure_from_env(self, environ: Mapping[str, str]) -> None:
        self.configure(
            {
                identifier: found
                for identifier in self._classes
                if (found := settings_from_env(environ, identifier))
            }
        )

    def identifiers(self) -> list[str]:
        return sorted(self._classes)

    def get(self, identifier: str) -> Connector:
        if identifier not in self._instances:
            cls = self._classes[identifier]
            self._instances[identifier] = cls(self._settings.get(identifier, {}))
        return self._instances[identifier]

    def enabled(self, capability: str) -> list[Connector]:
        return [
            self.get(identifier)
            for identifier, cls in sorted(self._classes.items())
            if cls.capability == capability and identifier in self._settings
        ]

    def first(self, capability: str) -> Connector | None:
        found = self.enabled(capability)
        return found[0] if found else None
