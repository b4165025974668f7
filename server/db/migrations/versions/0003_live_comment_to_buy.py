"""live room: the host's buy keywords and whether the room sees claims (comment-to-buy)

Revision ID: 0003_live_buy
Revises: 0002_live
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_live_buy"
down_revision: str | Sequence[str] | None = "0002_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "live_chat_settings", sa.Column("buy_keywords", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column(
        "live_chat_settings",
        sa.Column("announce_claims", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("live_chat_settings", "announce_claims")
    op.drop_column("live_chat_settings", "buy_keywords")
