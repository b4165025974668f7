"""Faults tests inject into real services: an order insert PostgreSQL refuses for one buyer name."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

FAILING_BUYER = "FAIL THE WRITE"  # an order whose buyer has this name is refused by PostgreSQL

_TRIGGER = [
    f"""
CREATE OR REPLACE FUNCTION liveshop_test_fail_order() RETURNS trigger AS $$
BEGIN
  IF NEW.buyer->>'name' = '{FAILING_BUYER}' THEN RAISE EXCEPTION 'injected write failure'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS liveshop_test_fail_order ON orders",
    """CREATE TRIGGER liveshop_test_fail_order BEFORE INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION liveshop_test_fail_order()""",
]


async def refuse_orders_of_the_failing_buyer(db: async_sessionmaker[AsyncSession]) -> None:
    """Installs the trigger (idempotent); orders of any other buyer are written as usual."""
    async with db() as session, session.begin():
        for statement in _TRIGGER:
            await session.execute(text(statement))
