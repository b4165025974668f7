"""Every route, fed NUL bytes in its ids and query and non-UTF-8 bytes in the headers it reads, answers a
4xx problem+json in our own words, never a 5xx. The bytes go on the wire as they are (a raw socket: an
HTTP client library would refuse or re-encode them)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.config import Settings
from tests.api_client import Api
from tests.conftest import new_host

VAR = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
QUERY_NAMES = ("broadcast_id", "offer_id", "ids", "limit", "after", "dataSource", "updateMask", "q")
# Words of libraries and of Python that must never reach a client.
LEAKS = re.compile(r"Error\(|Exception|Traceback|asyncpg|sqlalchemy|psycopg|redis\.|\bNone\b|\\x00")


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/api/v1/broadcasts/{id}" (a static route: its prefix + "/{path}")

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, fill: str, *, nul_in: str | None = None) -> str:
        return VAR.sub(lambda m: "%00" if m.group(1) == nul_in else fill, self.template)

    @property
    def variables(self) -> list[str]:
        return VAR.findall(self.template)


def _routes() -> list[Route]:
    """The router's table, read from an app that is built but never started (no service is touched)."""
    app = build_app(Settings(database_url="sqlite+aiosqlite:///:memory:", redis_url="memory://"))
    found: set[Route] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if template is None and "prefix" in info:
            template = info["prefix"].rstrip("/") + "/{path}"
        if template is None or route.method == "HEAD":
            continue
        found.add(Route("GET" if route.method == "*" else route.method, template))
    return sorted(found, key=lambda r: (r.template, r.method))


ROUTES = _routes()


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        return orjson.loads(self.body)  # type: ignore[no-any-return]


async def raw_request(base: str, method: str, target: str, headers: list[tuple[str, bytes]]) -> Raw:
    """One request written byte for byte, read to the end (Connection: close)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        body = b"{}" if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        head = [f"{method} {target} HTTP/1.1".encode(), f"Host: {host}:{port}".encode(), b"Connection: close"]
        head += [name.encode() + b": " + value for name, value in headers]
        if body and not any(name.lower() == "content-type" for name, _ in headers):
            head.append(b"Content-Type: application/json")
        head.append(f"Content-Length: {len(body)}".encode())
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 20)
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    head_block, _, payload = rest.partition(b"\r\n\r\n")
    parsed = {}
    for line in head_block.split(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        parsed[name.strip().lower()] = value.strip()
    if parsed.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return Raw(int(status_line.split()[1]), parsed, payload)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def assert_refused_in_our_words(reply: Raw, what: str) -> None:
    assert reply.status < 500, (what, reply.status, reply.body[:300])
    if reply.status >= 400:
        assert reply.headers.get("content-type", "").startswith("application/problem+json"), (
            what,
            reply.status,
            reply.headers.get("content-type"),
            reply.body[:200],
        )
        problem = reply.problem()
        assert problem["status"] == reply.status and problem["code"], (what, problem)
        assert not LEAKS.search(str(problem.get("detail", ""))), (what, problem)


@pytest.fixture
def base(node: tuple[web.Application, TestServer]) -> str:
    return str(node[1].make_url("")).rstrip("/")


@pytest.fixture(scope="module")
async def token(node: tuple[web.Application, TestServer], http: aiohttp.ClientSession) -> str:
    """One host for the module: the probes need a valid bearer, not a fresh account each."""
    return await new_host(node[0], Api(http, str(node[1].make_url("")).rstrip("/")))


def _bearer(token: str) -> tuple[str, bytes]:
    return ("Authorization", f"Bearer {token}".encode())


@pytest.mark.parametrize("route", [r for r in ROUTES if r.variables], ids=lambda r: r.id)
async def test_a_nul_byte_in_any_path_id_is_a_4xx_problem(base: str, token: str, route: Route) -> None:
    for name in route.variables:
        for headers in ([], [_bearer(token)]):
            reply = await raw_request(base, route.method, route.path("x1", nul_in=name), headers)
            assert_refused_in_our_words(reply, f"{route.id} {name}=NUL bearer={bool(headers)}")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
async def test_nul_bytes_in_the_query_are_a_4xx_problem_or_ignored(
    base: str, token: str, route: Route
) -> None:
    query = "&".join(f"{name}=%00" for name in QUERY_NAMES)
    reply = await raw_request(base, route.method, f"{route.path('x1')}?{query}", [_bearer(token)])
    assert_refused_in_our_words(reply, f"{route.id} ?NUL")


HEADERS = [
    ("Authorization", b"Bearer \xff\xfe\x80abc"),
    ("Idempotency-Key", b"k\xff\xfe"),
    ("Content-Type", b"application/json\xff"),
    ("If-Match", b'"\xff"'),
    ("X-Shopify-Hmac-Sha256", b"\xff\xfe"),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
async def test_non_utf8_header_bytes_are_a_4xx_problem_or_ignored(
    base: str, token: str, route: Route
) -> None:
    for name, value in HEADERS:
        headers = [(name, value)] if name == "Authorization" else [(name, value), _bearer(token)]
        reply = await raw_request(base, route.method, route.path("x1"), headers)
        assert_refused_in_our_words(reply, f"{route.id} {name}")


@pytest.mark.parametrize("path", ["/api/v1/broadcasts/%00", "/api/v1/orders/%00", "/api/v1/products/%00"])
async def test_a_nul_id_is_not_found(base: str, token: str, path: str) -> None:
    reply = await raw_request(base, "GET", path, [_bearer(token)])
    assert (reply.status, reply.problem()["code"]) == (404, "not_found")
