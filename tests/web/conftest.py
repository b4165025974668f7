"""Browser tests run demo shops whose pages list every product they can see: each module's shop gets a
database of its own, so products that other tests made never show up in (or get clicked on) its pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import PostgresDatabase


@pytest.fixture(scope="module")
def shop_database() -> Iterator[PostgresDatabase]:
    db = PostgresDatabase()
    db.create()
    yield db
    db.drop()
