"""SPID / CIE identity: login attempts, security log, proven tax codes

Revision ID: a1d3e5f7c9b2
Revises: ea6a5a5a1f28
Create Date: 2026-12-02 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portale.db

revision: str = "a1d3e5f7c9b2"
down_revision: str | None = "ea6a5a5a1f28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_authentication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=400), nullable=False),
        sa.Column("flavour", sa.String(length=8), nullable=False),
        sa.Column("acr", sa.String(length=100), nullable=False),
        sa.Column("next_url", sa.String(length=400), nullable=True),
        sa.Column("created_at", portale.db.UTCDateTime(), nullable=False),
        sa.Column("completed_at", portale.db.UTCDateTime(), nullable=True),
        sa.Column("identity", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("ended_at", portale.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state"),
    )
    op.create_index(
        op.f("ix_oidc_authentication_user_id"), "oidc_authentication", ["user_id"], unique=False
    )
    op.create_table(
        "security_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", portale.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("tax_code", sa.String(length=16), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_security_event_kind_at", "security_event", ["kind", "at"], unique=False)
    op.create_index(op.f("ix_security_event_tax_code"), "security_event", ["tax_code"], unique=False)
    op.create_index(op.f("ix_security_event_user_id"), "security_event", ["user_id"], unique=False)
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("tax_code_verified_at", portale.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("tax_code_verified_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("tax_code_verified_by")
        batch.drop_column("tax_code_verified_at")
    op.drop_index(op.f("ix_security_event_user_id"), table_name="security_event")
    op.drop_index(op.f("ix_security_event_tax_code"), table_name="security_event")
    op.drop_index("ix_security_event_kind_at", table_name="security_event")
    op.drop_table("security_event")
    op.drop_index(op.f("ix_oidc_authentication_user_id"), table_name="oidc_authentication")
    op.drop_table("oidc_authentication")
