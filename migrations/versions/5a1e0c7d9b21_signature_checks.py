"""signature checks of uploads

Revision ID: 5a1e0c7d9b21
Revises: a1d3e5f7c9b2
Create Date: 2026-12-02 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portale.db

revision: str = "5a1e0c7d9b21"
down_revision: str | None = "a1d3e5f7c9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signature_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("problem", sa.String(length=40), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("signer_tax_code", sa.String(length=16), nullable=True),
        sa.Column("signing_time", portale.db.UTCDateTime(), nullable=True),
        sa.Column("intact", sa.Boolean(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=True),
        sa.Column("qualified", sa.Boolean(), nullable=True),
        sa.Column("timestamped", sa.Boolean(), nullable=True),
        sa.Column("timestamp_qualified", sa.Boolean(), nullable=True),
        sa.Column("signers", sa.JSON(), nullable=False),
        sa.Column("content_key", sa.String(length=200), nullable=True),
        sa.Column("content_kind", sa.String(length=16), nullable=True),
        sa.Column("content_size", sa.BigInteger(), nullable=True),
        sa.Column("checked_at", portale.db.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_check")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_signature_check_storage_key")),
    )
    op.create_index(
        op.f("ix_signature_check_signer_tax_code"), "signature_check", ["signer_tax_code"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signature_check_signer_tax_code"), table_name="signature_check")
    op.drop_table("signature_check")
