"""Runs Alembic migrations to the newest revision of every branch (one branch per feature)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to all heads over an existing async engine (used by `serve`, `migrate` and tests)."""

    def _upgrade(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
