"""The signing secret: never a published string, never a placeholder, kept per data directory."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from itsdangerous import URLSafeSerializer
from pydantic import ValidationError

from server.app import build_app
from server.config import Settings
from server.signing_secret import SECRET_FILE
from tests.api_client import Api
from tests.services import ROOT

# The string the embedded default used to sign with, as published in earlier releases.
PUBLISHED = "embedded-demo-secret-" + "x" * 16
COMPOSE_PLACEHOLDER = "change-me-to-a-long-random-secret-of-32-chars-or-more"


def embedded(tmp: Path, **extra: object) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp}/liveshop.db",
        redis_url="memory://",
        log_level="WARNING",
        run_worker=False,
        **extra,  # type: ignore[arg-type]
    )


def test_embedded_secret_is_random_per_data_directory_and_kept(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    first = embedded(one).secret.get_secret_value()
    assert embedded(one).secret.get_secret_value() == first, "a restart keeps the directory's secret"
    assert embedded(two).secret.get_secret_value() != first
    assert first != PUBLISHED and len(first) >= 32
    mode = stat.S_IMODE(os.stat(one / SECRET_FILE).st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    "secret",
    [COMPOSE_PLACEHOLDER, PUBLISHED, "s" * 40, "abababababababababababababababab", "short-but-random-Q7x"],
)
def test_placeholders_and_guessable_secrets_are_refused_at_start(secret: str) -> None:
    with pytest.raises(ValidationError, match="LIVESHOP_SECRET"):
        Settings(
            database_url="postgresql+asyncpg://u@127.0.0.1/db", redis_url="redis://127.0.0.1/0", secret=secret
        )


def test_compose_passes_only_the_operators_own_secret_and_a_node_without_one_refuses_to_start() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    values = re.findall(r"LIVESHOP_SECRET:\s*(\S+)", compose)
    assert values, "compose sets LIVESHOP_SECRET"
    for value in values:
        assert value == '"${LIVESHOP_SECRET:-}"', value  # the operator's, no default of ours
    assert COMPOSE_PLACEHOLDER not in compose
    with pytest.raises(ValidationError, match="LIVESHOP_SECRET must be set"):
        Settings(database_url="postgresql+asyncpg://u@postgres/db", redis_url="redis://redis/0", secret="")


def test_the_compose_file_is_valid_without_any_environment() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
    checked = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr


async def test_a_token_signed_with_the_published_secret_is_refused(tmp_path: Path) -> None:
    app = build_app(embedded(tmp_path), background=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        forged = URLSafeSerializer(PUBLISHED, salt="liveshop.token.v1").dumps(
            ["us_nobody", "host", "attacker", 2_000_000_000]
        )
        async with aiohttp.ClientSession() as http:
            api = Api(http, str(server.make_url("")).rstrip("/"))
            product = {"sku": "FORGED-1", "title": "x", "price": 1, "currency": "USD", "stock": 1}
            reply = await api.call("POST", "/api/v1/products", token=forged, json=product)
        assert reply.status == 401 and reply.code == "invalid_token"
    finally:
        await server.close()
