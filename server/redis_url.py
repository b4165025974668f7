"""Parses LIVESHOP_REDIS_URL (one server, Sentinel or Cluster) without touching the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SENTINEL = "redis+sentinel"
CLUSTER = "redis+cluster"
SCHEMES = ("redis", "rediss", "unix", "memory", SENTINEL, CLUSTER)


@dataclass(frozen=True)
class RedisTarget:
    """A parsed LIVESHOP_REDIS_URL: which topology, which addresses, which credentials."""

    scheme: str
    hosts: list[tuple[str, int]] = field(default_factory=list)
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def is_cluster(self) -> bool:
        return self.scheme == CLUSTER

    @property
    def is_sentinel(self) -> bool:
        return self.scheme == SENTINEL


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = []
    for part in netloc.rsplit("@", 1)[-1].split(","):
        part = part.strip()
        if not part:
            raise ValueError("empty host in the Redis URL")
        if part.startswith("["):  # [::1]:26379
            host, _, port = part[1:].partition("]")
            port = port.lstrip(":")
        else:
            host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        if not host:
            raise ValueError(f"bad host {part!r} in the Redis URL")
        try:
            number = int(port) if port else default_port
        except ValueError:
            raise ValueError(f"bad port in {part!r}") from None
        if not 0 < number < 65536:
            raise ValueError(f"bad port in {part!r}")
        hosts.append((host, number))
    return hosts


def parse_redis_url(url: str) -> RedisTarget:
    """Parses the Sentinel and Cluster forms (others are left to redis-py); raises ValueError if bad."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise ValueError(
            "must be redis://host:port/db, rediss://..., redis+sentinel://h1:p1,h2:p2/<service>[/db], "
            "redis+cluster://h1:p1,h2:p2, unix://... or memory://"
        )
    if scheme not in (SENTINEL, CLUSTER):
        return RedisTarget(scheme)
    parts = urlsplit(url)
    creds = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    username, _, password = creds.partition(":") if creds else ("", "", "")
    path = [p for p in parts.path.split("/") if p]
    if scheme == SENTINEL:
        hosts = _hosts(parts.netloc, 26379)
        if not path:
            raise ValueError(
                "redis+sentinel:// needs the service name: redis+sentinel://h1:p1,h2:p2/<service>[/db]"
            )
        if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise ValueError("redis+sentinel:// path is /<service>[/db]")
        return RedisTarget(
            scheme,
            hosts,
            service=unquote(path[0]),
            db=int(path[1]) if len(path) == 2 else 0,
            username=unquote(username) or None,
            password=unquote(password) or None,
        )
    if path:
        raise ValueError("redis+cluster:// takes no database or path (a cluster has one keyspace)")
    return RedisTarget(
        scheme,
        _hosts(parts.netloc, 6379),
        username=unquote(username) or None,
        password=unquote(password) or None,
    )
