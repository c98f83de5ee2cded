"""Dossier pages: my companies, create, view with provenance, edit, parts, history, mandates.

Any company the user holds no active mandate for answers 404, whatever the route.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from portale.dossier import access, services
from portale.dossier.forms import (
    ActivityForm,
    CompanyForm,
    LocalUnitForm,
    MandateForm,
    RepresentativeForm,
    TitleForm,
    VersionForm,
)
from portale.extensions import db
from portale.reference.models import Municipality

bp = Blueprint("dossier", __name__, url_prefix="/imprese")

PART_FORMS = {
    "unita-locali": ("local_units", LocalUnitForm),
    "attivita": ("activities", ActivityForm),
    "rappresentanti": ("representatives", RepresentativeForm),
    "titoli": ("titles", TitleForm),
}
PART_TITLES = {
    "local_units": services.PART_LABELS["local_units"],
    "activities": services.PART_LABELS["activities"],
    "representatives": services.PART_LABELS["representatives"],
    "titles": services.PART_LABELS["titles"],
}
HISTORY_PAGE = 50


@bp.before_request
@login_required
def _require_login() -> None:
    return None


def _company(company_id: int, need: str = "read") -> Any:
    try:
        return access.get_company_for(db.session, current_user, company_id, need=need)
    except access.NoAccess:
        abort(404)


def _municipality_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Municipality.istat_code, Municipality.name).order_by(Municipality.name)
    ).all()
    return [("", "—")] + [(code, name) for code, name in rows]


def _apply_errors(form: Any, errors: dict[str, Any]) -> None:
    for key, message in errors.items():
        field = getattr(form, key.split(".")[-1], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(message)]
        else:
            flash(str(message), "error")


def _save_versioned(
    form: Any, save: Any, done_message: str, company_id: int
) -> tuple[Response | None, services.DossierConflict | None]:
    """Run a save that checks the dossier version. On a conflict the form keeps what the person
    typed and the page shows what changed meanwhile; on invalid data the errors go to the fields."""
    try:
        save(int(form.version.data or 0))
    except services.DossierConflict as error:
        db.session.rollback()
        form.version.data = error.current_version
        return None, error
    except services.DossierValidationError as error:
        db.session.rollback()
        _apply_errors(form, error.errors)
        return None, None
    flash(done_message, "success")
    return redirect(url_for("dossier.view", company_id=company_id)), None


@bp.get("/")
def index() -> str:
    companies = access.accessible_companies(db.session, current_user)
    return render_template("dossier/index.html", companies=companies)


@bp.route("/nuova", methods=["GET", "POST"])
def create() -> str | Response:
    form = CompanyForm()
    form.office_municipality.choices = _municipality_choices()
    if form.validate_on_submit():
        try:
            company = services.create_company(db.session, actor=current_user, data=form.values())
        except services.DossierValidationError as error:
            db.session.rollback()
            _apply_errors(form, error.errors)
        else:
            flash(_("Fascicolo creato. Ora aggiungi le unità locali e le attività."), "success")
            return redirect(url_for("dossier.view", company_id=company.id))
    return render_template("dossier/edit.html", form=form, company=None)


@bp.route("/da-registro", methods=["GET", "POST"])
def onboard() -> str | Response:
    """Onboarding by tax code: fetch from the business register, preview, confirm."""
    from portale.dossier import onboarding
    from portale.integrations import connectors

    tax_code = (request.form.get("tax_code") or "").strip()
    record = error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "confirm":
                company = onboarding.create_from_register(
                    db.session,
                    connectors(),
                    actor=current_user,
                    tax_code=tax_code,
                    seen=request.form.get("fingerprint", ""),
                )
                flash(_("Fascicolo creato con i dati del Registro delle Imprese."), "success")
                return redirect(url_for("dossier.view", company_id=company.id))
            record = onboarding.fetch_record(connectors(), tax_code)
        except onboarding.RecordChanged as changed:
            record, error = changed.record, changed.message
        except onboarding.OnboardingError as failure:
            error = failure.message
        except services.DossierValidationError as invalid:
            db.session.rollback()
            error = " ".join(str(m) for m in invalid.errors.values())
    names = (
        dict(db.session.execute(select(Municipality.istat_code, Municipality.name)).all())
        if record
        else {}
    )
    return render_template(
        "dossier/onboard.html",
        tax_code=tax_code,
        record=record,
        error=error,
        fingerprint=onboarding.fingerprint(record) if record else "",
        municipalities=names,
    )


@bp.route("/<int:company_id>/registro", methods=["GET", "POST"])
def refresh(company_id: int) -> str | Response:
    """Differences with the business register, field by field; only accepted ones are applied."""
    from portale.dossier import onboarding
    from portale.integrations import connectors

    _company(company_id, need="edit")
    if request.method == "POST":
        form = VersionForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            onboarding.apply_register_values(
                db.session,
                connectors(),
                actor=current_user,
                company_id=company_id,
                expected_version=form.version.data,
                accepted=request.form.getlist("accept"),
            )
        except services.DossierConflict:
            db.session.rollback()
            flash(
                _(
                    "Il fascicolo è stato modificato da un'altra persona: controlla i dati e riprova."
                ),
                "warning",
            )
        except (onboarding.OnboardingError, services.DossierValidationError) as failure:
            db.session.rollback()
            flash(
                str(getattr(failure, "message", None) or _("Dati del registro non validi.")),
                "error",
            )
        else:
            flash(_("Dati aggiornati dal Registro delle Imprese."), "success")
            return redirect(url_for("dossier.view", company_id=company_id))
    try:
        company, differences = onboarding.register_differences(
            db.session, connectors(), actor=current_user, company_id=company_id
        )
    except onboarding.OnboardingError as failure:
        flash(str(failure.message), "error")
        return redirect(url_for("dossier.view", company_id=company_id))
    return render_template("dossier/refresh.html", company=company, differences=differences)


@bp.post("/<int:company_id>/verifica-iva")
def check_vat(company_id: int) -> Response:
    from portale.dossier import onboarding
    from portale.integrations import connectors

    _company(company_id, need="edit")
    from flask_wtf import FlaskForm

    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        company = onboarding.check_vat(
            db.session, connectors(), actor=current_user, company_id=company_id
        )
    except onboarding.OnboardingError as failure:
        flash(str(failure.message), "error")
    else:
        if company.vat_check_valid:
            flash(_("Partita IVA valida secondo il VIES."), "success")
        else:
            flash(_("Il VIES non riconosce questa partita IVA come valida."), "warning")
    return redirect(url_for("dossier.view", company_id=company_id))


@bp.get("/<int:company_id>")
def view(company_id: int) -> str:
    company = _company(company_id)
    provenance = services.field_provenance(db.session, company_id)
    mandate = access.active_mandate(db.session, current_user, company_id)
    municipalities = (
        dict(db.session.execute(select(Municipality.istat_code, Municipality.name)).all())
        if company.local_units or company.office_municipality
        else {}
    )
    return render_template(
        "dossier/view.html",
        company=company,
        prov=provenance,
        mandate=mandate,
        can_edit=mandate is not None and mandate.scope != "read",
        can_grant=mandate is not None and mandate.kind == "legal_representative",
        municipalities=municipalities,
        delete_form=VersionForm(),
    )


@bp.route("/<int:company_id>/modifica", methods=["GET", "POST"])
def edit(company_id: int) -> str | Response:
    company = _company(company_id, need="edit")
    form = CompanyForm(obj=company if request.method == "GET" else None)
    form.office_municipality.choices = _municipality_choices()
    if request.method == "GET":
        form.version.data = company.version
    conflict = None
    if form.validate_on_submit():
        done, conflict = _save_versioned(
            form,
            lambda version: services.update_company(
                db.session,
                company_id,
                actor=current_user,
                expected_version=version,
                changes=form.values(),
            ),
            _("Dati dell'impresa salvati."),
            company_id,
        )
        if done is not None:
            return done
    return render_template(
        "dossier/edit.html",
        form=form,
        company=company,
        conflict=conflict,
        field_label=services.field_label,
    )


@bp.route("/<int:company_id>/<kind>/nuova", methods=["GET", "POST"])
def add_part(company_id: int, kind: str) -> str | Response:
    if kind not in PART_FORMS:
        abort(404)
    part, form_class = PART_FORMS[kind]
    company = _company(company_id, need="edit")
    form = form_class()
    if hasattr(form, "municipality"):
        form.municipality.choices = _municipality_choices()
    if hasattr(form, "local_unit_id"):
        form.local_unit_id.choices = [(0, "—")] + [(u.id, u.name) for u in company.local_units]
    if request.method == "GET":
        form.version.data = company.version
    conflict = None
    if form.validate_on_submit():
        data = {k: f.data for k, f in form._fields.items() if k not in ("version", "csrf_token")}
        done, conflict = _save_versioned(
            form,
            lambda version: services.add_part(
                db.session,
                company_id,
                part,
                actor=current_user,
                expected_version=version,
                data=data,
            ),
            _("Dati aggiunti al fascicolo."),
            company_id,
        )
        if done is not None:
            return done
    return render_template(
        "dossier/part.html",
        form=form,
        company=company,
        title=PART_TITLES[part],
        conflict=conflict,
        field_label=services.field_label,
    )


@bp.post("/<int:company_id>/<kind>/<int:part_id>/elimina")
def remove_part(company_id: int, kind: str, part_id: int) -> Response:
    if kind not in PART_FORMS:
        abort(404)
    _company(company_id, need="edit")
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.remove_part(
            db.session,
            company_id,
            PART_FORMS[kind][0],
            part_id,
            actor=current_user,
            expected_version=form.version.data,
        )
    except access.NoAccess:
        abort(404)
    except services.DossierConflict:
        db.session.rollback()
        flash(
            _("Il fascicolo è stato modificato da un'altra persona: controlla i dati e riprova."),
            "warning",
        )
    else:
        flash(_("Dato rimosso dal fascicolo."), "success")
    return redirect(url_for("dossier.view", company_id=company_id))


@bp.get("/<int:company_id>/storico")
def history(company_id: int) -> str:
    company = _company(company_id)
    page = max(request.args.get("pagina", 1, type=int), 1)
    total = services.count_history(db.session, company_id)
    changes = services.company_history(
        db.session, company_id, limit=HISTORY_PAGE, offset=(page - 1) * HISTORY_PAGE
    )
    return render_template(
        "dossier/history.html",
        company=company,
        changes=changes,
        page=page,
        pages=max((total + HISTORY_PAGE - 1) // HISTORY_PAGE, 1),
        total=total,
        field_label=services.field_label,
    )


@bp.route("/<int:company_id>/deleghe", methods=["GET", "POST"])
def mandates(company_id: int) -> str | Response:
    company = _company(company_id, need="grant")
    form = MandateForm()
    if form.validate_on_submit():
        try:
            services.grant_mandate(
                db.session,
                company_id,
                actor=current_user,
                grantee_email=form.grantee_email.data,
                grantee_tax_code=form.grantee_tax_code.data,
                expires_on=form.expires_on.data,
                scope=form.scope.data,
                mail_config=current_app.config,
                link=url_for("dossier.view", company_id=company_id),
            )
        except services.DossierValidationError as error:
            db.session.rollback()
            _apply_errors(form, error.errors)
        else:
            flash(_("Delega concessa."), "success")
            return redirect(url_for("dossier.mandates", company_id=company_id))
    return render_template(
        "dossier/mandates.html",
        company=company,
        form=form,
        mandates=services.list_mandates(db.session, company_id),
    )


@bp.post("/<int:company_id>/deleghe/<int:mandate_id>/revoca")
def revoke(company_id: int, mandate_id: int) -> Response:
    _company(company_id, need="grant")
    from portale.dossier.models import Mandate

    mandate = db.session.get(Mandate, mandate_id)
    if mandate is None or mandate.company_id != company_id:
        abort(404)
    try:
        services.revoke_mandate(db.session, mandate_id, actor=current_user)
    except services.DossierValidationError as error:
        db.session.rollback()
        for message in error.errors.values():
            flash(str(message), "error")
    else:
        flash(_("Delega revocata."), "success")
    return redirect(url_for("dossier.mandates", company_id=company_id))
