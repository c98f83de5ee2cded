"""Forms of the administration pages (labels and messages in Italian, translated by Babel)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portale.accounts.forms import validate_person_tax_code

ROLE_LABELS = {
    "entrepreneur": _l("Imprenditore"),
    "intermediary": _l("Intermediario"),
    "clerk": _l("Operatore SUAP"),
    "authority_officer": _l("Funzionario di ente terzo"),
    "analyst": _l("Analista (semplificazione)"),
    "admin": _l("Amministratore"),
    "stakeholder": _l("Portatore di interesse (associazioni, ordini)"),
}

CHANNEL_LABELS = {
    "pec": _l("PEC (posta elettronica certificata)"),
    "ssu": _l("SSU (interfaccia nazionale SUAP)"),
}


class CheckboxListField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


class AccountForm(FlaskForm):
    full_name = StringField(
        _l("Nome e cognome"),
        validators=[InputRequired(_l("Inserisci nome e cognome.")), Length(max=200)],
    )
    roles = CheckboxListField(_l("Ruoli"), choices=list(ROLE_LABELS.items()))
    active = BooleanField(_l("Account attivo"), default=True)
    office_id = SelectField(
        _l("Ufficio (per gli operatori SUAP)"), coerce=_optional_int, validate_choice=False
    )
    authority_id = SelectField(
        _l("Ente (per i funzionari di ente terzo)"), coerce=_optional_int, validate_choice=False
    )


class NewAccountForm(AccountForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            InputRequired(_l("Inserisci l'e-mail.")),
            Email(_l("Indirizzo e-mail non valido.")),
        ],
    )
    tax_code = StringField(_l("Codice fiscale"), validators=[Optional(), validate_person_tax_code])
    password = PasswordField(
        _l("Password iniziale"),
        description=_l("Comunicala alla persona: potrà cambiarla dopo il primo accesso."),
        validators=[
            InputRequired(_l("Scegli una password.")),
            Length(min=10, message=_l("La password deve avere almeno 10 caratteri.")),
        ],
    )


class OfficeForm(FlaskForm):
    code = StringField(
        _l("Codice"),
        description=_l("Identificativo breve, ad esempio SUAP_TORINO."),
        validators=[InputRequired(_l("Inserisci il codice.")), Length(max=32)],
    )
    name = StringField(
        _l("Nome"), validators=[InputRequired(_l("Inserisci il nome.")), Length(max=200)]
    )
    email = EmailField(
        _l("E-mail"), validators=[Optional(), Email(_l("Indirizzo e-mail non valido."))]
    )
    pec = EmailField(_l("PEC"), validators=[Optional(), Email(_l("Indirizzo PEC non valido."))])
    saturday_is_holiday = BooleanField(_l("Il sabato è festivo per il calcolo dei termini"))
    active = BooleanField(_l("Ufficio attivo"), default=True)
    municipalities = CheckboxListField(
        _l("Comuni serviti"),
        description=_l("Ogni comune può essere servito da un solo ufficio."),
        validate_choice=False,
    )


class AuthorityForm(FlaskForm):
    code = StringField(
        _l("Codice"),
        description=_l("Identificativo usato dal catalogo, ad esempio ASL_TO."),
        validators=[InputRequired(_l("Inserisci il codice.")), Length(max=32)],
    )
    name = StringField(
        _l("Nome"), validators=[InputRequired(_l("Inserisci il nome.")), Length(max=200)]
    )
    kind = SelectField(_l("Tipo di ente"))
    email = EmailField(
        _l("E-mail"), validators=[Optional(), Email(_l("Indirizzo e-mail non valido."))]
    )
    pec = EmailField(_l("PEC"), validators=[Optional(), Email(_l("Indirizzo PEC non valido."))])
    channel = SelectField(
        _l("Canale per le richieste di parere"), choices=list(CHANNEL_LABELS.items())
    )
    ssu_endpoint = URLField(
        _l("Indirizzo del servizio SSU"),
        description=_l("Solo per il canale SSU, ad esempio https://ente.example/ssu/v1"),
        validators=[Optional(), Length(max=400)],
    )
    active = BooleanField(_l("Ente attivo"), default=True)


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Cerca"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Ruolo"), choices=[("", _l("Tutti i ruoli")), *ROLE_LABELS.items()])


class BreakGlassForm(FlaskForm):
    procedure = StringField(_l("Numero di protocollo della pratica"))
    reason = TextAreaField(_l("Motivo dell'accesso"))
