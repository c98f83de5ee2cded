"""marshmallow schemas of the API: what clients send and receive, and the OpenAPI document.

Input schemas check shape only (types, lengths, unknown fields) with Italian messages; the
rules of the dossier (tax code, VAT number, municipality...) are the services' business, so
the API and the web forms refuse the same data with the same words.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate


class ItalianSchema(ma.Schema):
    """Refuses unknown fields, and speaks the request's language when input is wrong."""

    error_messages = {
        "unknown": _l("Campo non previsto."),
        "type": _l("Il corpo della richiesta deve essere un oggetto JSON."),
    }

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        italian = {
            "required": _l("Campo obbligatorio."),
            "null": _l("Il campo non può essere vuoto."),
            "invalid": _INVALID.get(type(field_obj), _l("Valore non valido.")),
            "type": _l("Valore non valido."),
        }
        for key, message in italian.items():
            if key in field_obj.error_messages:
                field_obj.error_messages[key] = message


_INVALID: dict[type, Any] = {
    fields.String: _l("Deve essere un testo."),
    fields.Integer: _l("Deve essere un numero intero."),
    fields.Boolean: _l("Deve essere vero o falso."),
}


def _text(
    max_length: int, *, required: bool = False, allow_none: bool = True, **kw: Any
) -> fields.String:
    return fields.String(
        required=required,
        allow_none=allow_none and not required,
        validate=validate.Length(
            min=1 if required else 0,
            max=max_length,
            error=_l("Lunghezza non valida (al massimo {max} caratteri)."),
        ),
        **kw,
    )


# --- output -----------------------------------------------------------------------------


class ActorSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class ProvenanceSchema(ma.Schema):
    """Who or what last set a field of the dossier, and when."""

    source = fields.String(
        metadata={"description": "user, connector, procedure or decision"},
    )
    source_ref = fields.String(
        allow_none=True,
        metadata={"description": "connector identifier or procedure id, when relevant"},
    )
    actor = fields.Nested(ActorSchema, allow_none=True)
    at = fields.DateTime()
    version = fields.Integer(metadata={"description": "dossier version the change produced"})


class LocalUnitSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    street = fields.String()
    postcode = fields.String(allow_none=True)
    municipality = fields.String(metadata={"description": "ISTAT code"})
    ateco_code = fields.String(allow_none=True)
    active = fields.Boolean()


class ActivitySchema(ma.Schema):
    id = fields.Integer()
    ateco_code = fields.String()
    primary = fields.Boolean()


class RepresentativeSchema(ma.Schema):
    id = fields.Integer()
    full_name = fields.String()
    tax_code = fields.String()
    role = fields.String()


class TitleSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String(allow_none=True)
    issuer = fields.String(allow_none=True)
    local_unit_id = fields.Integer(allow_none=True)
    valid_from = fields.String(allow_none=True, metadata={"format": "date"})
    valid_until = fields.String(allow_none=True, metadata={"format": "date"})
    procedure_id = fields.Integer(
        allow_none=True, metadata={"description": "the procedure whose act issued it"}
    )


class VatCheckSchema(ma.Schema):
    valid = fields.Boolean(allow_none=True)
    checked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    reference = fields.String(allow_none=True)


class CompanySummarySchema(ma.Schema):
    id = fields.Integer()
    tax_code = fields.String()
    vat_number = fields.String(allow_none=True)
    name = fields.String()
    office_municipality = fields.String(allow_none=True, metadata={"description": "ISTAT code"})
    version = fields.Integer()


class CompanyListSchema(ma.Schema):
    items = fields.List(fields.Nested(CompanySummarySchema))


class DossierSchema(CompanySummarySchema):
    """The whole dossier (as the dossier services serialise it, the same data a procedure
    snapshots at submission); ``provenance`` maps each field path to its latest change."""

    legal_form = fields.String(allow_none=True)
    rea_number = fields.String(allow_none=True)
    pec = fields.String(allow_none=True)
    office_street = fields.String(allow_none=True)
    office_postcode = fields.String(allow_none=True)
    vat_check = fields.Nested(VatCheckSchema)
    local_units = fields.List(fields.Nested(LocalUnitSchema))
    activities = fields.List(fields.Nested(ActivitySchema))
    representatives = fields.List(fields.Nested(RepresentativeSchema))
    titles = fields.List(fields.Nested(TitleSchema))
    provenance = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ProvenanceSchema),
        metadata={
            "description": "field path (`name`, `local_units/<id>/street`, ...) -> provenance"
        },
    )


class ChangeSchema(ProvenanceSchema):
    """One entry of the dossier history."""

    id = fields.Integer()
    field = fields.String(metadata={"description": "field path"})
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)


class HistoryPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ChangeSchema))
    limit = fields.Integer()
    offset = fields.Integer()
    total = fields.Integer()


class ConflictSchema(ma.Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    current_version = fields.Integer()
    changes_since = fields.List(fields.Nested(ChangeSchema))


class MeSchema(ma.Schema):
    id = fields.Integer()
    email = fields.String()
    full_name = fields.String()
    tax_code = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    locale = fields.String()


# --- input ------------------------------------------------------------------------------


class CompanyFieldsSchema(ItalianSchema):
    """The company's own fields a client may set (parts have their own endpoints later)."""

    tax_code = _text(16, allow_none=False)
    vat_number = _text(11)
    name = _text(300, allow_none=False)
    legal_form = _text(100)
    rea_number = _text(20)
    pec = _text(254)
    office_street = _text(300)
    office_postcode = _text(5)
    office_municipality = _text(6, metadata={"description": "ISTAT code, e.g. 001272"})


class CompanyCreateSchema(CompanyFieldsSchema):
    tax_code = _text(16, required=True)
    name = _text(300, required=True)


class CompanyPatchSchema(CompanyFieldsSchema):
    version = fields.Integer(
        metadata={"description": "the version read; alternative to the If-Match header"},
    )


class HistoryQuerySchema(ItalianSchema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=500, error=_l("Deve essere tra {min} e {max}.")),
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, error=_l("Non può essere negativo.")),
    )
