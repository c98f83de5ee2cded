"""Forms of the programme's pages (labels and messages in Italian, translated by Babel)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portale.programme.labels import MEASURE_LABELS, STEP_LABELS
from portale.programme.models import MEASURE_WITHIN_TERM


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _int_or_none(value: object) -> int | None:
    return None if value in (None, "", "None") else int(value)  # type: ignore[arg-type]


class TargetForm(FlaskForm):
    title = StringField(
        _l("Titolo dell'obiettivo"),
        validators=[InputRequired(_l("Scrivi un titolo.")), Length(max=300)],
    )
    type_code = SelectField(_l("Tipo di procedimento"), validate_choice=True)
    office_ids = CheckboxListField(
        _l("Sportelli (nessuno: tutti)"), coerce=int, validate_choice=True
    )
    each_office = BooleanField(_l("La soglia vale in ogni sportello"))
    measure = SelectField(_l("Misura"), choices=list(MEASURE_LABELS.items()))
    threshold = DecimalField(
        _l("Soglia"),
        description=_l("In giorni; per la quota entro il termine, in percentuale (es. 90)."),
        validators=[
            InputRequired(_l("Indica la soglia.")),
            NumberRange(min=0, message=_l("La soglia non può essere negativa.")),
        ],
    )
    baseline_start = DateField(
        _l("Periodo di riferimento: dal"), validators=[InputRequired(_l("Indica una data."))]
    )
    baseline_end = DateField(_l("al"), validators=[InputRequired(_l("Indica una data."))])
    due_on = DateField(_l("Scadenza"), validators=[InputRequired(_l("Indica una data."))])
    notes = TextAreaField(_l("Note (dal patto)"), validators=[Optional(), Length(max=4000)])

    def validate_baseline_end(self, field: DateField) -> None:
        if self.baseline_start.data and field.data and field.data < self.baseline_start.data:
            raise ValidationError(_l("La fine del periodo precede l'inizio."))

    def validate_due_on(self, field: DateField) -> None:
        if self.baseline_end.data and field.data and field.data <= self.baseline_end.data:
            raise ValidationError(_l("La scadenza deve seguire il periodo di riferimento."))

    def validate_threshold(self, field: DecimalField) -> None:
        share = self.measure.data == MEASURE_WITHIN_TERM
        if share and field.data is not None and field.data > 100:
            raise ValidationError(_l("Una percentuale non supera 100."))

    def threshold_value(self) -> float:
        value = float(self.threshold.data or 0)
        return value / 100 if self.measure.data == MEASURE_WITHIN_TERM else value


class ProposalForm(FlaskForm):
    title = StringField(
        _l("Titolo della proposta"),
        validators=[InputRequired(_l("Scrivi un titolo.")), Length(max=300)],
    )
    body = TextAreaField(
        _l("La proposta"),
        description=_l("Cosa cambiare, perché, e quali dati lo mostrano."),
        validators=[InputRequired(_l("Descrivi la proposta.")), Length(max=10000)],
    )
    type_codes = CheckboxListField(_l("Procedimenti interessati"), validate_choice=True)
    steps = CheckboxListField(
        _l("Fasi interessate"), choices=list(STEP_LABELS.items()), validate_choice=True
    )
    office_ids = CheckboxListField(
        _l("Sportelli interessati (nessuno: tutti)"), coerce=int, validate_choice=True
    )
    measure = SelectField(
        _l("Misura che la motiva"), choices=list(MEASURE_LABELS.items()), validate_choice=True
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Commento"), validators=[InputRequired(_l("Scrivi il commento.")), Length(max=4000)]
    )


class StatusForm(FlaskForm):
    status = SelectField(_l("Nuovo stato"), validate_choice=False)
    note = TextAreaField(_l("Motivazione"), validators=[Optional(), Length(max=4000)])
    in_force_on = DateField(_l("In vigore dal (per lo stato «In vigore»)"), validators=[Optional()])


class RankingForm(FlaskForm):
    class Meta:
        csrf = False

    tipo = SelectField(_l("Tipo di procedimento"), validate_choice=True)
    misura = SelectField(_l("Misura"), choices=list(MEASURE_LABELS.items()), validate_choice=True)
    dal = DateField(_l("Presentate dal"), validators=[Optional()])
    al = DateField(_l("al"), validators=[Optional()])
