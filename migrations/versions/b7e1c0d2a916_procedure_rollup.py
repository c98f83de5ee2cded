"""report roll-ups: exact histograms of the procedure summaries; summaries indexed by refresh

Revision ID: b7e1c0d2a916
Revises: 5d1e0c7a9f21
Create Date: 2026-12-02 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e1c0d2a916"
down_revision: str | None = "5d1e0c7a9f21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure_rollup",
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("week", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type_code", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality",
            "office_id",
            "measure",
            "month",
            "week",
            "type_code",
            "value",
            name=op.f("pk_procedure_rollup"),
        ),
    )
    op.create_index(
        "ix_procedure_summary_refreshed", "procedure_summary", ["refreshed_at"], unique=False
    )
    # Existing summaries are rolled up once, by the same statement the portal uses.
    from sqlalchemy.orm import Session

    from portale.reports import rollups

    rollups.rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_index("ix_procedure_summary_refreshed", table_name="procedure_summary")
    op.drop_table("procedure_rollup")
