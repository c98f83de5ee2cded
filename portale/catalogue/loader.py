"""Reads the catalogue files (YAML, one procedure type each), validates them against
``schema.json`` and a few rules a schema cannot say, and normalises them.

The normalised spec is what the database stores for a version and what the filing form reads:
Italian labels under ``label``, English ones under ``label_en``, times merged with the
regime's defaults (``data/_defaults.yaml``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from portale.dossier.paths import DOSSIER_PATHS

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
DEFAULTS_FILE = "_defaults.yaml"
IMAGE_KINDS = ("png", "jpeg")


class CatalogueError(ValueError):
    """A catalogue file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class ProcedureTypeSpec:
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
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
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


def _check_rules(name: str, raw: dict[str, Any]) -> None:
    fields = raw["fields"]
    names = [f["name"] for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CatalogueError(f"{name}: duplicate field names: {', '.join(duplicates)}")
    codes = [a["code"] for a in raw["attachments"]]
    if len(codes) != len(set(codes)):
        raise CatalogueError(f"{name}: duplicate attachment codes")
    for f in fields:
        cond = f.get("show_if")
        if cond and cond["field"] not in names:
            raise CatalogueError(
                f"{name}: field {f['name']!r} depends on unknown field {cond['field']!r}"
            )
        if cond and cond["field"] == f["name"]:
            raise CatalogueError(f"{name}: field {f['name']!r} depends on itself")
        path = f.get("dossier_path")
        if path and path not in DOSSIER_PATHS:
            raise CatalogueError(f"{name}: field {f['name']!r} binds unknown dossier path {path!r}")
    if raw["regime"] == "SILENZIO-ASSENSO" and not raw.get("silent_assent", True):
        raise CatalogueError(f"{name}: regime SILENZIO-ASSENSO needs silent_assent: true")


def _flatten_text(item: dict[str, Any], key: str) -> None:
    text = item.get(key)
    if isinstance(text, dict):
        item[key] = text["it"]
        item[f"{key}_en"] = text["en"]


def normalise(raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    spec = json.loads(json.dumps(raw))  # deep copy
    spec["times"] = {**(defaults.get(spec["regime"]) or {}), **(spec.get("times") or {})}
    if spec["regime"] == "SCIA":
        spec.setdefault("control_window_days", spec["times"].get("max_gg_proc", 60))
    spec.setdefault("silent_assent", spec["regime"] == "SILENZIO-ASSENSO")
    spec.setdefault("integration", {})
    spec["integration"] = {
        "suspends": True,
        "max_suspension_days": 30,
        "requests_allowed": 1,
        **spec["integration"],
    }
    spec.setdefault("authorities", [])
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
        # "image" in the files means the image formats the filing area recognises by content.
        a["accept"] = [
            k for kind in a["accept"] for k in (IMAGE_KINDS if kind == "image" else (kind,))
        ]
    for fee in spec["fees"]:
        _flatten_text(fee, "label")
    return spec


def content_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def load_file(path: Path, defaults: dict[str, Any]) -> ProcedureTypeSpec:
    raw = _read(path)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: expected a mapping at the top level")
    errors = sorted(_validator().iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise CatalogueError(f"{path.name}: {where}: {first.message}")
    _check_rules(path.name, raw)
    spec = normalise(raw, defaults)
    term = spec["times"].get("max_gg_proc") if spec["regime"] != "COMUNICAZIONE" else None
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
    """Every procedure type in ``directory``; raises CatalogueError on the first bad file."""
    directory = Path(directory)
    defaults_path = directory / DEFAULTS_FILE
    if not defaults_path.exists():
        defaults_path = DATA_DIR / DEFAULTS_FILE
    defaults = _read(defaults_path) or {}
    specs = [
        load_file(path, defaults)
        for path in sorted(directory.glob("*.yaml"))
        if path.name != DEFAULTS_FILE
    ]
    codes = [s.code for s in specs]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise CatalogueError(f"duplicate procedure codes: {', '.join(duplicates)}")
    return specs
