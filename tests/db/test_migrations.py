"""Alembic migrations build exactly the schema the models declare, on PostgreSQL and on SQLite."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.base import Base
from server.db.migrate import migrate
from server.models import import_all_models
from tests.services import ROOT, PostgresDatabase


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, Base.metadata))


async def _upgrade_and_compare(url: str) -> tuple[set[str], list[Any]]:
    engine = create_async_engine(url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    return tables, diff


@pytest.fixture(scope="module")
def tables() -> set[str]:
    """The tables server.models registers in a fresh interpreter (this one imported the whole app)."""
    code = "from server.models import import_all_models; print(' '.join(import_all_models().tables))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    import_all_models()
    assert set(out.stdout.split()) == set(Base.metadata.tables)
    return set(out.stdout.split())


async def test_upgrade_on_sqlite_creates_every_declared_table_and_nothing_differs(tables: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        found, diff = await _upgrade_and_compare(f"sqlite+aiosqlite:///{Path(tmp) / 'm.db'}")
    assert tables <= found
    assert diff == []


async def test_upgrade_on_postgresql_creates_every_declared_table_and_nothing_differs(
    tables: set[str],
) -> None:
    db = PostgresDatabase()
    db.create()
    try:
        found, diff = await _upgrade_and_compare(db.url)
    finally:
        db.drop()
    assert tables <= found
    assert diff == []
