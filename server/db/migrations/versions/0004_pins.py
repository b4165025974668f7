"""up to three pinned products per broadcast (the single pin becomes the first)

Revision ID: 0004_pins
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0004_pins"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("pins",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast_pins",
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("pinned_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_broadcast_pins_broadcast_id_broadcasts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_broadcast_pins_product_id_products")
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "product_id", name=op.f("pk_broadcast_pins")),
    )
    op.execute(
        "INSERT INTO broadcast_pins (broadcast_id, product_id, seq, pinned_at) "
        "SELECT id, pinned_product_id, 1, created_at FROM broadcasts WHERE pinned_product_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("broadcast_pins")
