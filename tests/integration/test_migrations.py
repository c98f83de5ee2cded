"""Every Alembic revision goes up and down, and the head matches the models exactly.

Runs against a scratch database of its own (an SQLite file, or a fresh PostgreSQL database
next to the test one) so it never disturbs the schema the other tests use.
"""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from portale.db import make_engine
from portale.migrate import alembic_config
from portale.models import import_all_models


@pytest.fixture
def scratch_url(tmp_path):
    url = os.environ.get("PORTALE_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"portale_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _diff(url: str) -> list:
    metadata = import_all_models().metadata
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_head_matches_models(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    assert _diff(scratch_url) == []
    assert "company" in _tables(scratch_url)


def test_every_revision_goes_up_and_down(scratch_url):
    cfg = alembic_config(scratch_url)
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    assert revisions, "no migrations found"
    for rev in revisions:
        command.upgrade(cfg, rev.revision)
        command.downgrade(cfg, rev.down_revision or "base")
        command.upgrade(cfg, rev.revision)
    command.downgrade(cfg, "base")
    assert _tables(scratch_url) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert _diff(scratch_url) == []
