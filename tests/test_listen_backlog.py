"""A node started by `liveshop serve` asks the kernel for a deep accept queue: a room filling at tens of
viewers a second overflowed aiohttp's default 128, and the kernel dropped the newcomers' SYNs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env


@pytest.fixture
def node_with_backlog(pg_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[ServerProcess]:
    node = ServerProcess(server_env(pg_database.url, redis_server.url, LIVESHOP_LISTEN_BACKLOG="1000"))
    node.start()
    yield node
    node.stop()


def test_serve_listens_with_the_configured_backlog(node_with_backlog: ServerProcess) -> None:
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{node_with_backlog.port}"], capture_output=True, text=True, check=True
    ).stdout
    # for a listening socket, ss's Send-Q column is the backlog the process asked for
    backlogs = {int(line.split()[2]) for line in out.splitlines() if line.strip()}
    assert backlogs == {1000}, out
