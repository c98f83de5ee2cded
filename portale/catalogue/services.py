"""Catalogue use cases: load the files into versions, publish, find the current version, search."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority, User
from portale.catalogue import formbuilder
from portale.catalogue.loader import ProcedureTypeSpec
from portale.catalogue.models import (
    DRAFT,
    PUBLISHED,
    RETIRED,
    ProcedureType,
    ProcedureTypeVersion,
)
from portale.db import utcnow
from portale.reference.models import Municipality


@dataclass(frozen=True)
class SyncLine:
    """What loading one file did: ``created``, ``new_version`` (a draft) or ``unchanged``."""

    code: str
    action: str  # "created", "new_version", "unchanged"
    version: int
    status: str
    # Problems that do not stop loading, e.g. an authority code no authority has yet.
    warnings: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower case without accents: "attività" and "attivita" are the same search word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _search_text(spec: dict[str, Any]) -> str:
    parts = [
        spec["code"],
        spec["title"],
        spec.get("title_en", ""),
        spec["description"],
        spec.get("description_en", ""),
        " ".join(spec.get("legal_basis", [])),
    ]
    return fold(" ".join(parts))


def _warnings(session: Session, item: ProcedureTypeSpec) -> tuple[str, ...]:
    codes = item.spec.get("authorities", [])
    if not codes:
        return ()
    known = set(session.scalars(select(Authority.code).where(Authority.code.in_(codes))))
    return tuple(f"unknown authority {code}" for code in codes if code not in known)


def sync_catalogue(session: Session, specs: list[ProcedureTypeSpec]) -> list[SyncLine]:
    """Bring the files into the database; idempotent.

    A type seen for the first time is published at once. A changed file becomes a new draft
    version, which an administrator reviews and publishes; filed procedures keep theirs.
    """
    report = []
    for item in specs:
        warnings = _warnings(session, item)
        ptype = session.scalar(select(ProcedureType).where(ProcedureType.code == item.code))
        if ptype is None:
            ptype = ProcedureType(code=item.code, title=item.title_it, title_en=item.title_en)
            session.add(ptype)
            session.flush()
        same = session.scalar(
            select(ProcedureTypeVersion).where(
                ProcedureTypeVersion.type_id == ptype.id,
                ProcedureTypeVersion.content_hash == item.content_hash,
            )
        )
        if same is not None:
            # Keeps search working after a change in how search text is made; not a new version.
            same.search_text = _search_text(same.spec)
            report.append(SyncLine(item.code, "unchanged", same.version, same.status, warnings))
            continue
        latest = session.scalar(
            select(func.max(ProcedureTypeVersion.version)).where(
                ProcedureTypeVersion.type_id == ptype.id
            )
        )
        number = max(item.version, (latest or 0) + 1) if latest else item.version
        version = ProcedureTypeVersion(
            type_id=ptype.id,
            code=item.code,
            version=number,
            status=DRAFT,
            title=item.title_it,
            title_en=item.title_en,
            regime=item.regime,
            term_days=item.term_days,
            silent_assent=item.silent_assent,
            control_window_days=item.control_window_days,
            valid_from=date.fromisoformat(item.spec["valid_from"]),
            spec={**item.spec, "version": number},
            search_text=_search_text(item.spec),
            content_hash=item.content_hash,
            source=item.source,
        )
        session.add(version)
        session.flush()
        if latest is None:
            _publish(session, version, None)
            report.append(SyncLine(item.code, "created", number, PUBLISHED, warnings))
        else:
            report.append(SyncLine(item.code, "new_version", number, DRAFT, warnings))
    session.commit()
    return report


def _publish(session: Session, version: ProcedureTypeVersion, actor_id: int | None) -> None:
    for other in session.scalars(
        select(ProcedureTypeVersion).where(
            ProcedureTypeVersion.type_id == version.type_id,
            ProcedureTypeVersion.status == PUBLISHED,
            ProcedureTypeVersion.id != version.id,
        )
    ):
        other.status = RETIRED
    version.status = PUBLISHED
    version.published_at = utcnow()
    version.published_by_id = actor_id
    ptype = session.get(ProcedureType, version.type_id)
    if ptype is not None:
        ptype.title, ptype.title_en = version.title, version.title_en


def publish_version(
    session: Session, version_id: int, actor_id: int | User | None
) -> ProcedureTypeVersion:
    """Make a version the one new procedures are filed under; the previous one is retired.

    Procedures already filed keep the version they were filed under. Publishing the published
    version again changes nothing. ``actor_id`` may also be the acting ``User``.
    """
    version = session.get(ProcedureTypeVersion, version_id)
    if version is None:
        raise LookupError(version_id)
    if version.status == PUBLISHED:
        return version
    _publish(session, version, getattr(actor_id, "id", actor_id))
    session.commit()
    return version


def current_version(session: Session, code: str) -> ProcedureTypeVersion | None:
    return session.scalar(
        select(ProcedureTypeVersion)
        .where(ProcedureTypeVersion.code == code, ProcedureTypeVersion.status == PUBLISHED)
        .order_by(ProcedureTypeVersion.version.desc())
        .limit(1)
    )


def list_versions(session: Session, code: str) -> list[ProcedureTypeVersion]:
    return list(
        session.scalars(
            select(ProcedureTypeVersion)
            .where(ProcedureTypeVersion.code == code)
            .order_by(ProcedureTypeVersion.version.desc())
        )
    )


def list_types(session: Session) -> list[ProcedureType]:
    return list(session.scalars(select(ProcedureType).order_by(ProcedureType.title)))


def search_catalogue(
    session: Session,
    text: str | None = None,
    municipality_istat: str | None = None,
    locale: str = "it",
) -> list[ProcedureTypeVersion]:
    """Published procedure types matching every word of ``text`` and offered in the municipality."""
    query = select(ProcedureTypeVersion).where(ProcedureTypeVersion.status == PUBLISHED)
    for word in fold(text or "").split():
        query = query.where(ProcedureTypeVersion.search_text.contains(word, autoescape=True))
    rows = list(session.scalars(query))
    if municipality_istat:
        # The catalogue is tens of rows: the per-municipality list is filtered here.
        rows = [
            r
            for r in rows
            if not r.spec.get("municipalities") or municipality_istat in r.spec["municipalities"]
        ]
    return sorted(rows, key=lambda r: r.title_for(locale).lower())


def spec_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Field-level differences between two specs, for the administrator's review."""
    if old is None:
        return []
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key in ("fields", "attachments"):
            continue
        if old.get(key) != new.get(key):
            changes.append((key, old.get(key), new.get(key)))
    for kind, ident in (("fields", "name"), ("attachments", "code")):
        before = {item[ident]: item for item in old.get(kind, [])}
        after = {item[ident]: item for item in new.get(kind, [])}
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                changes.append((f"{kind}.{name}", before.get(name), after.get(name)))
    return changes


def spec_of(version: ProcedureTypeVersion) -> formbuilder.FormSpec:
    return formbuilder.parse_spec(version.spec or {})


def type_title_of(version: ProcedureTypeVersion) -> str:
    return version.title or version.code


def version_label_of(version: ProcedureTypeVersion) -> str:
    return str(version.version)


def field_choices(session: Session, spec: formbuilder.FormSpec) -> dict[str, list[tuple[str, str]]]:
    """Options that come from the database, loaded only when the form has such a field."""
    if not any(f.kind == "municipality" for f in spec.fields):
        return {}
    rows = session.execute(
        select(Municipality.istat_code, Municipality.name).order_by(Municipality.name)
    ).all()
    return {"municipality": [(code, name) for code, name in rows]}
