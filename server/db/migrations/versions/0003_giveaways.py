"""giveaways and their entries

Revision ID: 0003_giveaways
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0003_giveaways"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("giveaways",)
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "giveaways",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=True),
        sa.Column("buyers_only", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("seed_commitment", sa.String(length=64), nullable=False),
        sa.Column("entrants_hash", sa.String(length=64), nullable=True),
        sa.Column("entrant_count", sa.Integer(), nullable=True),
        sa.Column("winner_id", sa.String(length=40), nullable=True),
        sa.Column("winner_nickname", sa.String(length=64), nullable=True),
        sa.Column("winner_index", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.String(length=40), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        _ts("created_at", False),
        _ts("closed_at", True),
        _ts("drawn_at", True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_giveaways_broadcast_id_broadcasts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_giveaways_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_giveaways")),
    )
    op.create_index("ix_giveaways_broadcast_status", "giveaways", ["broadcast_id", "status"])
    op.create_table(
        "giveaway_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("giveaway_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("nickname", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["giveaway_id"], ["giveaways.id"], name=op.f("fk_giveaway_entries_giveaway_id_giveaways")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_giveaway_entries")),
        sa.UniqueConstraint("giveaway_id", "user_id", name="uq_giveaway_entries_person"),
    )
    op.create_index("ix_giveaway_entries_order", "giveaway_entries", ["giveaway_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_giveaway_entries_order", table_name="giveaway_entries")
    op.drop_table("giveaway_entries")
    op.drop_index("ix_giveaways_broadcast_status", table_name="giveaways")
    op.drop_table("giveaways")
