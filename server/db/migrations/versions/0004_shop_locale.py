"""shops: the default language of the pages and the default currency of new products

Existing shops keep speaking English and selling in US dollars, as before.

Revision ID: 0004_shop_locale
Revises: 0003_shops
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_shop_locale"
down_revision: str | Sequence[str] | None = "0003_shops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=False, server_default="en"))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("currency")
        batch.drop_column("language")
