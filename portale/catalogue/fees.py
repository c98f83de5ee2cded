"""Fees of a procedure type, computed from the answers by the catalogue's declarative rules.

A fee (secretarial fees, the stamp duty on the instance or on the act) has a base amount, and
optionally bands by a numeric answer (``tiers``: e.g. square metres of an outdoor seating
area) and amounts added when an answer holds (``surcharges``: e.g. "in the historic centre").
A municipality may change the amount, the bands and the surcharges (``overrides`` keyed by
its ISTAT code), except for the stamp duty, which is a state tax (D.P.R. 642/1972). Pure
functions over the normalised spec: no database, no Flask.

``check_fees`` holds the rules a JSON schema cannot say, for the catalogue loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SECRETARIAL = "secretarial"
STAMP_DUTY = "stamp_duty"
OTHER = "other"

DUE_FILING = "filing"
DUE_REQUEST = "request"
DUE_ACT = "act"

# pagoPA taxonomy of collections (tassonomia dei servizi di incasso), used when a fee does not
# name its own: each office confirms them with its treasury.
DEFAULT_CATEGORY = {
    SECRETARIAL: "9/0101108TS/",
    STAMP_DUTY: "9/0301109AP/",
    OTHER: "9/0101108TS/",
}


@dataclass(frozen=True)
class FeeLine:
    """One fee as it applies to one filing: the amount and why."""

    code: str
    kind: str
    due: str
    label: str
    label_en: str
    legal_basis: str
    category: str
    amount_cents: int
    basis: tuple[str, ...] = ()  # Italian notes: the band applied, the surcharges added

    @property
    def is_stamp(self) -> bool:
        return self.kind == STAMP_DUTY


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None


def _holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    value = answers.get(condition["field"])
    wanted = [condition["equals"]] if "equals" in condition else list(condition["in"])
    for target in wanted:
        if isinstance(target, bool):
            if bool(value) is target and (value not in (None, "") or target is False):
                return True
        elif str(value) == str(target):
            return True
    return False


def _euro(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €"


def _band(
    tiers: Mapping[str, Any], answers: Mapping[str, Any], label: str
) -> tuple[int, str] | None:
    value = _number(answers.get(tiers["field"]))
    if value is None:
        return None
    lower = Decimal(0)
    for bracket in tiers["brackets"]:
        up_to = bracket.get("up_to")
        if up_to is None or value <= Decimal(str(up_to)):
            where = f"oltre {lower:g}" if up_to is None else f"fino a {Decimal(str(up_to)):g}"
            return bracket["amount_cents"], f"{label} {value:g}: fascia {where}"
        lower = Decimal(str(up_to))
    return None


def _rules(fee: Mapping[str, Any], municipality: str | None) -> dict[str, Any]:
    rules = {
        "amount_cents": fee["amount_cents"],
        "tiers": fee.get("tiers"),
        "surcharges": fee.get("surcharges") or [],
    }
    if fee.get("kind") != STAMP_DUTY and municipality:
        rules.update((fee.get("overrides") or {}).get(municipality) or {})
    return rules


def compute_fee(
    fee: Mapping[str, Any],
    answers: Mapping[str, Any],
    municipality: str | None,
    labels: Mapping[str, str] | None = None,
) -> FeeLine:
    rules = _rules(fee, municipality)
    amount = rules["amount_cents"]
    basis: list[str] = []
    if municipality and municipality in (fee.get("overrides") or {}):
        basis.append("importo stabilito dal Comune")
    if rules.get("tiers"):
        field = rules["tiers"]["field"]
        band = _band(rules["tiers"], answers, (labels or {}).get(field, field))
        if band is not None:
            amount, note = band
            basis.append(note)
    for surcharge in rules["surcharges"]:
        if _holds(surcharge["when"], answers):
            amount += surcharge["amount_cents"]
            label = surcharge.get("label") or surcharge["when"]["field"]
            if isinstance(label, dict):  # a raw file's text, not yet normalised
                label = label["it"]
            basis.append(f"{label}: + {_euro(surcharge['amount_cents'])}")
    kind = fee.get("kind", SECRETARIAL)
    return FeeLine(
        code=fee["code"],
        kind=kind,
        due=fee.get("due", DUE_FILING),
        label=fee["label"],
        label_en=fee.get("label_en", fee["label"]),
        legal_basis=fee.get("legal_basis", ""),
        category=fee.get("category") or DEFAULT_CATEGORY.get(kind, DEFAULT_CATEGORY[OTHER]),
        amount_cents=amount,
        basis=tuple(basis),
    )


def compute_fees(
    spec: Mapping[str, Any],
    answers: Mapping[str, Any],
    municipality: str | None,
    *,
    due: str | None = None,
) -> list[FeeLine]:
    """The type's fees for these answers in this municipality (only those ``due`` then)."""
    labels = {f["name"]: f.get("label", f["name"]) for f in spec.get("fields") or []}
    lines = [compute_fee(f, answers, municipality, labels) for f in spec.get("fees") or []]
    return [line for line in lines if due is None or line.due == due]


