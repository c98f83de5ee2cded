"""Shared fixtures: one app and schema per test session, one rolled-back transaction per test.

SQLite (a temporary file) by default; PostgreSQL when PORTALE_TEST_DATABASE_URL is set.
The schema here comes from the models; tests/integration/test_migrations.py proves the
Alembic revisions produce the same schema, up and down, on both databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from portale import create_app
from portale.accounts.passwords import use_fast_hashing
from portale.db import make_engine
from portale.extensions import db as portal_db
from portale.models import import_all_models

use_fast_hashing()


def _compile_translations() -> None:
    # `make test` compiles them too; this keeps a bare `pytest` run in English-capable shape.
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parents[1].glob("portale/translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


_compile_translations()

TEST_PASSWORD = "password-di-prova-123"


def postgres_database_for_worker(url: str, suffix: str) -> str:
    """A database of its own for each pytest-xdist worker, created on first use."""
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{suffix}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def resolve_test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PORTALE_TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url:
        return postgres_database_for_worker(url, worker) if worker else url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return resolve_test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    base = import_all_models()
    eng = make_engine(database_url)
    base.metadata.drop_all(eng)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:  # leftovers of an earlier migration test
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    var = tmp_path_factory.mktemp("var")
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "VAR_DIR": str(var),
            "STORAGE_PATH": str(var / "storage"),
            "MAIL_BACKEND": "memory",
            "MAIL_OUTBOX_DIR": str(var / "mail"),
            "EMBEDDED_WORKER": False,
            "SERVER_NAME": None,
        }
    )
    return application


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session(app: Flask, connection: Connection) -> Iterator[Session]:
    """The app's scoped session, bound to a transaction rolled back after the test.

    Services may commit: with ``create_savepoint`` their commits release savepoints only.
    """
    portal_db.session.remove()
    portal_db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    from tests import factories

    factories.bind(portal_db.session)
    yield portal_db.session()
    portal_db.session.remove()
    portal_db.session_factory.configure(
        bind=portal_db.engine, join_transaction_mode="conditional_savepoint"
    )


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, user, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    response = client.post(
        "/account/accedi", data={"email": user.email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(client: FlaskClient):  # type: ignore[no-untyped-def]
    def _login(user):  # type: ignore[no-untyped-def]
        return login(client, user)

    return _login


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache() -> Iterator[None]:
    # Each test's data are rolled back, and frozen clocks give different data the same
    # "latest summary change": a dashboard kept by one test must not answer the next.
    from portale.reports.cache import dashboards

    dashboards.clear()
    yield
