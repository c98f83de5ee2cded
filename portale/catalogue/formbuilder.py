"""Builds the WTForms form of a procedure type from the field spec in its catalogue version.

The spec is data (YAML in the catalogue, stored as JSON on the version). This module reads it
into small dataclasses (:func:`parse_spec`), decides which fields are shown given the answers
(``show_if`` conditions, :func:`visible_fields`), builds a form class for the web
(:func:`build_form_class`) and validates answers without a request (:func:`validate_answers`):
the same rules run in the browser (``static/js/procedure-form.js``) and on the server.

Field kinds: text, textarea, date, number, email, select, checkbox, municipality, ateco.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import Form, validators
from wtforms.fields import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

FIELD_KINDS = (
    "text",
    "textarea",
    "date",
    "number",
    "email",
    "select",
    "checkbox",
    "municipality",
    "ateco",
)
ATECO_PATTERN = re.compile(r"^\d{2}(\.\d{1,2}(\.\d{1,2})?)?$")
UPDATE_PREFIX = "aggiorna__"  # the "also update the dossier" checkbox next to a prefilled field
DEFAULT_ACCEPT = ("pdf", "p7m")
DEFAULT_MAX_MB = 10.0


@dataclass(frozen=True)
class Condition:
    """Show a field only when ``field`` has one of ``values`` (or is ticked/non-empty if none)."""

    field: str
    values: tuple[str, ...] = ()

    def holds(self, value: Any) -> bool:
        if not self.values:
            return _truthy(value)
        if isinstance(value, bool):
            return ("true" if value else "false") in self.values
        return str(value if value is not None else "") in self.values


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    dossier_path: str | None = None
    show_if: Condition | None = None
    help: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class AttachmentSpec:
    slot: str
    label: str
    required: bool = True
    max_bytes: int = int(DEFAULT_MAX_MB * 1024 * 1024)
    accept: tuple[str, ...] = DEFAULT_ACCEPT
    help: str | None = None


@dataclass(frozen=True)
class FormSpec:
    fields: tuple[FieldSpec, ...] = ()
    attachments: tuple[AttachmentSpec, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def attachment(self, slot: str) -> AttachmentSpec | None:
        return next((a for a in self.attachments if a.slot == slot), None)

    @property
    def labels(self) -> dict[str, str]:
        return {f.name: f.label for f in self.fields}


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() not in {"", "0", "false", "n", "no", "off"}


def _condition(raw: Any) -> Condition | None:
    if not raw:
        return None
    if isinstance(raw, str):
        name, _, value = raw.partition("=")
        return Condition(name.strip(), (value.strip(),) if value else ())
    name = raw.get("field")
    if "equals" in raw:
        values: Iterable[Any] = [raw["equals"]]
    else:
        values = raw.get("in") or raw.get("values") or ()
    return Condition(str(name), tuple(_as_option_value(v) for v in values))


def _as_option_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _options(raw: Any) -> tuple[tuple[str, str], ...]:
    result = []
    for option in raw or ():
        if isinstance(option, Mapping):
            value = option.get("value", option.get("code"))
            result.append((_as_option_value(value), str(option.get("label", value))))
        elif isinstance(option, list | tuple):
            result.append((_as_option_value(option[0]), str(option[1])))
        else:
            result.append((_as_option_value(option), str(option)))
    return tuple(result)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def _max_bytes(raw: Any) -> int:
    explicit = _get(raw, "max_bytes")
    if explicit:
        return int(explicit)
    mb = _get(raw, "max_mb", "max_size_mb", default=DEFAULT_MAX_MB)
    return int(float(mb) * 1024 * 1024)


def parse_spec(spec: Any) -> FormSpec:
    """Read the catalogue's field and attachment spec (a dict, or the loader's dataclasses)."""
    fields = []
    for raw in _get(spec, "fields", default=()) or ():
        kind = str(_get(raw, "type", "kind", default="text"))
        fields.append(
            FieldSpec(
                name=str(_get(raw, "name", "code", "id")),
                label=str(_get(raw, "label", "title", default=_get(raw, "name"))),
                kind=kind if kind in FIELD_KINDS else "text",
                required=bool(_get(raw, "required", default=False)),
                options=_options(_get(raw, "options", "choices")),
                dossier_path=_get(raw, "dossier_path", "prefill", "bind"),
                show_if=_condition(_get(raw, "show_if")),
                help=_get(raw, "help", "hint"),
                max_length=_get(raw, "max_length"),
            )
        )
    attachments = []
    for raw in _get(spec, "attachments", default=()) or ():
        accept = _get(raw, "accept", "kinds", "formats", default=DEFAULT_ACCEPT)
        if isinstance(accept, str):
            accept = [a.strip() for a in accept.split(",")]
        attachments.append(
            AttachmentSpec(
                slot=str(_get(raw, "slot", "code", "name", "id")),
                label=str(_get(raw, "label", "title", default=_get(raw, "slot", "code"))),
                required=bool(_get(raw, "required", default=True)),
                max_bytes=_max_bytes(raw),
                accept=tuple(str(a).lower().lstrip(".") for a in accept),
                help=_get(raw, "help", "description"),
            )
        )
    return FormSpec(fields=tuple(fields), attachments=tuple(attachments))


def visible_fields(spec: FormSpec, answers: Mapping[str, Any]) -> set[str]:
    """Names of the fields shown for ``answers``: a field whose controller is hidden is hidden."""
    visible: set[str] = set()
    pending = list(spec.fields)
    changed = True
    while changed:
        changed = False
        for f in list(pending):
            cond = f.show_if
            if cond is None or (cond.field in visible and cond.holds(answers.get(cond.field))):
                visible.add(f.name)
                pending.remove(f)
                changed = True
            elif cond.field not in {g.name for g in spec.fields}:
                pending.remove(f)  # a condition on an unknown field never holds
    return visible


# --- WTForms ---------------------------------------------------------------------------------


class _RequiredWhenShown:
    """``required`` only while the field's ``show_if`` holds; a hidden field is never checked."""

    field_flags = {"required": True}

    def __init__(self, spec: FormSpec, field_spec: FieldSpec) -> None:
        self.spec = spec
        self.field_spec = field_spec
        if field_spec.show_if is not None or not field_spec.required:
            self.field_flags = {}  # the browser must not block a hidden field

    def __call__(self, form: Form, field: Any) -> None:
        if self.field_spec.name not in visible_fields(self.spec, _form_answers(form, self.spec)):
            field.errors[:] = []
            raise validators.StopValidation()
        empty = not field.data if self.field_spec.kind == "checkbox" else _is_empty(field)
        if self.field_spec.required and empty:
            raise validators.StopValidation(
                _l("Obbligatorio: seleziona la casella.")
                if self.field_spec.kind == "checkbox"
                else _l("Campo obbligatorio.")
            )
        if empty:
            field.errors[:] = []
            raise validators.StopValidation()


