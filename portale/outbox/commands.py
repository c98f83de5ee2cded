"""``portale outbox ...``: drain the outbox from cron or a terminal, and show its state."""

from __future__ import annotations

import time

import click
from flask import current_app


@click.group("outbox", help="The durable outbox of calls to external systems.")
def cli() -> None:
    pass


@cli.command("work")
@click.option("--once", is_flag=True, help="Run the due jobs once and exit (cron-friendly).")
@click.option("--max-jobs", default=100, show_default=True)
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
def work(once: bool, max_jobs: int, interval: float) -> None:
    from portale.extensions import db
    from portale.outbox import services
    from portale.outbox.worker import worker_name

    name = worker_name("cli")
    config = dict(current_app.config)
    while True:
        ran = services.drain(db.session_factory, worker=name, config=config, max_jobs=max_jobs)
        if once:
            click.echo(f"{ran} job(s) run")
            return
        if not ran:
            time.sleep(interval)


@cli.command("status")
def status() -> None:
    from portale.extensions import db
    from portale.outbox import services

    result = services.stats(db.session)
    for name, count in result.counts.items():
        click.echo(f"{name:<10} {count}")
    if result.oldest_queued_seconds is not None:
        click.echo(f"oldest waiting job: {result.oldest_queued_seconds:.0f} s")
