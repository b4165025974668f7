"""Alembic environment: runs migrations over the async engine, on PostgreSQL and SQLite alike."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from server.models import import_all_models

target_metadata = import_all_models()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


url = context.config.get_main_option("sqlalchemy.url")
connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif url is not None:
    asyncio.run(_run_async(url))
else:
    raise RuntimeError("alembic: set sqlalchemy.url or pass a connection")
