"""Error types every area raises and every entry point (web, API, jobs) answers the same way."""

from __future__ import annotations

from typing import Any


class NotFound(LookupError):
    """No such object for this user: answered 404, never 403."""


class ActionNotAllowed(ValueError):
    """The action cannot be taken now; ``message`` says why, in the user's language."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)
