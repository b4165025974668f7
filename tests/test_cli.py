"""The `liveshop` command (server/cli.py) against the session's PostgreSQL and Redis: every command is
there, a bad configuration is explained, hosts are made once, the audit exits by its verdict."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from server import cli
from tests.services import ROOT, PostgresDatabase, RedisServer, server_env


def liveshop(pg: PostgresDatabase, redis: RedisServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process (its own event loop), as ops run it."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=server_env(pg.url, redis.url),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_documented_command_parses() -> None:
    parser = cli.build_parser()
    for argv in (
        ["serve", "--demo", "--port", "8080"],
        ["migrate"],
        ["seed"],
        ["create-host", "--email", "a@b.co", "--password", "pw"],
        ["audit", "--offer", "of_1", "--json"],
        ["worker"],
        ["bench", "claims", "--seconds", "5"],
    ):
        assert parser.parse_args(argv).func is not None, argv


def test_a_bad_configuration_is_explained_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESHOP_PORT", "not-a-port")
    with pytest.raises(SystemExit) as caught:
        cli.load_settings()
    assert str(caught.value).startswith("liveshop: invalid configuration")
    assert "port" in str(caught.value).lower()


def test_a_host_is_created_once(pg_database: PostgresDatabase, redis_server: RedisServer) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@shop.test"
    made = liveshop(
        pg_database, redis_server, "create-host", "--email", email, "--password", "host-password-1"
    )
    assert made.returncode == 0, made.stderr
    assert f"host {email} created" in made.stdout
    again = liveshop(
        pg_database, redis_server, "create-host", "--email", email, "--password", "host-password-1"
    )
    assert again.returncode == 1 and again.stderr.startswith("liveshop: ")


def test_the_audit_prints_json_and_exits_zero_when_the_books_balance(
    pg_database: PostgresDatabase, redis_server: RedisServer
) -> None:
    audit = liveshop(pg_database, redis_server, "audit", "--offer", "of_" + uuid.uuid4().hex[:16], "--json")
    assert audit.returncode == 0, audit.stderr
    report = json.loads(audit.stdout)
    assert (report["ok"], report["offers"], report["problems"]) == (True, [], [])
