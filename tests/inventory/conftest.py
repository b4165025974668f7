"""Fixtures of the multi-process survival tests: a private PostgreSQL per module, and HTTP clients for
the nodes a module starts (each module gives its own `nodes` fixture on its own Redis topology)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.api_client import Api
from tests.services import ServerProcess
from tests.topologies import PrivatePostgres


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this module alone: two nodes' pools never crowd the shared one."""
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture(scope="module")
async def apis(nodes: list[ServerProcess]) -> AsyncIterator[list[Api]]:
    """One API client per node of the module, over one pooled HTTP session."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200), timeout=aiohttp.ClientTimeout(total=20)
    ) as http:
        yield [Api(http, node.url) for node in nodes]
