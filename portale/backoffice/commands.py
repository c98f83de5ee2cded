"""``portale backoffice tick``: the scheduled back-office jobs, for cron (idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("backoffice", help="Back office: scheduled jobs on filed procedures.")
def cli() -> None:
    pass


@cli.command("tick")
@with_appcontext
@click.option("--now", "now_text", default=None, help="Act as of this ISO instant (default: now).")
def tick_command(now_text: str | None) -> None:
    """Silent assent, end of SCIA windows, expired requests. Running it twice changes nothing."""
    from portale.backoffice.jobs import tick
    from portale.extensions import db
    from portale.storage import storage_from_config

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--now") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    session = db.session_factory()
    try:
        done = tick(session, storage_from_config(current_app.config), now)
    finally:
        session.close()
    click.echo(", ".join(f"{name}: {count}" for name, count in done.items()))
