"""Reads the catalogue files (YAML, one procedure type each), validates them against
``schema.json`` and the rules a schema cannot say, and normalises them.

The normalised spec is what the database stores for a version and what the filing form reads:
Italian labels under ``label``, English ones under ``label_en``, times merged with the
regime's defaults (``data/_defaults.yaml``).

Beyond the schema the loader refuses: duplicate procedure codes, field names, option values
or attachment codes; conditions (``show_if``, ``required_if``) on fields that do not exist,
on themselves, in a loop, or with a value the controlling field can never have; bindings to
dossier paths the dossier does not know; a regime that contradicts its silent-assent rule or
control window; a regime with no term.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from portale.catalogue.fees import check_fees, normalise_fees
from portale.dossier.paths import DOSSIER_PATHS

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
DEFAULTS_FILE = "_defaults.yaml"
IMAGE_KINDS = ("png", "jpeg")
MAX_REPORTED_ERRORS = 5

SCIA = "SCIA"
SILENZIO_ASSENSO = "SILENZIO-ASSENSO"
COMUNICAZIONE = "COMUNICAZIONE"


class CatalogueError(ValueError):
    """A catalogue file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class ProcedureTypeSpec:
    """One procedure type as loaded: the columns queries need, and the whole normalised spec."""

    code: str
    version: int
    regime: str
    title_it: str
    title_en: str
    term_days: int | None
    silent_assent: bool
    control_window_days: int | None
    spec: dict[str, Any]
    source: str
    content_hash: str


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=2)
def _validator(definition: str | None = None) -> jsonschema.Draft202012Validator:
    """The validator of a whole file, or of one of the schema's ``$defs`` (e.g. ``defaults``)."""
    schema = _schema()
    if definition is not None:
        schema = {
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": f"#/$defs/{definition}",
        }
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings, so the schema and JSON storage see one form."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read(path: Path) -> Any:
    try:
        return _plain(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path.name}: not valid YAML: {error}") from None
    except ValueError as error:  # PyYAML builds dates itself: 2025-02-30 fails here
        raise CatalogueError(f"{path.name}: not valid YAML: {error}") from None


# --- schema errors, said where they are --------------------------------------------------------


