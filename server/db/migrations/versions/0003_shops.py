"""shops: products, broadcasts and orders belong to a shop; hosts are its members; token revocation;
the network a guest session came from (bans hold the person); verified-buyers-only offers

Existing data moves into one default shop whose members are every existing host (the first one made
is its owner), so a deployment upgraded in place keeps working as a single shop.

Revision ID: 0003_shops
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0003_shops"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("shops",)
depends_on: str | Sequence[str] | None = None

DEFAULT_SHOP = "sh_default"
OWNED = ("products", "broadcasts", "orders")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_memberships_shop_id_shops")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_shop_id"), "memberships", ["shop_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tokens_valid_after", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("origin_network", sa.String(length=40), nullable=True))
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("shop_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("verified_only", sa.Boolean(), nullable=False, server_default=sa.false()))

    bind = op.get_bind()
    has_data = any(
        bind.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None for t in (*OWNED, "users")
    )
    if has_data:
        bind.execute(
            sa.text(
                "INSERT INTO shops (id, name, created_at) VALUES (:id, 'Default shop', CURRENT_TIMESTAMP)"
            ),
            {"id": DEFAULT_SHOP},
        )
        hosts = bind.execute(
            sa.text("SELECT id FROM users WHERE role = 'host' ORDER BY created_at, id")
        ).scalars()
        for index, user_id in enumerate(hosts):
            bind.execute(
                sa.text(
                    "INSERT INTO memberships (user_id, shop_id, role, created_at) "
                    "VALUES (:u, :s, :r, CURRENT_TIMESTAMP)"
                ),
                {"u": user_id, "s": DEFAULT_SHOP, "r": "owner" if index == 0 else "host"},
            )
        for table in OWNED:
            bind.execute(sa.text(f"UPDATE {table} SET shop_id = :s"), {"s": DEFAULT_SHOP})

    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("shop_id", existing_type=sa.String(length=40), nullable=False)
            batch.create_foreign_key(op.f(f"fk_{table}_shop_id_shops"), "shops", ["shop_id"], ["id"])
            batch.create_index(op.f(f"ix_{table}_shop_id"), ["shop_id"])


def downgrade() -> None:
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_shop_id"))
            batch.drop_constraint(op.f(f"fk_{table}_shop_id_shops"), type_="foreignkey")
            batch.drop_column("shop_id")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("verified_only")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("origin_network")
        batch.drop_column("tokens_valid_after")
    op.drop_index(op.f("ix_memberships_shop_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("shops")
