"""The client's address: the socket peer, unless the peer is one of our proxies."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from server.api.clients import ClientPolicy, network_key, parse_networks


def _request(peer: str, forwarded: str | None = None) -> web.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    request = make_mocked_request("GET", "/", headers=headers)
    request._transport_peername = (peer, 40000)  # type: ignore[attr-defined]
    return request


def test_a_forwarded_header_is_believed_only_from_a_trusted_proxy() -> None:
    policy = ClientPolicy(proxies=parse_networks("10.0.0.0/8"))
    assert policy.address(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"
    assert policy.address(_request("10.0.0.2", "198.51.100.1")) == "198.51.100.1"
    # a client's own X-Forwarded-For before the proxy's hop is ignored
    assert policy.address(_request("10.0.0.2", "1.2.3.4, 198.51.100.1")) == "198.51.100.1"
    assert policy.address(_request("10.0.0.2", "garbage")) == "10.0.0.2"


def test_trusted_clients_and_network_keys() -> None:
    policy = ClientPolicy(trusted=parse_networks("192.0.2.0/24"))
    assert policy.is_trusted("192.0.2.9") and not policy.is_trusted("192.0.3.9")
    assert not policy.is_trusted("not an address")
    # one IPv6 /64 is one network; keys never hold a readable address
    assert network_key("2001:db8:1:2::1") == network_key("2001:db8:1:2:ffff::9")
    assert network_key("2001:db8:1:3::1") != network_key("2001:db8:1:2::1")
    assert "203.0.113.7" not in network_key("203.0.113.7")
