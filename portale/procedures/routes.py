"""The procedures blueprint with every route on it, for the app factory."""

from __future__ import annotations

from portale.procedures import answers, views
from portale.procedures.blueprint import bp

__all__ = ["answers", "bp", "views"]
