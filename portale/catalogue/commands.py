"""``portale catalogue load``: validate the catalogue files and bring them into the database."""

from __future__ import annotations

import sys

import click


@click.group("catalogue", help="The procedure catalogue (files under portale/catalogue/data).")
def cli() -> None:
    pass


@cli.command("load")
@click.argument("directory", required=False)
def load(directory: str | None) -> None:
    from portale.catalogue.loader import DATA_DIR, CatalogueError, load_catalogue
    from portale.catalogue.services import sync_catalogue
    from portale.extensions import db

    try:
        specs = load_catalogue(directory or DATA_DIR)
    except CatalogueError as error:
        click.echo(f"catalogue not loaded: {error}", err=True)
        sys.exit(1)
    for line in sync_catalogue(db.session, specs):
        click.echo(f"{line.code:<24} v{line.version:<3} {line.action:<12} {line.status}")
