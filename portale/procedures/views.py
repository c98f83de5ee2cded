"""Web views of the procedures area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("procedures", __name__, url_prefix="/pratiche")
