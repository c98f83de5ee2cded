"""Web forms of the procedures area; the procedure form itself is built by ``formbuilder``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Optional

from portale.catalogue import formbuilder


class StartForm(FlaskForm):
    """Which company and which of its premises the new procedure is for."""

    premises = SelectField(
        _l("Impresa e sede"),
        [InputRequired(message=_l("Scegli l'impresa e la sede."))],
        choices=[],
        description=_l("La pratica riguarda una sede (unità locale) di una delle tue imprese."),
    )


class ProcedureFormBase(FlaskForm):
    """Base of every procedure form: the idempotency key makes submission safe to repeat."""

    idempotency_key = HiddenField()


def procedure_form(
    spec: formbuilder.FormSpec, *, prefilled: list[str], choices: Any, formdata: Any
) -> Any:
    form_class = formbuilder.build_form_class(
        spec, base=ProcedureFormBase, choices=choices, prefilled=prefilled
    )
    return form_class(formdata=formdata)


class ObservationsForm(FlaskForm):
    text = TextAreaField(
        _l("Osservazioni"), [InputRequired(message=_l("Scrivi le tue osservazioni."))]
    )
    files = MultipleFileField(_l("Documenti (PDF o P7M)"))


class WithdrawForm(FlaskForm):
    text = TextAreaField(_l("Motivo del ritiro (facoltativo)"), [Optional()])