def _is_empty(field: Any) -> bool:
    raw = field.raw_data
    return not raw or not str(raw[0]).strip()


def _form_answers(form: Form, spec: FormSpec) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for f in spec.fields:
        wt = form._fields.get(f.name)
        if wt is None:
            continue
        if f.kind == "checkbox":
            answers[f.name] = bool(wt.data)
        else:
            answers[f.name] = wt.raw_data[0] if wt.raw_data else (wt.data or "")
    return answers


def _ateco_check(form: Form, field: Any) -> None:
    if field.data and not ATECO_PATTERN.match(field.data.strip()):
        raise validators.ValidationError(_l("Codice ATECO non valido (esempio: 47.11.10)."))


def _wtforms_field(
    spec: FormSpec, f: FieldSpec, choices: Mapping[str, Sequence[tuple[str, str]]]
) -> Any:
    checks: list[Any] = [_RequiredWhenShown(spec, f)]
    kwargs: dict[str, Any] = {"description": f.help or ""}
    if f.kind in ("text", "textarea"):
        checks.append(
            validators.Length(max=f.max_length or 4000, message=_l("Testo troppo lungo."))
        )
    if f.kind == "text":
        return StringField(f.label, checks, **kwargs)
    if f.kind == "textarea":
        return TextAreaField(f.label, checks, **kwargs)
    if f.kind == "date":
        return DateField(f.label, checks, format="%Y-%m-%d", **kwargs)
    if f.kind == "number":
        return DecimalField(f.label, checks, **kwargs)
    if f.kind == "email":
        checks.append(validators.Email(message=_l("Indirizzo e-mail non valido.")))
        return EmailField(f.label, checks, **kwargs)
    if f.kind == "checkbox":
        return BooleanField(f.label, checks, **kwargs)
    if f.kind == "ateco":
        checks.append(_ateco_check)
        return StringField(f.label, checks, **kwargs)
    options = list(f.options) if f.kind == "select" else list(choices.get("municipality", ()))
    return SelectField(
        f.label,
        checks,
        choices=[SelectChoice("", _l("— scegli —")), *(SelectChoice(v, lbl) for v, lbl in options)],
        validate_choice=True,
        **kwargs,
    )


