"""Who is asking: the client's address (a trusted proxy's header only) and the trusted load generators."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(value: str) -> tuple[Network, ...]:
    """A comma-separated CIDR list (`10.0.0.0/8, 127.0.0.1`); a bare address is a /32 or /128."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _within(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in net for net in networks)


@dataclass(frozen=True)
class ClientPolicy:
    """Which peers are our own proxies (their X-Forwarded-For is believed) and which clients are exempt
    from bot defences (ops' load generators)."""

    proxies: tuple[Network, ...] = ()
    trusted: tuple[Network, ...] = ()

    def address(self, request: web.Request) -> str:
        """The client's address: the socket peer, or, when the peer is one of our proxies, the last
        X-Forwarded-For hop that is not one of them (earlier hops are whatever the client wrote)."""
        peer = _address(request.remote)
        if peer is None:
            return request.remote or "unknown"
        if not self.proxies or not _within(peer, self.proxies):
            return str(peer)
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
            found = _address(hop)
            if found is None:
                break
            if not _within(found, self.proxies):
                return str(found)
        return str(peer)

    def is_trusted(self, address: str) -> bool:
        found = _address(address)
        return found is not None and _within(found, self.trusted)


def network_key(address: str) -> str:
    """One key per network a person controls: the IPv4 address, or the IPv6 /64 (a home or phone gets a
    whole /64, so counting single IPv6 addresses would count nothing). Hashed: keys stored in Redis or
    the database carry no readable address."""
    found = _address(address)
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is None:
        text = str(ipaddress.ip_network(f"{found}/64", strict=False))
    else:
        text = str(found.ipv4_mapped if isinstance(found, ipaddress.IPv6Address) else found or address)
    return "ip:" + hashlib.sha256(text.encode()).hexdigest()[:20]


CLIENTS = web.AppKey("client_policy", ClientPolicy)
ADDRESS = web.RequestKey("client_address", str)


def client_address(request: web.Request) -> str:
    """This request's client address, worked out once."""
    found = request.get(ADDRESS)
    if found is None:
        found = request[ADDRESS] = request.app[CLIENTS].address(request)
    return found


def is_trusted_client(request: web.Request) -> bool:
    return request.app[CLIENTS].is_trusted(client_address(request))


def client_network(request: web.Request) -> str:
    """The request's `network_key`, for per-address limits and bans."""
    return network_key(client_address(request))
