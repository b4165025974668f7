"""Faults tests inject into real services: an order or a bid insert PostgreSQL refuses for one name."""

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


FAILING_BIDDER = "FAIL THE BID"  # an auction bid whose bidder has this nickname is refused by PostgreSQL

_BID_TRIGGER = [
    f"""
CREATE OR REPLACE FUNCTION liveshop_test_fail_bid() RETURNS trigger AS $$
BEGIN
  IF NEW.nickname = '{FAILING_BIDDER}' THEN RAISE EXCEPTION 'injected write failure'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS liveshop_test_fail_bid ON auction_bids",
    """CREATE TRIGGER liveshop_test_fail_bid BEFORE INSERT ON auction_bids
  FOR EACH ROW EXECUTE FUNCTION liveshop_test_fail_bid()""",
]


async def refuse_bids_of_the_failing_bidder(db: async_sessionmaker[AsyncSession], *, on: bool = True) -> None:
    """Installs (or, with on=False, drops) the trigger; bids of any other bidder are written as usual."""
    async with db() as session, session.begin():
        for statement in _BID_TRIGGER if on else _BID_TRIGGER[1:2]:
            await session.execute(text(statement))
