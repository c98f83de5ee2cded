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
from portale.reports import dcat, legal_times, opendata, publication
from portale.reports.filters import InvalidFilter, parse_filter
from portale.reports.legal_times_chart import term_bars

bp = Blueprint("transparency", __name__, url_prefix="/tempi")

PAGE_MAX_AGE = 600
CHART_ROWS = 12  # more bars than this read better one office at a time
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
    conclusion = legal_times.legal_times(db.session, type_code=tipo)
    year = request.args.get("anno", type=int)
    if year not in conclusion.years:
        year = conclusion.years[0] if conclusion.years else None
    offices = sorted(
        {(r.codice_sportello, r.sportello) for r in conclusion.rows}, key=lambda o: o[1]
    )
    office = request.args.get("sportello") or None
    if office not in {code for code, _name in offices}:
        office = None
    chosen = [r for r in conclusion.rows if r.anno == year and office in (None, r.codice_sportello)]
    yearly = [r for r in chosen if r.trimestre is None]
    html = render_template(
        "transparency/index.html",
        times=times,
        conclusion=conclusion,
        year=year,
        yearly=yearly,
        quarterly=[r for r in chosen if r.trimestre is not None],
        offices=offices,
        office=office,
        conclusion_chart=(
            term_bars(yearly, year=year) if year and 0 < len(yearly) <= CHART_ROWS else None
        ),
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


def _settings() -> dcat.CatalogueSettings:
    return publication.settings_from_config(current_app.config)


def _download(
    body: str, mimetype: str, extension: str, name: str = "tempi-procedimenti"
) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    response.headers["Link"] = publication.link_header(_settings())
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
    described = publication.describedby(_settings(), publication.BY_MUNICIPALITY)
    dataset = opendata.OpenDataSet(dataset.rows, {**dataset.metadata, "describedBy": described})
    return _download(opendata.to_json(dataset), "application/json", "json")


@bp.get("/tempi-conclusione.csv")
def conclusion_csv() -> Response:
    times = legal_times.legal_times(db.session)
    return _download(legal_times.to_csv(times), "text/csv; charset=utf-8", "csv", CONCLUSION)


@bp.get("/tempi-conclusione.json")
def conclusion_json() -> Response:
    times = legal_times.legal_times(db.session)
    (info,) = [d for d in publication.DATASETS if d.name == publication.CONCLUSION_TIMES]
    metadata = {
        "title": info.title,
        "description": info.description,
        "license": opendata.LICENCE,
        "suppression": {
            "min_procedures": opendata.MIN_GROUP,
            "suppressed_groups": times.suppressed_groups,
        },
        "fields": legal_times.field_descriptions(),
        "describedBy": publication.describedby(_settings(), publication.CONCLUSION_TIMES),
    }
    body = legal_times.to_json(times, metadata)
    return _download(body, "application/json", "json", CONCLUSION)


CONCLUSION = "tempi-conclusione"
CATALOGUE_FORMATS = {"ttl": dcat.TURTLE, "jsonld": dcat.JSON_LD}


@bp.get("/catalogo", defaults={"extension": None})
@bp.get("/catalogo.<extension>")
def catalogue(extension: str | None) -> Response:
    """The DCAT-AP_IT catalogue at a stable address: ``.ttl``, ``.jsonld``, or by ``Accept``."""
    if extension is None:
        best = request.accept_mimetypes.best_match([dcat.TURTLE, dcat.JSON_LD], dcat.TURTLE)
        media_type = best or dcat.TURTLE
    elif extension in CATALOGUE_FORMATS:
        media_type = CATALOGUE_FORMATS[extension]
    else:
        return Response(_("Formato non disponibile: usa .ttl o .jsonld.") + "\n", status=404)
    graph = publication.catalogue(db.session, _settings(), today=local_date(utcnow()))
    response = Response(dcat.serialise(graph, media_type), mimetype=media_type)
    response.headers["Cache-Control"] = f"public, max-age={DOWNLOAD_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # harvesters and browsers alike
    response.vary.add("Accept")
    return response
