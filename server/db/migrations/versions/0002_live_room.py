"""live room: chat archive, chat settings, restrictions, moderation log

Revision ID: 0002_live
Revises: 0001_core
Create Date: 2026-11-23 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0002_live"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("live",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_chat_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("nickname", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", server.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_chat_messages")),
    )
    op.create_index("ix_live_chat_messages_broadcast_ts", "live_chat_messages", ["broadcast_id", "ts"])
    op.create_table(
        "live_chat_settings",
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("slow_mode_s", sa.Integer(), nullable=False),
        sa.Column("blocked_words", sa.JSON(), nullable=False),
        sa.Column("updated_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", name=op.f("pk_live_chat_settings")),
    )
    op.create_table(
        "live_restrictions",
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("until", server.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", "user_id", "kind", name=op.f("pk_live_restrictions")),
    )
    op.create_table(
        "live_moderation_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broadcast_id", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target_user_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_moderation_actions")),
    )
    op.create_index("ix_live_moderation_actions_broadcast", "live_moderation_actions", ["broadcast_id"])


def downgrade() -> None:
    op.drop_index("ix_live_moderation_actions_broadcast", table_name="live_moderation_actions")
    op.drop_table("live_moderation_actions")
    op.drop_table("live_restrictions")
    op.drop_table("live_chat_settings")
    op.drop_index("ix_live_chat_messages_broadcast_ts", table_name="live_chat_messages")
    op.drop_table("live_chat_messages")
