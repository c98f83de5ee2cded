"""The public transparency page "Tempi dei procedimenti" and its open-data downloads.

No login: everything shown is aggregated (:mod:`portale.reports.opendata`), with groups too
small to be anonymous left out. Pages and files may be cached: the figures change only as
procedures close, and the page carries nothing about the person unless they are logged in.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user

from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db
from portale.reports import opendata
from portale.reports.filters import InvalidFilter, parse_filter

bp = Blueprint("transparency", __name__, url_prefix="/tempi")

PAGE_MAX_AGE = 600
DOWNLOAD_MAX_AGE = 3600
# The public downloads take only these parameters (no office, no authority).
DOWNLOAD_PARAMS = ("dal", "al", "tipo", "comune")


def _cache(response: Response, max_age: int) -> Response:
    # A logged-in person sees their name in the header, and a first visit sets a session
    # cookie (the CSRF token of the page's forms): neither may go into a shared cache.
    app = current_app._get_current_object()
    personal = current_user.is_authenticated or app.session_interface.should_set_cookie(
        app, session
    )
    scope = "private" if personal else "public"
    response.headers["Cache-Control"] = f"{scope}, max-age={max_age}"
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@bp.get("/")
def index() -> Response:
    today = local_date(utcnow())
    flt = parse_filter({}, today=today)  # the last 12 months
    tipo = request.args.get("tipo") or None
    comune = request.args.get("comune") or None
    times = opendata.public_times(db.session, flt, type_code=tipo, municipality=comune)
    html = render_template(
        "transparency/index.html",
        times=times,
        flt=flt,
        tipo=tipo,
        comune=comune,
        min_group=opendata.MIN_GROUP,
        download_params={k: v for k, v in (("tipo", tipo), ("comune", comune)) if v},
    )
    return _cache(Response(html, mimetype="text/html"), PAGE_MAX_AGE)


def _dataset() -> opendata.OpenDataSet | Response:
    args = {k: request.args[k] for k in DOWNLOAD_PARAMS if request.args.get(k)}
    try:
        flt = parse_filter(args, today=local_date(utcnow()))
    except InvalidFilter as error:
        lines = [_("Parametri non validi:")] + [f"{k}: {v}" for k, v in error.errors.items()]
        return Response("\n".join(lines) + "\n", status=400, mimetype="text/plain")
    granularity = request.args.get("periodo") or "quarter"
    if granularity not in opendata.GRANULARITIES:
        message = _("Periodo non valido: usa year, quarter, month o period.")
        return Response(message + "\n", status=400, mimetype="text/plain")
    return opendata.aggregate(db.session, flt, granularity=granularity)


def _download(body: str, mimetype: str, extension: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="tempi-procedimenti.{extension}"'
    )
    response.headers["Cache-Control"] = f"public, max-age={DOWNLOAD_MAX_AGE}"
    response.expires = utcnow() + timedelta(seconds=DOWNLOAD_MAX_AGE)
    return response


@bp.get("/opendata.csv")
def opendata_csv() -> Response:
    dataset = _dataset()
    if isinstance(dataset, Response):
        return dataset
    return _download(opendata.to_csv(dataset), "text/csv; charset=utf-8", "csv")


@bp.get("/opendata.json")
def opendata_json() -> Response:
    dataset = _dataset()
    if isinstance(dataset, Response):
        return dataset
    return _download(opendata.to_json(dataset), "application/json", "json")
