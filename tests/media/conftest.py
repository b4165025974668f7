"""Media tests keep every packet on loopback: the server and every aiortc client gather ICE host
candidates on 127.0.0.1 only (set before any node is built) and use no STUN server."""

from __future__ import annotations

import os

os.environ["LIVESHOP_ICE_HOST_ADDRESSES"] = "127.0.0.1"
os.environ["LIVESHOP_ICE_SERVERS"] = ""
os.environ["LIVESHOP_ICE_PEER_NETWORKS"] = "127.0.0.0/8"
os.environ.setdefault("LIVESHOP_SESSION_IDLE_S", "3")
os.environ.setdefault("LIVESHOP_REAP_INTERVAL_S", "0.5")
os.environ.setdefault("LIVESHOP_KEYFRAME_INTERVAL_S", "3")

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.media import ice
from tests.api_client import Api

ice.restrict_host_addresses(["127.0.0.1"])
ice.restrict_peers(["127.0.0.0/8"])


@pytest.fixture
def base(node: tuple[web.Application, TestServer]) -> str:
    return str(node[1].make_url("")).rstrip("/")


@pytest.fixture
async def broadcast(api: Api, host: str) -> AsyncIterator[dict[str, Any]]:
    yield await api.broadcast(host, "Media test")
