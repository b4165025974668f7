"""auctions: sudden death, max bids (proxy bidding) and the second-chance offer

Revision ID: 0004_auctions_extras
Revises: 0003_auctions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_auctions_extras"
down_revision: str | Sequence[str] | None = "0003_auctions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("auctions", sa.Column("sudden_death_s", sa.Integer(), nullable=True))
    op.add_column("auctions", sa.Column("passed_over", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("auction_bids", sa.Column("max_amount", sa.Integer(), nullable=True))
    op.add_column("auction_bids", sa.Column("raised_max", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("auction_bids", "raised_max")
    op.drop_column("auction_bids", "max_amount")
    op.drop_column("auctions", "passed_over")
    op.drop_column("auctions", "sudden_death_s")
