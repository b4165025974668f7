"""Where a webhook may be sent: by default only to public addresses, so a shop's endpoint URL cannot
make the node call into its own network (Redis, PostgreSQL, cloud metadata). Checked when the endpoint
is added, and again at delivery: literal IPs before the request, host names by the resolver (a name
that resolves to a private address, now or after a DNS change, is refused)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal")


def private_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return False
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def private_target(url: str) -> bool:
    """The URL names a private address outright (a literal IP or a local-only name)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return private_ip(host) or host == "localhost" or host.endswith(LOCAL_NAMES[1:])


class PublicResolver(AbstractResolver):
    """DNS answers with the private addresses left out; none left is a connection error."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = [r for r in await self._inner.resolve(host, port, family) if not private_ip(r["host"])]
        if not found:
            raise OSError(f"{host} resolves only to private addresses")
        return found

    async def close(self) -> None:
        await self._inner.close()


def delivery_session(allow_private: bool) -> aiohttp.ClientSession:
    """The HTTP session webhooks go out on (its own: platform calls keep theirs)."""
    if allow_private:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64, resolver=PublicResolver()))
