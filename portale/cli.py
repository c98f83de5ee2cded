"""The ``portale`` command: Flask's CLI plus the portal's own groups (db, reference, demo...)."""

from __future__ import annotations

import importlib

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

# Each area exposes a click group named ``cli`` in one of these modules.
COMMAND_MODULES = (
    "portale.reference.commands",
    "portale.catalogue.commands",
    "portale.demo",
    "portale.outbox.commands",
    "portale.backoffice.commands",
    "portale.reports.commands",
)


@click.group("db", help="Apply or roll back database migrations (Alembic).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from portale import migrate

    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from portale import migrate

    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    from portale import migrate

    migrate.revision(current_app.config["DATABASE_URL"], message)


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise
            continue
        app.cli.add_command(module.cli)


def _create_app() -> Flask:
    from portale import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Portale Unico delle Imprese")
