"""Administration pages: accounts, offices (SUAP) and authorities. Administrators only.

Everyone else gets 404 (as for dossiers: a guessed URL reveals nothing); anonymous visitors
are sent to the login page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portale.accounts.models import ROLE_ADMIN, Authority, Office, User
from portale.admin import services
from portale.admin.forms import (
    ROLE_LABELS,
    AccountForm,
    AuthorityForm,
    BreakGlassForm,
    NewAccountForm,
    OfficeForm,
    SearchForm,
)
from portale.extensions import db, login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(ROLE_ADMIN):
        abort(404)
    return None


def _show_error(form: Any, error: services.AdminError) -> None:
    db.session.rollback()
    target = getattr(form, error.field, None) if error.field else None
    if target is None:
        flash(error.message, "danger")
    else:
        target.errors = [*list(target.errors), error.message]


@bp.get("/")
def index() -> str:
    return render_template("admin/index.html", counts=services.overview(db.session))


# -- accounts --------------------------------------------------------------------------------


def _membership_choices(form: AccountForm) -> None:
    none = ("", _("— nessuno —"))
    form.office_id.choices = [none] + [
        (str(o.id), o.name) for o, _n in services.list_offices(db.session)
    ]
    form.authority_id.choices = [none] + [
        (str(a.id), a.name) for a in services.list_authorities(db.session)
    ]


def _account_data(form: AccountForm) -> services.AccountData:
    return services.AccountData(
        full_name=form.full_name.data or "",
        roles=set(form.roles.data or ()),
        active=bool(form.active.data),
        office_id=form.office_id.data,
        authority_id=form.authority_id.data,
        tax_code=getattr(form, "tax_code", None) and form.tax_code.data,
    )


@bp.get("/account")
def accounts() -> str:
    search = SearchForm(request.args)
    page = request.args.get("pagina", 1, type=int)
    result = services.list_users(
        db.session, query=search.q.data or "", role=search.role.data or "", page=page
    )
    return render_template(
        "admin/accounts.html", search=search, result=result, role_labels=ROLE_LABELS
    )


@bp.route("/account/nuovo", methods=["GET", "POST"])
def account_new() -> str | Response:
    form = NewAccountForm()
    _membership_choices(form)
    if form.validate_on_submit():
        try:
            user = services.create_account(
                db.session,
                email=form.email.data,
                password=form.password.data,
                data=_account_data(form),
            )
        except services.AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Account %(email)s creato.", email=user.email), "success")
            return redirect(url_for("admin.accounts"))
    return render_template("admin/account_form.html", form=form, user=None)


@bp.route("/account/<int:user_id>", methods=["GET", "POST"])
def account_edit(user_id: int) -> str | Response:
    user = db.session.get(User, user_id) or abort(404)
    form = AccountForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.roles.data = sorted(user.role_names)
    _membership_choices(form)
    if form.validate_on_submit():
        try:
            services.update_account(
                db.session, actor=current_user, user_id=user.id, data=_account_data(form)
            )
        except services.AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Account %(email)s aggiornato.", email=user.email), "success")
            return redirect(url_for("admin.accounts"))
    return render_template("admin/account_form.html", form=form, user=user)


# -- break-glass -----------------------------------------------------------------------------


@bp.route("/accesso-straordinario", methods=["GET", "POST"])
def break_glass() -> str | Response:
    from portale.admin import break_glass as glass

    error = None
    form = BreakGlassForm()
    if form.validate_on_submit():
        procedure_id = services.find_procedure_id(db.session, form.procedure.data or "")
        try:
            if procedure_id is None:
                raise glass.BreakGlassRefused(_("Nessuna pratica con questo numero."))
            glass.open_break_glass(db.session, current_user, procedure_id, form.reason.data or "")
        except glass.BreakGlassRefused as refused:
            db.session.rollback()
            error = str(refused.message)
        else:
            return redirect(url_for("backoffice.procedure", procedure_id=procedure_id))
    return render_template(
        "admin/break_glass.html",
        error=error,
        minutes=glass.BREAK_GLASS_MINUTES,
        form=form,
    )


# -- offices ---------------------------------------------------------------------------------


@bp.get("/uffici")
def offices() -> str:
    counts = services.overview(db.session)
    return render_template(
        "admin/offices.html", offices=services.list_offices(db.session), counts=counts
    )


def _office_form(office: Office | None) -> OfficeForm:
    form = OfficeForm(obj=office if request.method == "GET" else None)
    if request.method == "GET" and office is not None:
        form.municipalities.data = [m.istat_code for m in office.municipalities]
    form.municipalities.choices = services.municipality_choices(db.session)
    return form


def _office_data(form: OfficeForm) -> services.OfficeData:
    return services.OfficeData(
        code=form.code.data or "",
        name=form.name.data or "",
        email=form.email.data,
        pec=form.pec.data,
        saturday_is_holiday=bool(form.saturday_is_holiday.data),
        active=bool(form.active.data),
        municipalities=list(form.municipalities.data or ()),
    )


@bp.route("/uffici/nuovo", methods=["GET", "POST"])
@bp.route("/uffici/<int:office_id>", methods=["GET", "POST"])
def office_edit(office_id: int | None = None) -> str | Response:
    office = None
    if office_id is not None:
        office = db.session.get(Office, office_id) or abort(404)
    form = _office_form(office)
    if form.validate_on_submit():
        try:
            saved = services.save_office(db.session, office_id=office_id, data=_office_data(form))
        except services.AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Ufficio %(name)s salvato.", name=saved.name), "success")
            return redirect(url_for("admin.offices"))
    return render_template(
        "admin/office_form.html",
        form=form,
        office=office,
        served_by=services.served_by(db.session, except_office=office_id),
    )


# -- authorities -----------------------------------------------------------------------------


@bp.get("/enti")
def authorities() -> str:
    return render_template(
        "admin/authorities.html", authorities=services.list_authorities(db.session)
    )


def _authority_data(form: AuthorityForm) -> services.AuthorityData:
    return services.AuthorityData(
        code=form.code.data or "",
        name=form.name.data or "",
        kind=form.kind.data or "",
        email=form.email.data,
        pec=form.pec.data,
        channel=form.channel.data or "pec",
        ssu_endpoint=form.ssu_endpoint.data,
        active=bool(form.active.data),
    )


@bp.route("/enti/nuovo", methods=["GET", "POST"])
@bp.route("/enti/<int:authority_id>", methods=["GET", "POST"])
def authority_edit(authority_id: int | None = None) -> str | Response:
    authority = None
    if authority_id is not None:
        authority = db.session.get(Authority, authority_id) or abort(404)
    form = AuthorityForm(obj=authority if request.method == "GET" else None)
    kinds = list(services.AUTHORITY_KINDS)
    if authority is not None and authority.kind not in kinds:
        kinds.append(authority.kind)
    form.kind.choices = [(k, k) for k in kinds]
    if form.validate_on_submit():
        try:
            saved = services.save_authority(
                db.session, authority_id=authority_id, data=_authority_data(form)
            )
        except services.AdminError as error:
            _show_error(form, error)
        else:
            flash(_("Ente %(name)s salvato.", name=saved.name), "success")
            return redirect(url_for("admin.authorities"))
    return render_template("admin/authority_form.html", form=form, authority=authority)
