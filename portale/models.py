"""Imports every area's models so ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from __future__ import annotations

import importlib

from portale.db import Base

MODEL_MODULES = (
    "portale.reference.models",
    "portale.accounts.models",
    "portale.accounts.identity_models",
    "portale.dossier.models",
    "portale.catalogue.models",
    "portale.cases.models",
    "portale.cases.counters",
    "portale.cases.routing",
    "portale.cases.act_models",
    "portale.procedures.models",
    "portale.outbox.models",
    "portale.backoffice.worklist_models",
    "portale.reports.models",
    "portale.external.models",
    "portale.signatures.models",
    "portale.payments.models",
    "portale.programme.models",
)


def import_all_models() -> type[Base]:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            # Only a missing area module is tolerated, never a broken import inside one.
            if error.name is None or not name.startswith(error.name):
                raise
    return Base
