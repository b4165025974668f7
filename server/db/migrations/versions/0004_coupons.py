"""live coupons, and each order's coupon and discount

Revision ID: 0004_coupons
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0004_coupons"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("coupons",)
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("max_per_buyer", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("expires_at", False),
        _ts("ended_at", True),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_coupons_broadcast_id_broadcasts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
    )
    op.create_index("ix_coupons_broadcast_code", "coupons", ["broadcast_id", "code"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("coupon_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("coupon_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("discount", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(op.f("ix_orders_coupon_id"), ["coupon_id"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index(op.f("ix_orders_coupon_id"))
        batch.drop_column("discount")
        batch.drop_column("coupon_code")
        batch.drop_column("coupon_id")
    op.drop_index("ix_coupons_broadcast_code", table_name="coupons")
    op.drop_table("coupons")
