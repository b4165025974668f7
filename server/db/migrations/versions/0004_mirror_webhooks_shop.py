"""outbound webhooks belong to the shop, not to the host who added them

Every host of a shop sees, manages and hears the shop's endpoints. Existing endpoints move to the
shop of the host who made them.

Revision ID: 0004_mirror_webhooks_shop
Revises: 0003_mirror_webhooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_mirror_webhooks_shop"
down_revision: str | Sequence[str] | None = "0003_mirror_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0003_shops"


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("shop_id", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE webhook_endpoints SET shop_id = "
        "(SELECT m.shop_id FROM memberships m WHERE m.user_id = webhook_endpoints.host_id)"
    )
    orphans = "SELECT id FROM webhook_endpoints WHERE shop_id IS NULL"  # its host is gone: no shop hears it
    op.execute(f"DELETE FROM webhook_deliveries WHERE endpoint_id IN ({orphans})")
    op.execute(f"DELETE FROM webhook_endpoints WHERE id IN ({orphans})")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("shop_id", existing_type=sa.String(length=40), nullable=False)
        batch.create_index("ix_webhook_endpoints_shop", ["shop_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_index("ix_webhook_endpoints_shop")
        batch.drop_column("shop_id")
