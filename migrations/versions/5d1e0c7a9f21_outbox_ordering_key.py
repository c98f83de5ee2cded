"""outbox ordering key: jobs of one CUI to one recipient run in the order they were queued

Revision ID: 5d1e0c7a9f21
Revises: 7e1e042e3b89
Create Date: 2026-12-02 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1e0c7a9f21"
down_revision: str | None = "7e1e042e3b89"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordering_key", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_outbox_job_ordering", ["ordering_key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_job_ordering")
        batch_op.drop_column("ordering_key")
