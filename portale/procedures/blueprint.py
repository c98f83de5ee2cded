"""The procedures blueprint (``/pratiche``): the filing pages (:mod:`.views`) and the company's
answers to the back office (:mod:`.answers`) put their routes on it; :mod:`.routes` gathers
both for the app factory."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("procedures", __name__, url_prefix="/pratiche")

# Form field names of the attachment inputs: ``allegato__<slot>``.
FILE_PREFIX = "allegato__"
