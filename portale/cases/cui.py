"""The CUI (*codice univoco di istanza*) of the SSU specification (json-schema/cui-schema.yaml).

A CUI is a context, an issue date, a progressive number that restarts every year and a UUID. The
pair (progressive, year) is unique within a context; the UUID is unique everywhere and is the key
the SSU e-services use (``instance/{cui_uuid}/...``). Nationally the SSU catalogue issues CUIs;
until the portal is connected to it, it issues its own with the same shape and a gapless yearly
counter per context.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from portale.cases.counters import next_value

DEFAULT_CONTEXT = "SUAP"


@dataclass(frozen=True)
class Cui:
    context: str
    data: date
    progressive: int
    uuid: str

    @classmethod
    def of(cls, procedure: Any) -> Cui:
        return cls(
            context=procedure.cui_context,
            data=procedure.cui_date,
            progressive=procedure.cui_progressive,
            uuid=procedure.cui_uuid,
        )

    def as_ssu(self) -> dict[str, str]:
        """The object of the SSU ``cui`` schema.

        The schema requires ``progressive`` but names the property ``progressivo``: both are
        written so that a validator reading either name is satisfied.
        """
        number = f"{self.progressive:08d}"
        return {
            "context": self.context,
            "data": self.data.isoformat(),
            "progressive": number,
            "progressivo": number,
            "uuid": self.uuid,
        }

    def __str__(self) -> str:
        return f"{self.context}-{self.data.isoformat()}-{self.progressive:08d}-{self.uuid}"


def issue_cui(session: Session, on: date, context: str = DEFAULT_CONTEXT) -> Cui:
    """A new CUI dated ``on``; its progressive is taken inside the caller's transaction."""
    progressive = next_value(session, f"cui:{context}", on.year)
    return Cui(context=context, data=on, progressive=progressive, uuid=str(uuid.uuid4()))
