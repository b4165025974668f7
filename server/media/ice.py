"""Where ICE gathers and what it announces: host addresses, a NAT address, STUN/TURN servers.

aiortc's ICE agent (aioice) gathers host candidates on every interface except loopback and, without
an explicit server list, asks Google's STUN server. Neither is right for a server: operators choose the
addresses (LIVESHOP_ICE_HOST_ADDRESSES) and servers (LIVESHOP_ICE_SERVERS), and tests keep every packet
on 127.0.0.1. aioice has no per-connection option for host addresses, so `restrict_host_addresses`
replaces its module-level `get_host_addresses` (the one patch point) for the whole process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from server.config import MediaSettings

_original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_addresses: list[str] | None = None
_peer_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
_original_request_received = aioice.ice.Connection.request_received
_original_add_remote = aioice.ice.Connection._add_remote_candidate


def _patched(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _addresses is None:
        return _original(use_ipv4, use_ipv6)
    return [a for a in _addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather host candidates only on `addresses` (None or empty restores aioice's own choice)."""
    global _addresses
    for address in addresses or ():
        ipaddress.ip_address(address)  # fail fast on a typo
    _addresses = list(addresses) if addresses else None
    aioice.ice.get_host_addresses = _patched


# Where a node must never send STUN checks because a client named the address in its offer: this
# machine, the private networks around it, link-local and multicast (a WHEP offer is otherwise a way to
# make the server probe an internal network).
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
_denied: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def peer_allowed(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if _peer_networks:
        return any(address in network for network in _peer_networks)
    return not any(address in network for network in _denied)


def _request_received(
    self: aioice.ice.Connection, message: object, addr: tuple[str, int], protocol: object
) -> None:
    if peer_allowed(addr[0]):
        _original_request_received(self, message, addr, protocol)  # type: ignore[arg-type]


def _add_remote_candidate(
    self: aioice.ice.Connection, remote_candidate: aioice.Candidate, network_host: str
) -> None:
    if peer_allowed(remote_candidate.host):
        _original_add_remote(self, remote_candidate, network_host)


def restrict_peers(networks: Sequence[str] | None, *, deny_private: bool = False) -> None:
    """Answer ICE checks from, and send them to, only these networks (None or empty: anyone, except
    the private ranges when `deny_private`).

    A peer on another address never gets a single packet back: with 127.0.0.0/8 in tests, a browser
    that also probes from the machine's LAN address only ever connects over loopback.
    """
    global _peer_networks, _denied
    _peer_networks = [ipaddress.ip_network(n, strict=False) for n in networks or ()]
    _denied = PRIVATE_NETWORKS if deny_private else ()
    aioice.ice.Connection.request_received = _request_received  # type: ignore[method-assign]
    aioice.ice.Connection._add_remote_candidate = _add_remote_candidate  # type: ignore[method-assign]


def turn_credentials(secret: str, user: str, ttl_s: int, now: float) -> tuple[str, str]:
    """The TURN REST API scheme (coturn `use-auth-secret`): username `<expiry>:<user>`, password
    base64(HMAC-SHA1(secret, username)). Valid until the expiry, for this user only."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: MediaSettings, user: str = "liveshop-node") -> list[RTCIceServer]:
    """The node's own list: TURN with short-lived credentials when a TURN secret is set, else the
    static ones (which stay on the server: `link_headers` never hands them out)."""
    servers = []
    secret = settings.ice_turn_secret.get_secret_value()
    for url in settings.ice_server_urls:
        if not url.startswith("turn"):
            servers.append(RTCIceServer(url))
        elif secret:
            username, credential = turn_credentials(secret, user, settings.ice_turn_ttl_s, time.time())
            servers.append(RTCIceServer(url, username, credential))
        else:
            servers.append(
                RTCIceServer(
                    url, settings.ice_username or None, settings.ice_credential.get_secret_value() or None
                )
            )
    return servers


def rtc_configuration(settings: MediaSettings) -> RTCConfiguration:
    """An explicit (possibly empty) server list: aiortc would otherwise ask stun.l.google.com."""
    return RTCConfiguration(iceServers=ice_servers(settings))


def link_headers(settings: MediaSettings, user: str = "anonymous") -> list[str]:
    """RFC 9725 section 4.6: one `Link: <url>; rel="ice-server"` per STUN/TURN server. TURN servers are
    advertised only with credentials minted for this client (a TURN secret is set); static TURN
    credentials are never handed to anonymous clients."""
    links = []
    secret = settings.ice_turn_secret.get_secret_value()
    for server in ice_servers(settings, user):
        is_turn = str(server.urls).startswith("turn")
        if is_turn and not secret:
            continue
        value = f'<{server.urls}>; rel="ice-server"'
        if is_turn:
            value += f'; username="{server.username}"; credential="{server.credential}"'
            value += '; credential-type="password"'
        links.append(value)
    return links


_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def drop_unresolvable_candidates(sdp: str) -> str:
    """Remove mDNS (`*.local`) candidates: resolving them sends multicast; ICE still finds the peer
    through its checks (peer-reflexive candidates)."""
    lines = []
    for line in sdp.splitlines():
        match = _CANDIDATE.match(line)
        if match and not _is_ip(match.group(5)):
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def announce_address(sdp: str, announced: str) -> str:
    """Add a copy of each host candidate on the announced public address (same port, lower priority),
    for a server behind a 1:1 NAT."""
    if not announced:
        return sdp
    out = []
    for line in sdp.splitlines():
        out.append(line)
        match = _CANDIDATE.match(line)
        if match and match.group(7) == "host" and match.group(5) != announced:
            foundation, component, transport, priority, _, port = match.groups()[:6]
            out.append(
                f"a=candidate:{foundation}9 {component} {transport} {max(int(priority) - 1, 0)} "
                f"{announced} {port} typ host"
            )
    return "\r\n".join(out) + "\r\n"


def candidates_from_sdpfrag(body: str) -> list[str]:
    """The `a=candidate:` lines of an application/trickle-ice-sdpfrag body (RFC 8840)."""
    return [line[2:] for line in body.splitlines() if line.startswith("a=candidate:")]
