"""A liveshop node in a child process for the load-test tools, which talk to it as ops would: over HTTP.

A child process (not the in-process `node`) so these blocking clients never share its event loop,
and so the node is stopped with a signal whatever state its shutdown is in.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loadtests.api import Api
from tests.services import ROOT, PostgresDatabase, RedisServer, ServerProcess, server_env

HOST_EMAIL, HOST_PASSWORD = "ops@loadtest.example", "ops-password-1"


def prepare(base_url: str, out: Path, *args: str, create_host: bool = False) -> None:
    """`python -m loadtests.prepare` against the node, as ops run it before a load run (the run file
    goes to `out`); the test fails if it does."""
    login = ["--base-url", base_url, *(["--create-host"] if create_host else [])]
    login += ["--host-email", HOST_EMAIL, "--host-password", HOST_PASSWORD]
    cmd = [sys.executable, "-m", "loadtests.prepare", *login, "--out", str(out), *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout


@dataclass
class Deployment:
    url: str
    env: dict[str, str]
    pg: PostgresDatabase

    def host(self) -> Api:
        api = Api(self.url)
        api.login(HOST_EMAIL, HOST_PASSWORD)
        return api


@pytest.fixture(scope="module")
def deployment(pg_database: PostgresDatabase, redis_server: RedisServer) -> Iterator[Deployment]:
    env = server_env(
        pg_database.url, redis_server.url, LIVESHOP_RUN_WORKER="false", LIVESHOP_SWEEP_INTERVAL_S="0.2"
    )
    node = ServerProcess(env)
    node.start()
    try:
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "create-host",
                "--email",
                HOST_EMAIL,
                "--password",
                HOST_PASSWORD,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0 or "already has an account" in made.stderr, made.stderr
        yield Deployment(node.url, env, pg_database)
    finally:
        node.stop()