def _where(raw: Any, path: Iterable[Any]) -> str:
    """``fields[3] (tipo).options`` rather than ``fields/3/options``: the name is findable."""
    out = ""
    node = raw
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name", node.get("code")), str):
                out += f" ({node.get('name', node.get('code'))})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _schema_errors(
    name: str, raw: Any, validator: jsonschema.Draft202012Validator
) -> CatalogueError | None:
    errors = sorted(validator.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    lines = [f"{_where(raw, e.absolute_path)}: {e.message}" for e in errors[:MAX_REPORTED_ERRORS]]
    more = len(errors) - MAX_REPORTED_ERRORS
    if more > 0:
        lines.append(f"and {more} more")
    return CatalogueError(f"{name}: " + "; ".join(lines))


# --- rules beyond the schema -------------------------------------------------------------------


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: set[str] = set()
    for v in values:
        (dups if v in seen else seen).add(v)
    return sorted(dups)


def _check_unique(name: str, raw: dict[str, Any]) -> None:
    fields = raw["fields"]
    if dups := _duplicates(f["name"] for f in fields):
        raise CatalogueError(f"{name}: duplicate field names: {', '.join(dups)}")
    if dups := _duplicates(a["code"] for a in raw["attachments"]):
        raise CatalogueError(f"{name}: duplicate attachment codes: {', '.join(dups)}")
    for f in fields:
        if f.get("options") is not None and f["type"] != "select":
            raise CatalogueError(
                f"{name}: field {f['name']!r} has options but is of type {f['type']!r}; "
                "only select fields have options"
            )
        if dups := _duplicates(o["value"] for o in f.get("options", [])):
            raise CatalogueError(
                f"{name}: field {f['name']!r} has duplicate option values: {', '.join(dups)}"
            )


def _condition_values(cond: dict[str, Any]) -> list[Any]:
    return [cond["equals"]] if "equals" in cond else list(cond["in"])


def _check_condition(
    name: str, owner: str, key: str, cond: dict[str, Any], fields: dict[str, dict[str, Any]]
) -> None:
    where = f"{name}: {owner} {key}"
    if ("equals" in cond) == ("in" in cond):
        raise CatalogueError(f"{where}: give exactly one of 'equals' or 'in'")
    target = fields.get(cond["field"])
    if target is None:
        raise CatalogueError(f"{where} depends on unknown field {cond['field']!r}")
    values = _condition_values(cond)
    if target["type"] == "checkbox" and not all(isinstance(v, bool) for v in values):
        raise CatalogueError(
            f"{where}: {cond['field']!r} is a checkbox, compare it with true or false"
        )
    if target["type"] == "select":
        allowed = {o["value"] for o in target["options"]}
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise CatalogueError(
                f"{where}: {cond['field']!r} has no option {wrong[0]!r} "
                f"(options: {', '.join(sorted(allowed))})"
            )


def _check_conditions(name: str, raw: dict[str, Any]) -> None:
    fields = {f["name"]: f for f in raw["fields"]}
    for f in raw["fields"]:
        cond = f.get("show_if")
        if cond is None:
            continue
        if cond["field"] == f["name"]:
            raise CatalogueError(f"{name}: field {f['name']!r} depends on itself")
        _check_condition(name, f"field {f['name']!r}", "show_if", cond, fields)
    for f in raw["fields"]:
        chain = [f["name"]]
        current = f.get("show_if")
        while current is not None:
            if current["field"] in chain:
                loop = " -> ".join([*chain, current["field"]])
                raise CatalogueError(f"{name}: show_if conditions form a loop: {loop}")
            chain.append(current["field"])
            current = fields[current["field"]].get("show_if")
    for a in raw["attachments"]:
        if cond := a.get("required_if"):
            _check_condition(name, f"attachment {a['code']!r}", "required_if", cond, fields)


def _check_bindings(name: str, raw: dict[str, Any]) -> None:
    for f in raw["fields"]:
        path = f.get("dossier_path")
        if path and path not in DOSSIER_PATHS:
            raise CatalogueError(
                f"{name}: field {f['name']!r} binds unknown dossier path {path!r} "
                f"(known: {', '.join(sorted(DOSSIER_PATHS))})"
            )


def _check_regime(name: str, raw: dict[str, Any]) -> None:
    regime = raw["regime"]
    silent = raw.get("silent_assent")
    if regime == SILENZIO_ASSENSO and silent is False:
        raise CatalogueError(f"{name}: regime SILENZIO-ASSENSO needs silent_assent: true")
    if regime != SILENZIO_ASSENSO and silent:
        raise CatalogueError(
            f"{name}: silent_assent: true with regime {regime}; "
            "a type approved by silence has regime SILENZIO-ASSENSO"
        )
    window = raw.get("control_window_days")
    if window is not None and regime != SCIA:
        raise CatalogueError(f"{name}: control_window_days is only for regime SCIA, not {regime}")
    term = (raw.get("times") or {}).get("max_gg_proc")
    if regime == SCIA and window is not None and term is not None and window != term:
        raise CatalogueError(
            f"{name}: control_window_days ({window}) differs from times.max_gg_proc ({term}); "
            "for a SCIA they are the same control window"
        )


def _check_fees(name: str, raw: dict[str, Any]) -> None:
    fields = {f["name"]: f for f in raw["fields"]}
    check_fees(
        raw,
        fail=lambda message: CatalogueError(f"{name}: {message}"),
        check_condition=lambda owner, key, cond: _check_condition(name, owner, key, cond, fields),
    )


def _check_rules(name: str, raw: dict[str, Any]) -> None:
    _check_unique(name, raw)
    _check_conditions(name, raw)
    _check_bindings(name, raw)
    _check_regime(name, raw)
    _check_fees(name, raw)


# --- normalisation -----------------------------------------------------------------------------


def _flatten_text(item: dict[str, Any], key: str) -> None:
    text = item.get(key)
    if isinstance(text, dict):
        item[key] = text["it"]
        item[f"{key}_en"] = text["en"]


def _merge_times(spec: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    own = dict(spec.get("times") or {})
    if spec["regime"] == SCIA and spec.get("control_window_days") and "max_gg_proc" not in own:
        own["max_gg_proc"] = spec["control_window_days"]
    return {**(defaults.get(spec["regime"]) or {}), **own}


def normalise(raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The spec as stored: texts flattened (``x`` Italian, ``x_en`` English), defaults merged."""
    spec = json.loads(json.dumps(raw))  # deep copy
    spec["times"] = _merge_times(spec, defaults)
    if spec["regime"] == SCIA:
        spec.setdefault("control_window_days", spec["times"].get("max_gg_proc", 60))
    spec.setdefault("silent_assent", spec["regime"] == SILENZIO_ASSENSO)
    spec["integration"] = {
        # L. 241/1990 art. 2 c. 7: once, for at most 30 days, unless the type says otherwise.
        "suspends": True,
        "max_suspension_days": 30,
        "requests_allowed": 1,
        **(spec.get("integration") or {}),
    }
    spec.setdefault("authorities", [])
    spec.setdefault("durc", False)
    spec.setdefault("fees", [])
    for key in ("title", "description", "local_rules"):
        _flatten_text(spec, key)
    for f in spec["fields"]:
        _flatten_text(f, "label")
        _flatten_text(f, "help")
        for option in f.get("options", []):
            _flatten_text(option, "label")
    for a in spec["attachments"]:
        _flatten_text(a, "label")
        _flatten_text(a, "help")
        # "image" in the files means the image formats the filing area recognises by content.
        a["accept"] = [
            k for kind in a["accept"] for k in (IMAGE_KINDS if kind == "image" else (kind,))
        ]
    normalise_fees(spec["fees"])
    for fee in spec["fees"]:
        _flatten_text(fee, "label")
        surcharges = [
            *(fee.get("surcharges") or []),
            *(s for o in (fee.get("overrides") or {}).values() for s in o.get("surcharges") or []),
        ]
        for surcharge in surcharges:
            _flatten_text(surcharge, "label")
    return spec


def content_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def load_defaults(path: Path) -> dict[str, Any]:
    """The regime defaults (SSU times per regime), validated like a procedure file."""
    raw = _read(path) or {}
    if error := _schema_errors(path.name, raw, _validator("defaults")):
        raise error
    return raw


def load_file(path: Path, defaults: dict[str, Any]) -> ProcedureTypeSpec:
    raw = _read(path)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: expected a mapping at the top level")
    if error := _schema_errors(path.name, raw, _validator()):
        raise error
    _check_rules(path.name, raw)
    spec = normalise(raw, defaults)
    term = spec["times"].get("max_gg_proc") if spec["regime"] != COMUNICAZIONE else None
    if spec["regime"] != COMUNICAZIONE and term is None:
        raise CatalogueError(
            f"{path.name}: regime {spec['regime']} needs a term: set times.max_gg_proc "
            f"here or in {DEFAULTS_FILE}"
        )
    return ProcedureTypeSpec(
        code=spec["code"],
        version=spec["version"],
        regime=spec["regime"],
        title_it=spec["title"],
        title_en=spec["title_en"],
        term_days=term,
        silent_assent=bool(spec["silent_assent"]),
        control_window_days=spec.get("control_window_days"),
        spec=spec,
        source=path.name,
        content_hash=content_hash(spec),
    )


def load_catalogue(directory: Path | str = DATA_DIR) -> list[ProcedureTypeSpec]:
    """Every procedure type in ``directory``; raises CatalogueError on the first bad file.

    The regime defaults come from ``_defaults.yaml`` in the same directory, or the shipped
    one when the directory has none.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogueError(f"{directory}: not a directory")
    defaults_path = directory / DEFAULTS_FILE
    if not defaults_path.exists():
        defaults_path = DATA_DIR / DEFAULTS_FILE
    defaults = load_defaults(defaults_path)
    paths = sorted(
        p for p in [*directory.glob("*.yaml"), *directory.glob("*.yml")] if p.name != DEFAULTS_FILE
    )
    if not paths:
        raise CatalogueError(f"{directory}: no procedure type files (*.yaml)")
    specs = [load_file(path, defaults) for path in paths]
    by_code: dict[str, list[str]] = {}
    for s in specs:
        by_code.setdefault(s.code, []).append(s.source)
    duplicates = {code: files for code, files in sorted(by_code.items()) if len(files) > 1}
    if duplicates:
        said = "; ".join(f"{code} ({', '.join(files)})" for code, files in duplicates.items())
        raise CatalogueError(f"duplicate procedure codes: {said}")
    return specs
