"""Web views of the dossier area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dossier", __name__, url_prefix="/imprese")
