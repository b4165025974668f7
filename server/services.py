"""The node's backing services, made one way for `serve`, `worker` and every CLI command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import SYSTEM_CLOCK, Clock
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.db.migrate import migrate
from server.inventory.engine import Inventory
from server.inventory.rebuild import database_loader
from server.redis_client import make_redis


@dataclass(frozen=True)
class Services:
    """PostgreSQL, Redis and the inventory over them; nothing is connected until first used."""

    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    redis: Redis
    inventory: Inventory

    @classmethod
    def create(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> Services:
        engine = make_engine(settings)
        db = make_sessionmaker(engine)
        redis = make_redis(settings)
        inventory = Inventory(
            redis, hold_seconds=settings.hold_seconds, batch_max=settings.claim_batch_max, clock=clock
        )
        # Counters missing from Redis are rebuilt from PostgreSQL, the truth.
        inventory.set_loader(database_loader(db, inventory))
        return cls(settings, engine, db, redis, inventory)

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


@asynccontextmanager
async def open_services(settings: Settings, *, migrated: bool = True) -> AsyncIterator[Services]:
    """The services for one command, the schema upgraded first; closed on the way out."""
    services = Services.create(settings)
    try:
        if migrated:
            await services.migrate()
        yield services
    finally:
        await services.close()