def build_form_class(
    spec: FormSpec,
    *,
    base: type[Form] = Form,
    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    prefilled: Iterable[str] = (),
) -> type[Form]:
    """A form class with one field per spec field and an update checkbox per prefilled field.

    ``choices`` supplies the options of kinds that come from the database (``municipality``).
    """
    choices = choices or {}
    attrs: dict[str, Any] = {}
    for f in spec.fields:
        attrs[f.name] = _wtforms_field(spec, f, choices)
    for name in prefilled:
        attrs[UPDATE_PREFIX + name] = BooleanField(_l("Aggiorna anche il fascicolo d'impresa"))
    return type("ProcedureForm", (base,), attrs)


# WTForms' stock messages for unparseable input are English: show Italian ones.
ITALIAN_MESSAGES = {
    "Not a valid choice.": _l("Scelta non valida."),
    "Not a valid date value.": _l("Data non valida."),
    "Not a valid decimal value.": _l("Numero non valido."),
    "Not a valid choice": _l("Scelta non valida."),
}


def italianise(form: Form) -> None:
    for field_ in form:
        field_.errors = [ITALIAN_MESSAGES.get(str(e), e) for e in field_.errors]


def answers_formdata(
    answers: Mapping[str, Any], updates: Iterable[str] = ()
) -> MultiDict[str, str]:
    """Stored answers as form data, so a draft re-renders exactly what was typed."""
    data: MultiDict[str, str] = MultiDict()
    for name, value in answers.items():
        if isinstance(value, bool):
            if value:
                data.add(name, "y")
        elif value is not None:
            data.add(name, str(value))
    for name in updates:
        data.add(UPDATE_PREFIX + name, "y")
    return data


def answers_from_formdata(spec: FormSpec, formdata: Any) -> tuple[dict[str, Any], list[str]]:
    """(answers as typed, names ticked for dossier update) from a request's form data."""
    answers: dict[str, Any] = {}
    updates: list[str] = []
    for f in spec.fields:
        if f.kind == "checkbox":
            answers[f.name] = _truthy(formdata.get(f.name))
        elif f.name in formdata:
            answers[f.name] = str(formdata.get(f.name) or "")
        if _truthy(formdata.get(UPDATE_PREFIX + f.name)):
            updates.append(f.name)
    return answers, updates


def validate_answers(
    spec: FormSpec,
    answers: Mapping[str, Any],
    *,
    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate ``answers``; return (clean values of the shown fields, errors by field name).

    Clean values are JSON-ready: dates as ISO strings, numbers as strings, checkboxes as bools.
    Hidden fields are dropped, so an answer given before a condition changed is not filed.
    """
    form_class = build_form_class(spec, choices=choices)
    form = form_class(formdata=answers_formdata(answers))
    form.validate()
    italianise(form)
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items() if errs}
    shown = visible_fields(spec, _form_answers(form, spec))
    clean: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in shown or f.name in errors:
            continue
        value = form[f.name].data
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, str):
            value = value.strip()
        if f.kind == "checkbox":
            value = bool(value)
        if value in (None, "") and f.kind != "checkbox":
            continue
        clean[f.name] = value
    return clean, errors


def display_value(
    f: FieldSpec | None, value: Any, choices: Mapping[str, Sequence[tuple[str, str]]] | None = None
) -> str:
    """How an answer is printed on the receipt and in the lists: option labels, Italian dates."""
    if value is None or value == "":
        return "—"
    if f is None:
        return str(value)
    if f.kind == "checkbox":
        return str(_l("Sì")) if _truthy(value) else str(_l("No"))
    if f.kind == "select":
        return dict(f.options).get(str(value), str(value))
    if f.kind == "municipality" and choices:
        return dict(choices.get("municipality", ())).get(str(value), str(value))
    if f.kind == "date":
        try:
            return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
        except ValueError:
            return str(value)
    if f.kind == "number":
        try:
            return str(Decimal(str(value))).replace(".", ",")
        except InvalidOperation:
            return str(value)
    return str(value)


__all__ = [
    "AttachmentSpec",
    "Condition",
    "FieldSpec",
    "FormSpec",
    "UPDATE_PREFIX",
    "answers_formdata",
    "answers_from_formdata",
    "build_form_class",
    "display_value",
    "parse_spec",
    "validate_answers",
    "visible_fields",
]
