"""Media: per-client TURN credentials in the TURN REST API scheme, and no ICE checks into private ranges."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from server.config import MediaSettings
from server.media import ice


def test_clients_get_short_lived_turn_credentials_coturn_can_verify() -> None:
    secret = "coturn-static-auth-secret"
    settings = MediaSettings(
        ice_servers="stun:stun.example.net:3478,turn:turn.example.net:3478",
        ice_username="node-user",
        ice_credential="node-password",
        ice_turn_secret=secret,
        ice_turn_ttl_s=600,
    )
    before = int(time.time())
    one, other = ice.link_headers(settings, "ip:aaaa"), ice.link_headers(settings, "ip:bbbb")
    turn = one[1]
    found = re.search(r'username="(\d+):([^"]+)"; credential="([^"]+)"', turn)
    assert found is not None and "node-password" not in turn and "node-user" not in turn
    expiry, user, credential = int(found.group(1)), found.group(2), found.group(3)
    assert user == "ip:aaaa" and before + 600 <= expiry <= int(time.time()) + 600
    # what coturn computes with use-auth-secret / static-auth-secret:
    expected = base64.b64encode(hmac.new(secret.encode(), f"{expiry}:{user}".encode(), hashlib.sha1).digest())
    assert credential == expected.decode()
    assert other[1] != turn


def test_offered_candidates_cannot_point_the_node_at_private_networks() -> None:
    try:
        ice.restrict_peers([], deny_private=True)
        for private in (
            "10.1.2.3",
            "192.168.0.10",
            "172.20.0.5",
            "127.0.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "not-an-ip",
        ):
            assert not ice.peer_allowed(private), private
        assert ice.peer_allowed("203.0.113.9") and ice.peer_allowed("2001:db8::1")
        ice.restrict_peers(["10.9.0.0/16"], deny_private=True)  # the operator's own list decides
        assert ice.peer_allowed("10.9.1.1") and not ice.peer_allowed("203.0.113.9")
    finally:
        ice.restrict_peers(["127.0.0.0/8"])
