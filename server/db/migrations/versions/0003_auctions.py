"""auctions and their accepted bids

Revision ID: 0003_auctions
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0003_auctions"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("auctions",)
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "auctions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starting_bid", sa.Integer(), nullable=False),
        sa.Column("increment", sa.Integer(), nullable=False),
        sa.Column("anti_snipe_s", sa.Integer(), nullable=False),
        sa.Column("reserve_price", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("ends_at", False),
        _ts("ended_at", True),
        sa.Column("winner_id", sa.String(length=40), nullable=True),
        sa.Column("winning_bid", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.String(length=40), nullable=True),
        sa.Column("reservation_id", sa.String(length=80), nullable=True),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_auctions_broadcast_id_broadcasts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_auctions_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auctions")),
    )
    op.create_index("ix_auctions_status", "auctions", ["status"])
    op.create_table(
        "auction_bids",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("auction_id", sa.String(length=40), nullable=False),
        sa.Column("bidder_id", sa.String(length=40), nullable=False),
        sa.Column("nickname", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_auction_bids_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auction_bids")),
        sa.UniqueConstraint("auction_id", "bidder_id", "idempotency_key", name="uq_auction_bids_idem"),
    )
    op.create_index("ix_auction_bids_auction_amount", "auction_bids", ["auction_id", "amount"])


def downgrade() -> None:
    op.drop_index("ix_auction_bids_auction_amount", table_name="auction_bids")
    op.drop_table("auction_bids")
    op.drop_index("ix_auctions_status", table_name="auctions")
    op.drop_table("auctions")
