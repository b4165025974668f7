"""Malformed credentials and media offers: 4xx in our own words, never a 5xx or a library's text."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from server.config import Settings
from tests.api_client import Api
from tests.conftest import start_app

TRUNCATED_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=video x\r\n"


async def _raw(server: TestServer, request: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request written byte for byte (no client library would send these headers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        body = await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
    return int(head.split(b" ", 2)[1]), body


async def test_a_bearer_that_is_not_utf8_is_refused_with_a_4xx_everywhere(
    node: tuple[web.Application, TestServer], api: Api, host: str
) -> None:
    _, server = node
    broadcast = await api.broadcast(host)
    sdp = b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    for method, path, body, ctype in (
        ("POST", f"/whip/{broadcast['id']}", sdp, b"application/sdp"),
        ("GET", "/api/v1/auth/me", b"", b"application/json"),
        ("POST", "/api/v1/products", b"{}", b"application/json"),
    ):
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
            + b"Authorization: Bearer \xff\xfe\x80sk_junk\r\nContent-Type: "
            + ctype
            + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, _ = await _raw(server, request)
        assert 400 <= status < 500, (path, status)


async def test_metrics_with_a_token_and_a_bearer_that_is_not_utf8_is_refused(settings: Settings) -> None:
    with_token = settings.model_copy(update={"metrics_token": SecretStr("t0k-" + "Q7w" * 12)})
    _, server = await start_app(with_token, background=False)
    try:
        status, _ = await _raw(
            server,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer \xff\xfe\r\n\r\n",
        )
    finally:
        await server.close()
    assert status in (400, 401)  # refused: the header is not UTF-8, or the token is wrong


async def test_a_malformed_sdp_offer_is_explained_in_our_words(api: Api, host: str) -> None:
    broadcast = await api.broadcast(host)
    reply = await api.call(
        "POST",
        f"/whip/{broadcast['id']}",
        data=TRUNCATED_SDP,
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {broadcast['stream_key']}"},
    )
    assert reply.status == 400 and reply.code == "bad_request"
    assert "Error" not in reply.body["detail"] and "(" not in reply.body["detail"], reply.body
