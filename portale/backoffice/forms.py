"""Forms of the clerk's actions on a procedure."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional


class TextActionForm(FlaskForm):
    """An action that needs a text (motivation, what is missing...)."""

    text = TextAreaField(_l("Motivazione"), [InputRequired(message=_l("Scrivi il testo."))])


class OptionalTextForm(FlaskForm):
    text = TextAreaField(_l("Motivazione (facoltativa)"), [Optional()])


class TermActionForm(TextActionForm):
    days = IntegerField(
        _l("Giorni concessi all'impresa"),
        [Optional(), NumberRange(min=1, max=365, message=_l("Indica un numero di giorni valido."))],
    )


class IntegrationForm(TermActionForm):
    documents = TextAreaField(
        _l("Documenti richiesti (uno per riga)"),
        [Optional()],
    )
