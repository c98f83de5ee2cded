"""``portale data generate``: a realistic data set for reports and benchmarks;
``portale data rebuild-rollups``: the report roll-ups recomputed from the summaries."""

from __future__ import annotations

from datetime import UTC, datetime

import click


@click.group("data", help="Generated data sets for reports and benchmarks.")
def cli() -> None:
    pass


@cli.command("generate")
@click.option("--companies", type=click.IntRange(min=1), required=True)
@click.option("--procedures", type=click.IntRange(min=0), required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--years", type=click.IntRange(min=1, max=10), default=3, show_default=True)
@click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Generate as of this day (noon UTC); same seed and day give the same data.",
)
@click.option(
    "--truncate",
    is_flag=True,
    help="First remove every procedure and the companies and users generated before.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when generated procedures are there already (for `make demo`).",
)
def generate(
    companies: int,
    procedures: int,
    seed: int,
    years: int,
    now: datetime | None,
    truncate: bool,
    if_empty: bool,
) -> None:
    """Companies, procedures, events, opinions and summaries through bulk inserts."""
    from sqlalchemy import func, select

    from portale.cases.models import Procedure
    from portale.extensions import db

    if if_empty and not truncate:
        present = db.session.scalar(
            select(func.count())
            .select_from(Procedure)
            .where(Procedure.idempotency_key.like("generated:%"))
        )
        if present:
            click.echo(f"{present} generated procedures are there already: nothing to do")
            return
    from portale.reports.generator import GeneratorConfig
    from portale.reports.generator import generate as run

    moment = now.replace(hour=12, tzinfo=UTC) if now else datetime.now(UTC).replace(microsecond=0)
    config = GeneratorConfig(
        companies=companies, procedures=procedures, seed=seed, years=years, now=moment
    )
    # The session itself, not the thread-local proxy: the generator hands it to its writer
    # thread, which must use the same connection (on SQLite a second one would wait for the
    # first one's write lock).
    stats = run(db.session(), config, truncate=truncate, progress=click.echo)
    click.echo(
        f"done: {stats.companies} companies, {stats.local_units} local units, {stats.users} "
        f"users, {stats.procedures} procedures, {stats.events} events, {stats.opinions} "
        f"opinions in {stats.seconds:.1f} s ({stats.procedures_per_second:,.0f} procedures/s)"
    )


@cli.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute the report roll-ups from the procedure summaries (after a bulk load or a
    repair: the portal keeps them current by itself)."""
    from portale.extensions import db
    from portale.reports import rollups

    rows = rollups.rebuild(db.session)
    db.session.commit()
    click.echo(f"report roll-ups rebuilt: {rows} rows")
