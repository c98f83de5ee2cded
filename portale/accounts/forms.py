"""Login and registration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.it import codicefiscale
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, ValidationError


def validate_person_tax_code(_form: FlaskForm, field: StringField) -> None:
    if not field.data:
        return
    value = field.data.strip().upper()
    if not codicefiscale.is_valid(value) or len(value) != 16:
        raise ValidationError(_l("Codice fiscale non valido: controlla le 16 lettere e cifre."))
    field.data = value


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            InputRequired(_l("Inserisci l'e-mail.")),
            Email(_l("Indirizzo e-mail non valido.")),
        ],
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("Inserisci la password."))]
    )
    remember = BooleanField(_l("Ricordami su questo dispositivo"))


class RegistrationForm(FlaskForm):
    full_name = StringField(
        _l("Nome e cognome"),
        validators=[InputRequired(_l("Inserisci nome e cognome.")), Length(max=200)],
    )
    email = EmailField(
        _l("E-mail"),
        validators=[
            InputRequired(_l("Inserisci l'e-mail.")),
            Email(_l("Indirizzo e-mail non valido.")),
        ],
    )
    tax_code = StringField(
        _l("Codice fiscale"),
        description=_l("Facoltativo: serve a ricevere le deleghe intestate al tuo codice fiscale."),
        validators=[Optional(), validate_person_tax_code],
    )
    is_intermediary = BooleanField(
        _l(
            "Sono un intermediario (professionista o agenzia che presenta pratiche per conto di imprese)"
        )
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(_l("Scegli una password.")),
            Length(min=10, message=_l("La password deve avere almeno 10 caratteri.")),
        ],
    )
    confirm = PasswordField(
        _l("Conferma password"),
        validators=[EqualTo("password", message=_l("Le due password non coincidono."))],
    )
