"""The programme's pages (/programma/): targets, offices compared, proposals, the report.

Analysts and stakeholders only; everyone else gets 404, as on the other role-restricted pages,
and anonymous visitors are sent to the login page. Stakeholders see the proposals, the targets
and the public version of the comparison (small groups left out), never a procedure; only
analysts set targets, move proposals along and ask for the programme's report.
The public comparison is also on /tempi/confronto, without login.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portale.accounts.models import ROLE_ANALYST, ROLE_STAKEHOLDER, Office
from portale.catalogue.models import ProcedureType
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db, login_manager
from portale.programme import labels, proposals, ranking, report, targets
from portale.programme.charts import target_chart
from portale.programme.forms import (
    CommentForm,
    ProposalForm,
    RankingForm,
    StatusForm,
    TargetForm,
)
from portale.programme.models import MEASURE_MEDIAN, MEASURE_WITHIN_TERM, Proposal, Target

bp = Blueprint("programme", __name__, url_prefix="/programma")
public_bp = Blueprint("programme_public", __name__, url_prefix="/tempi/confronto")


@bp.before_request
def _programme_only() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(ROLE_ANALYST, ROLE_STAKEHOLDER):
        abort(404)
    return None


def _analysts_only() -> None:
    if not current_user.has_role(ROLE_ANALYST):
        abort(404)


def _today() -> date:
    return local_date(utcnow())


def _type_choices() -> list[tuple[str, str]]:
    return [
        (code, title)
        for code, title in db.session.execute(
            select(ProcedureType.code, ProcedureType.title).order_by(ProcedureType.title)
        )
    ]


def _office_choices() -> list[tuple[int, str]]:
    return [
        (i, name)
        for i, name in db.session.execute(
            select(Office.id, Office.name).where(Office.active.is_(True)).order_by(Office.name)
        )
    ]


@bp.app_template_filter("measure")
def _measure_filter(value: float | None, measure: str) -> str:
    return labels.format_measure(measure, value)


@bp.app_template_filter("programme_lookup")
def _lookup(code: str, words: dict[str, Any]) -> str:
    return str(words.get(code, code))


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"programme_labels": labels}


# --- overview and targets ----------------------------------------------------------------


@bp.get("/")
def index() -> str:
    today = _today()
    found = targets.progress_of_all(db.session, today=today)
    return render_template(
        "programme/index.html",
        targets=[(p, target_chart(p)) for p in found],
        proposals=proposals.list_proposals(db.session)[:5],
        titles=dict(_type_choices()),
        today=today,
        quarters=report.recent_quarters(today),
    )


def _target_form(target: Target | None = None) -> TargetForm:
    form = TargetForm(obj=target if request.method == "GET" else None)
    form.type_code.choices = [("", _("Tutti i tipi"))] + _type_choices()
    form.office_ids.choices = _office_choices()
    if request.method == "GET" and target is not None:
        form.type_code.data = target.type_code or ""
        form.office_ids.data = target.office_ids
        share = target.measure == MEASURE_WITHIN_TERM
        form.threshold.data = round(target.threshold * (100 if share else 1), 2)
    return form


def _save(form: TargetForm, target: Target | None) -> Target:
    return targets.save_target(
        db.session,
        target,
        actor_id=current_user.id,
        title=form.title.data or "",
        type_code=form.type_code.data or None,
        measure=form.measure.data,
        threshold=form.threshold_value(),
        each_office=bool(form.each_office.data),
        baseline_start=form.baseline_start.data,
        baseline_end=form.baseline_end.data,
        due_on=form.due_on.data,
        office_ids=form.office_ids.data or [],
        notes=form.notes.data,
    )


@bp.route("/obiettivi/nuovo", methods=["GET", "POST"])
def target_new() -> str | Response:
    _analysts_only()
    form = _target_form()
    if form.validate_on_submit():
        target = _save(form, None)
        flash(_("Obiettivo salvato."), "success")
        return redirect(url_for("programme.target_detail", target_id=target.id))
    return render_template("programme/target_form.html", form=form, target=None)


def _target_or_404(target_id: int) -> Target:
    return db.session.get(Target, target_id) or abort(404)


@bp.get("/obiettivi/<int:target_id>")
def target_detail(target_id: int) -> str:
    target = _target_or_404(target_id)
    found = targets.progress(db.session, target, today=_today())
    return render_template(
        "programme/target.html",
        progress=found,
        chart=target_chart(found),
        titles=dict(_type_choices()),
        min_point=targets.MIN_POINT,
    )


@bp.route("/obiettivi/<int:target_id>/modifica", methods=["GET", "POST"])
def target_edit(target_id: int) -> str | Response:
    _analysts_only()
    target = _target_or_404(target_id)
    form = _target_form(target)
    if form.validate_on_submit():
        _save(form, target)
        flash(_("Obiettivo salvato."), "success")
        return redirect(url_for("programme.target_detail", target_id=target.id))
    return render_template("programme/target_form.html", form=form, target=target)


@bp.post("/obiettivi/<int:target_id>/elimina")
def target_delete(target_id: int) -> Response:
    _analysts_only()
    targets.delete_target(db.session, _target_or_404(target_id))
    flash(_("Obiettivo eliminato."), "success")
    return redirect(url_for("programme.index"))


# --- offices compared --------------------------------------------------------------------


def _ranking_page(template: str, *, public: bool) -> str:
    today = _today()
    form = RankingForm(request.args)
    types = _type_choices()
    form.tipo.choices = types
    if not request.args.get("tipo") and types:
        form.tipo.data = types[0][0]
    if not request.args.get("misura"):
        form.misura.data = MEASURE_MEDIAN
    result = None
    if form.validate() and form.tipo.data:
        end = form.al.data or today
        start = form.dal.data or (end - timedelta(days=364))
        if start > end:
            form.dal.errors = [_("L'inizio del periodo è successivo alla fine.")]
        else:
            result = ranking.rank_offices(
                db.session,
                type_code=form.tipo.data,
                measure=form.misura.data,
                start=start,
                end=end,
                public=public,
            )
    return render_template(
        template,
        form=form,
        ranking=result,
        titles=dict(types),
        min_ranked=ranking.MIN_RANKED,
        public=public,
    )


@bp.get("/confronto")
def comparison() -> str:
    # stakeholders get the public version, with small groups left out
    return _ranking_page(
        "programme/comparison.html", public=not current_user.has_role(ROLE_ANALYST)
    )


@public_bp.get("/")
def public_comparison() -> str:
    return _ranking_page("programme/public_comparison.html", public=True)


# --- proposals ---------------------------------------------------------------------------


def _proposal_or_404(proposal_id: int) -> Proposal:
    return db.session.get(Proposal, proposal_id) or abort(404)


def _proposal_form() -> ProposalForm:
    form = ProposalForm()
    form.type_codes.choices = _type_choices()
    form.office_ids.choices = _office_choices()
    return form


@bp.get("/proposte")
def proposal_list() -> str:
    status = request.args.get("stato") or None
    if status is not None and status not in labels.STATUS_LABELS:
        status = None
    return render_template(
        "programme/proposals.html",
        proposals=proposals.list_proposals(db.session, status),
        status=status,
        titles=dict(_type_choices()),
    )


@bp.route("/proposte/nuova", methods=["GET", "POST"])
def proposal_new() -> str | Response:
    form = _proposal_form()
    if form.validate_on_submit():
        try:
            proposal = proposals.file_proposal(
                db.session,
                current_user,
                title=form.title.data or "",
                body=form.body.data or "",
                type_codes=form.type_codes.data or [],
                steps=form.steps.data or [],
                office_ids=form.office_ids.data or [],
                measure=form.measure.data,
            )
        except proposals.ProposalError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
        else:
            flash(_("Proposta presentata: riceverai notizia di commenti e decisioni."), "success")
            return redirect(url_for("programme.proposal_detail", proposal_id=proposal.id))
    return render_template("programme/proposal_form.html", form=form)


def _proposal_page(
    proposal: Proposal, comment: CommentForm | None = None, status: StatusForm | None = None
) -> str:
    today = _today()
    status = status or StatusForm()
    choices = proposals.next_statuses(proposal, current_user)
    status.status.choices = [(s, labels.STATUS_LABELS[s]) for s in choices]
    figures = proposals.current_figures(db.session, proposal, today=today)
    report_link = None
    if current_user.has_role(ROLE_ANALYST):
        period = proposals.last_year(today)
        params = period.as_params()
        if len(proposal.type_codes) == 1:
            params["tipo"] = proposal.type_codes[0]
        if len(proposal.office_ids) == 1:
            params["sportello"] = str(proposal.office_ids[0])
        report_link = url_for("reports.dashboard", **params)
    return render_template(
        "programme/proposal.html",
        proposal=proposal,
        comment_form=comment or CommentForm(),
        status_form=status,
        can_decide=bool(choices),
        following=proposals.is_following(db.session, proposal.id, current_user.id),
        figures=figures,
        effect=proposals.effect(db.session, proposal, today=today),
        report_link=report_link,
        titles=dict(_type_choices()),
    )


@bp.get("/proposte/<int:proposal_id>")
def proposal_detail(proposal_id: int) -> str:
    return _proposal_page(_proposal_or_404(proposal_id))


@bp.post("/proposte/<int:proposal_id>/commenti")
def proposal_comment(proposal_id: int) -> str | Response:
    proposal = _proposal_or_404(proposal_id)
    form = CommentForm()
    if form.validate_on_submit():
        proposals.add_comment(db.session, proposal, current_user, form.body.data or "")
        flash(_("Commento pubblicato."), "success")
        return redirect(url_for("programme.proposal_detail", proposal_id=proposal.id))
    return _proposal_page(proposal, comment=form)


@bp.post("/proposte/<int:proposal_id>/stato")
def proposal_status(proposal_id: int) -> str | Response:
    _analysts_only()
    proposal = _proposal_or_404(proposal_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            proposals.change_status(
                db.session,
                proposal,
                current_user,
                form.status.data or "",
                note=form.note.data or "",
                in_force_on=form.in_force_on.data,
                today=_today(),
            )
        except proposals.ProposalError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
        else:
            flash(_("Stato della proposta aggiornato."), "success")
            return redirect(url_for("programme.proposal_detail", proposal_id=proposal.id))
    return _proposal_page(proposal, status=form)


@bp.post("/proposte/<int:proposal_id>/segui")
def proposal_follow(proposal_id: int) -> Response:
    proposal = _proposal_or_404(proposal_id)
    follow = request.form.get("segui") == "1"
    proposals.set_following(db.session, proposal, current_user, follow)
    flash(_("Ora segui la proposta.") if follow else _("Non segui più la proposta."), "success")
    return redirect(url_for("programme.proposal_detail", proposal_id=proposal.id))


# --- the programme's report --------------------------------------------------------------


@bp.post("/rapporto")
def report_request() -> Response:
    _analysts_only()
    quarter = request.form.get("trimestre", "")
    fmt = request.form.get("formato", "")
    if quarter not in report.recent_quarters(_today()) or fmt not in report.FORMATS:
        abort(404)
    export = report.request_report(db.session, actor_id=current_user.id, quarter=quarter, fmt=fmt)
    return redirect(url_for("reports.export_status", export_id=export.id))