def payable(lines: list[FeeLine]) -> list[FeeLine]:
    return [line for line in lines if line.amount_cents > 0]


def total_cents(lines: list[FeeLine]) -> int:
    return sum(line.amount_cents for line in lines)


# --- rules beyond the schema, for the catalogue loader -------------------------------------


def normalise_fees(fees: list[dict[str, Any]]) -> None:
    """Defaults for older files: a code from the position, secretarial, due at filing."""
    for index, fee in enumerate(fees, start=1):
        fee.setdefault("code", f"fee_{index}")
        fee.setdefault("kind", SECRETARIAL)
        fee.setdefault("due", DUE_FILING)


def check_fees(
    raw: Mapping[str, Any],
    fail: Callable[[str], Exception],
    check_condition: Callable[[str, str, dict[str, Any]], None],
) -> None:
    """Raise ``fail(message)`` where the fees contradict themselves or the form's fields.

    ``check_condition(owner, key, condition)`` is the loader's own check of a ``show_if``.
    """
    fields = {f["name"]: f for f in raw.get("fields", [])}
    seen: set[str] = set()
    for index, fee in enumerate(raw.get("fees") or []):
        where = f"fees[{index}] ({fee.get('code', index + 1)})"
        code = fee.get("code")
        if code is not None:
            if code in seen:
                raise fail(f"{where}.code: duplicate fee code {code!r}")
            seen.add(code)
        if fee.get("kind") == STAMP_DUTY:
            if fee["amount_cents"] <= 0:
                raise fail(f"{where}.amount_cents: the stamp duty must be more than 0")
            for key in ("overrides", "tiers", "surcharges"):
                if fee.get(key):
                    raise fail(
                        f"{where}.{key}: the stamp duty is a state tax, fixed by law; "
                        "neither answers nor municipalities change it"
                    )
        if fee.get("due") == DUE_ACT and raw.get("regime") == "COMUNICAZIONE":
            raise fail(f"{where}.due: a COMUNICAZIONE issues no act to pay a fee on")
        _check_amounts(where, fee, fields, fail, check_condition)
        for istat, amounts in (fee.get("overrides") or {}).items():
            _check_amounts(f"{where}.overrides.{istat}", amounts, fields, fail, check_condition)


def _check_amounts(
    where: str,
    amounts: Mapping[str, Any],
    fields: Mapping[str, Mapping[str, Any]],
    fail: Callable[[str], Exception],
    check_condition: Callable[[str, str, dict[str, Any]], None],
) -> None:
    tiers = amounts.get("tiers")
    if tiers:
        target = fields.get(tiers["field"])
        if target is None:
            raise fail(f"{where}.tiers.field: no field {tiers['field']!r} in the form")
        if target["type"] != "number":
            raise fail(
                f"{where}.tiers.field: {tiers['field']!r} is a {target['type']} field; "
                "bands need a number field"
            )
        brackets = tiers["brackets"]
        if "up_to" in brackets[-1]:
            raise fail(f"{where}.tiers.brackets: the last band has no up_to (it covers the rest)")
        limits = [b.get("up_to") for b in brackets[:-1]]
        if None in limits:
            raise fail(f"{where}.tiers.brackets: only the last band may leave out up_to")
        if any(b <= a for a, b in zip(limits, limits[1:], strict=False)):
            raise fail(f"{where}.tiers.brackets: up_to must grow from one band to the next")
    for number, surcharge in enumerate(amounts.get("surcharges") or []):
        check_condition(where, f"surcharges[{number}].when", surcharge["when"])
