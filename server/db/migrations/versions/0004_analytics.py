"""the sale's numbers: where each order's buyer came from, and each broadcast's final report

Revision ID: 0004_analytics
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0004_analytics"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("analytics",)
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("source", 40),
    ("utm_source", 40),
    ("utm_medium", 100),
    ("utm_campaign", 100),
    ("referrer", 20),
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    op.create_table(
        "broadcast_reports",
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_broadcast_reports_broadcast_id_broadcasts")
        ),
        sa.PrimaryKeyConstraint("broadcast_id", name=op.f("pk_broadcast_reports")),
    )


def downgrade() -> None:
    op.drop_table("broadcast_reports")
    with op.batch_alter_table("orders") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
