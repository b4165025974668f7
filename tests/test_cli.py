"""The `liveshop` command (server/cli.py), run in-process against the session's PostgreSQL and Redis:
every command is there, a bad configuration is explained, hosts are made once, the audit exits by its
verdict."""

from __future__ import annotations

import json
import uuid

import pytest

from server import cli
from tests.services import TEST_SECRET, PostgresDatabase, RedisServer


@pytest.fixture
def environment(
    pg_database: PostgresDatabase, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVESHOP_DATABASE_URL", pg_database.url)
    monkeypatch.setenv("LIVESHOP_REDIS_URL", redis_server.url)
    monkeypatch.setenv("LIVESHOP_SECRET", TEST_SECRET)


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


def test_a_host_is_created_once(environment: None, capsys: pytest.CaptureFixture[str]) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@shop.test"
    assert cli.main(["create-host", "--email", email, "--password", "host-password-1"]) == 0
    assert f"host {email} created" in capsys.readouterr().out
    assert cli.main(["create-host", "--email", email, "--password", "host-password-1"]) == 1
    assert capsys.readouterr().err.startswith("liveshop: ")


def test_the_audit_prints_json_and_exits_zero_when_the_books_balance(
    environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["audit", "--offer", "of_" + uuid.uuid4().hex[:16], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["offers"], report["problems"]) == (True, [], [])
