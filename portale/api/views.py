"""Registers the API blueprints of every area under /api/v1."""

from __future__ import annotations

from flask_smorest import Blueprint


def blueprints() -> list[Blueprint]:
    return []
