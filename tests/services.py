"""Real services for tests: a private redis-server per session and a fresh PostgreSQL database.

Each test session gets its own Redis process on a free loopback port (so a test may flush or restart
it without touching anyone else) and its own PostgreSQL database, dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_HOST = os.environ.get("LIVESHOP_TEST_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("LIVESHOP_TEST_PG_PORT", "5432")
PG_USER = os.environ.get("LIVESHOP_TEST_PG_USER", "postgres")
TRUSTED_TEST_CLIENTS = "127.0.0.1/32"  # the bot-defence tests use other loopback addresses
TEST_SECRET = "tS7qVb2xLw9KpR4mZ0cYhN6fJd3gUa8e-test-only"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class RedisServer:
    """A redis-server child process that a test can stop, flush, restart, pause or kill on its port.

    `args` are extra redis-server options (`--replicaof ...`, `--cluster-enabled yes`, ...)."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="liveshop-redis-")
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--maxclients",
                "10000",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stops the server (losing everything in it) and starts an empty one on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def signal(self, sig: int) -> None:
        """SIGSTOP / SIGCONT / SIGKILL the process (a SIGKILLed server is gone: `proc` is cleared)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)
            self.proc = None


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            PG_HOST,
            "-p",
            PG_PORT,
            "-U",
            PG_USER,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
    )


class PostgresDatabase:
    """A database created for this test session on the local PostgreSQL, dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"liveshop_test_{uuid.uuid4().hex[:12]}"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    def create(self) -> None:
        psql(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@contextmanager
def private_services() -> Iterator[tuple[PostgresDatabase, RedisServer]]:
    """A PostgreSQL database and a Redis server no other node of the session uses: for tests whose
    nodes must not see the session's rows (a sweeper on another clock, a mirror worker that would
    fan out every other test's products), nor leave theirs to it."""
    db, redis = PostgresDatabase(), RedisServer()
    db.create()
    redis.start()
    try:
        yield db, redis
    finally:
        redis.stop()
        db.drop()


def server_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "LIVESHOP_DATABASE_URL": database_url,
            "LIVESHOP_REDIS_URL": redis_url,
            "LIVESHOP_SECRET": TEST_SECRET,
            "LIVESHOP_LOG_LEVEL": "WARNING",
            # recordings (HLS replays) of test nodes go to a private folder, never the checkout
            "LIVESHOP_RECORDINGS_DIR": tempfile.mkdtemp(prefix="liveshop-recordings-"),
            # The test clients are ops' own load generators: bot defences are exempt, login limits not.
            "LIVESHOP_TRUSTED_CLIENTS": TRUSTED_TEST_CLIENTS,
        }
    )
    env.update(extra)
    return env


class ServerProcess:
    """`python -m server serve` in a child process: a real node, as ops would run it."""

    def __init__(self, env: dict[str, str], args: tuple[str, ...] = (), cwd: str | None = None) -> None:
        self.port = free_port()
        self.env = env
        self.args = args
        self.cwd = cwd or str(ROOT)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="liveshop-server-", suffix=".log", delete=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.args,
            ],
            env=self.env,
            cwd=self.cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-3000:]}")
            with closing(socket.socket()) as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"server did not start: {Path(self.log.name).read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def output(self) -> str:
        return Path(self.log.name).read_text()
