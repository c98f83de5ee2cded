"""What the portal knows about signatures: the check of each uploaded file (made at upload,
or later by an outbox job).

A :class:`SignatureCheck` belongs to a stored file by its ``storage_key`` (attachments of a
filing, documents of an integration or of an opinion alike), so every upload path shares one
table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portale.db import Base, UTCDateTime


class SignatureCheck(Base):
    """The verification of one stored upload (``status`` from :mod:`portale.signatures.verify`)."""

    __tablename__ = "signature_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    format: Mapped[str | None] = mapped_column(String(8))
    problem: Mapped[str | None] = mapped_column(String(40))
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_tax_code: Mapped[str | None] = mapped_column(String(16), index=True)
    signing_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    intact: Mapped[bool | None] = mapped_column(Boolean)
    trusted: Mapped[bool | None] = mapped_column(Boolean)
    qualified: Mapped[bool | None] = mapped_column(Boolean)
    timestamped: Mapped[bool | None] = mapped_column(Boolean)
    timestamp_qualified: Mapped[bool | None] = mapped_column(Boolean)
    signers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # the document a .p7m envelops, stored beside the signed original
    content_key: Mapped[str | None] = mapped_column(String(200))
    content_kind: Mapped[str | None] = mapped_column(String(16))
    content_size: Mapped[int | None] = mapped_column(BigInteger)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["SignatureCheck"]
