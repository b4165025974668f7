"""mirror delivery state

Revision ID: 0002_mirror
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0002_mirror"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("mirror",)
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "mirror_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("sent_generation", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at", False),
        sa.Column("lease_owner", sa.String(length=40), nullable=True),
        _ts("pending_since", True),
        _ts("sent_at", True),
        sa.Column("last_value", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        _ts("created_at", False),
        _ts("updated_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_jobs")),
        sa.UniqueConstraint("channel", "kind", "key", name="uq_mirror_jobs_channel_kind_key"),
    )
    with op.batch_alter_table("mirror_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_mirror_jobs_due", ["channel", "status", "next_attempt_at"], unique=False)
    op.create_table(
        "mirror_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _ts("updated_at", False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mirror_cursors")),
    )
    op.create_table(
        "mirror_seen",
        sa.Column("outbox_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_mirror_seen")),
    )
    op.create_table(
        "mirror_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        _ts("received_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_webhooks")),
        sa.UniqueConstraint("channel", "delivery_id", name="uq_mirror_webhooks_delivery"),
    )


def downgrade() -> None:
    op.drop_table("mirror_webhooks")
    op.drop_table("mirror_seen")
    op.drop_table("mirror_cursors")
    with op.batch_alter_table("mirror_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_mirror_jobs_due")
    op.drop_table("mirror_jobs")
