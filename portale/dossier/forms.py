"""Dossier forms; the checks are those of :mod:`portale.dossier.validation`, shared with the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from portale.dossier import validation as v


def check(fn: Callable[[Any], Any]) -> Callable[[FlaskForm, Any], None]:
    """A WTForms validator from a validation function; the field keeps the normalised value."""

    def _validator(_form: FlaskForm, field: Any) -> None:
        try:
            field.data = fn(field.data)
        except v.FieldError as error:
            raise ValidationError(str(error.message)) from None

    return _validator


REQUIRED = InputRequired(_l("Campo obbligatorio."))


class CompanyForm(FlaskForm):
    version = HiddenField()
    tax_code = StringField(
        _l("Codice fiscale dell'impresa"),
        validators=[REQUIRED, check(v.company_tax_code)],
        description=_l("11 cifre per le società; 16 caratteri per le ditte individuali."),
    )
    vat_number = StringField(_l("Partita IVA"), validators=[Optional(), check(v.vat_number)])
    name = StringField(_l("Denominazione"), validators=[REQUIRED])
    legal_form = SelectField(
        _l("Forma giuridica"),
        choices=[
            ("", "—"),
            ("Impresa individuale", _l("Impresa individuale")),
            ("Società a responsabilità limitata", _l("Società a responsabilità limitata")),
            ("Società a responsabilità limitata semplificata", _l("S.r.l. semplificata")),
            ("Società per azioni", _l("Società per azioni")),
            ("Società in nome collettivo", _l("Società in nome collettivo")),
            ("Società in accomandita semplice", _l("Società in accomandita semplice")),
            ("Società cooperativa", _l("Società cooperativa")),
        ],
        validators=[Optional()],
    )
    rea_number = StringField(
        _l("Numero REA"),
        validators=[Optional(), check(v.rea_number)],
        description=_l("Es. TO-1234567"),
    )
    pec = EmailField(_l("PEC"), validators=[Optional(), check(lambda x: v.email(x, pec=True))])
    office_street = StringField(_l("Sede legale: indirizzo"), validators=[Optional()])
    office_postcode = StringField(
        _l("Sede legale: CAP"), validators=[Optional(), check(v.postcode)]
    )
    office_municipality = SelectField(_l("Sede legale: comune"), validators=[Optional()])

    COMPANY_FIELDS = (
        "tax_code",
        "vat_number",
        "name",
        "legal_form",
        "rea_number",
        "pec",
        "office_street",
        "office_postcode",
        "office_municipality",
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in self.COMPANY_FIELDS}


class LocalUnitForm(FlaskForm):
    version = HiddenField()
    name = StringField(
        _l("Nome dell'unità locale"),
        validators=[REQUIRED],
        description=_l("Es. Negozio di via Roma"),
    )
    street = StringField(_l("Indirizzo"), validators=[REQUIRED])
    postcode = StringField(_l("CAP"), validators=[Optional(), check(v.postcode)])
    municipality = SelectField(_l("Comune"), validators=[REQUIRED])
    ateco_code = StringField(
        _l("Codice ATECO dell'attività svolta"), validators=[Optional(), check(v.ateco_code)]
    )


class ActivityForm(FlaskForm):
    version = HiddenField()
    ateco_code = StringField(
        _l("Codice ATECO"),
        validators=[REQUIRED, check(v.ateco_code)],
        description=_l("Classificazione ATECO 2025, es. 47.11.02"),
    )
    primary = BooleanField(_l("Attività prevalente"))


class RepresentativeForm(FlaskForm):
    version = HiddenField()
    full_name = StringField(_l("Nome e cognome"), validators=[REQUIRED])
    tax_code = StringField(_l("Codice fiscale"), validators=[REQUIRED, check(v.person_tax_code)])
    role = StringField(
        _l("Carica"), validators=[REQUIRED], description=_l("Es. Amministratore unico, Titolare")
    )


class TitleForm(FlaskForm):
    version = HiddenField()
    kind = StringField(
        _l("Tipo di titolo"),
        validators=[REQUIRED],
        description=_l("Es. Autorizzazione media struttura di vendita, SCIA esercizio di vicinato"),
    )
    number = StringField(_l("Numero"), validators=[Optional()])
    issuer = StringField(_l("Rilasciato da"), validators=[Optional()])
    local_unit_id = SelectField(_l("Unità locale"), coerce=int, validators=[Optional()])
    valid_from = DateField(_l("Valido dal"), validators=[Optional()])
    valid_until = DateField(_l("Valido fino al"), validators=[Optional()])

    def validate_valid_until(self, field: Any) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("La scadenza non può precedere l'inizio di validità."))


class MandateForm(FlaskForm):
    grantee_email = EmailField(_l("E-mail della persona delegata"), validators=[Optional()])
    grantee_tax_code = StringField(
        _l("oppure codice fiscale"), validators=[Optional(), check(v.person_tax_code)]
    )
    scope = SelectField(
        _l("Ambito"),
        choices=[
            ("full", _l("Completa: consultare, modificare, presentare pratiche")),
            ("read", _l("Solo consultazione")),
        ],
    )
    expires_on = DateField(
        _l("Scadenza"), validators=[InputRequired(_l("Indica la data di scadenza della delega."))]
    )


class VersionForm(FlaskForm):
    """A bare form carrying the version, for deletions."""

    version = IntegerField(validators=[InputRequired()])
