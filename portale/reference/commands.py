"""``portale reference load``: ISTAT municipalities, ATECO 2025 codes, seed organisations."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.group("reference", help="Reference data: municipalities, ATECO codes, offices, authorities.")
def cli() -> None:
    pass


@cli.command("load")
@with_appcontext
def load() -> None:
    """Load (or refresh) reference data; running it twice changes nothing."""
    from portale.extensions import db
    from portale.reference.services import load_reference_data

    started = time.perf_counter()
    for result in load_reference_data(db.session):
        click.echo(result.summary())
        for line in result.details:
            click.echo(f"  {line}")
    click.echo(f"done in {time.perf_counter() - started:.1f} s")
