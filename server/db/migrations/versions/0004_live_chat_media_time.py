"""live room: each chat message's moment on the broadcast's video (the replay shows it there)

Revision ID: 0004_live_media_time
Revises: 0003_live_buy
Create Date: 2026-12-01 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_live_media_time"
down_revision: str | Sequence[str] | None = "0003_live_buy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("live_chat_messages", sa.Column("at_s", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("live_chat_messages", "at_s")
