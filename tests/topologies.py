"""Real multi-process topologies for the survival tests: Redis Sentinel, Redis Cluster, a private
PostgreSQL that a test may restart (the machine's shared one is never touched)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

import redis

from tests.services import RedisServer, free_port, wait_port

SERVICE = "shop"


def _redis_server() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _until(what: str, check, timeout: float):  # type: ignore[no-untyped-def]
    """Polls `check()` until it returns something truthy; bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except redis.RedisError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {timeout}s")


class SentinelProcess:
    """One redis-server in Sentinel mode watching `SERVICE`, with low timeouts for tests."""

    def __init__(self, master_port: int, down_after_ms: int, failover_timeout_ms: int) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="liveshop-sentinel-")
        self.conf = Path(self.dir) / "sentinel.conf"
        self.conf.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f"dir {self.dir}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2",
                    f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
                    f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}",
                    f"sentinel parallel-syncs {SERVICE} 1",
                    "",
                ]
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_redis_server(), str(self.conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class SentinelSet:
    """A primary, one replica and three Sentinels on loopback (what docker-compose.yml runs)."""

    def __init__(self, down_after_ms: int = 1000, failover_timeout_ms: int = 3000) -> None:
        self.primary = RedisServer()
        self.primary.start()
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.primary.port))
        self.replica.start()
        self.sentinels = [
            SentinelProcess(self.primary.port, down_after_ms, failover_timeout_ms) for _ in range(3)
        ]
        for s in self.sentinels:
            s.start()

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def master_port(self) -> int:
        """The primary's port as the Sentinels (a majority of them) see it now."""
        ports = []
        for s in self.sentinels:
            try:
                addr = s.client().sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                continue
            if addr:
                ports.append(int(addr[1]))
        best = max(set(ports), key=ports.count) if ports else 0
        return best if ports.count(best) >= 2 else 0

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Replica in sync, and every Sentinel knows the replica and the two other Sentinels."""

        def synced() -> bool:
            info = redis.Redis(port=self.replica.port).info("replication")
            return info.get("master_link_status") == "up"

        def acquainted() -> bool:
            for s in self.sentinels:
                c = s.client()
                if len(c.sentinel_sentinels(SERVICE)) < 2 or len(c.sentinel_slaves(SERVICE)) < 1:
                    return False
            return True

        _until("replica in sync", synced, timeout)
        _until("Sentinels know each other and the replica", acquainted, timeout)

    def wait_promoted(self, port: int, timeout: float = 60.0) -> float:
        """Waits until the Sentinels name `port` as the primary and it answers as one; returns when."""

        def promoted() -> bool:
            if self.master_port() != port:
                return False
            return redis.Redis(port=port).info("replication").get("role") == "master"

        _until(f"127.0.0.1:{port} promoted", promoted, timeout)
        return time.monotonic()

    def stop(self) -> None:
        for s in self.sentinels:
            s.stop()
        for server in (self.primary, self.replica):
            if server.proc is not None:
                server.proc.kill()
                server.proc.wait(10)
                server.proc = None


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) exists and is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with closing(socket.socket()) as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterSet:
    """A Redis Cluster of `masters` shards (no replicas) made with `redis-cli --cluster create`."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes = []
        for _ in range(masters):
            node = RedisServer("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
            node.port = _cluster_port()
            node.args = (*node.args, "--cluster-config-file", f"{node.dir}/nodes.conf")
            node.start()
            self.nodes.append(node)
        subprocess.run(
            [
                shutil.which("redis-cli") or "/usr/bin/redis-cli",
                "--cluster",
                "create",
                *[f"127.0.0.1:{n.port}" for n in self.nodes],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

        def ok() -> bool:
            return all(
                redis.Redis(port=n.port).cluster("info").get("cluster_state") == "ok"  # type: ignore[union-attr]
                for n in self.nodes
            )

        _until("cluster state ok", ok, 30)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:2])

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"{name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL instance of this test alone (initdb + pg_ctl on a free port), so it may restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="liveshop-pg-")
        self.data = os.path.join(self.dir, "data")
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")

    def _run(self, *cmd: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", *cmd] if self._as_postgres else list(cmd)
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c max_connections=200"
        )
        self._run(_pg_bin("pg_ctl"), "-D", self.data, "-o", opts, "-l", f"{self.dir}/log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        """Stops PostgreSQL (every connection drops, in-flight transactions roll back) and starts it."""
        self.stop("immediate")
        time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
