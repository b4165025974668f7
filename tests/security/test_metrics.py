"""/metrics behind a token, or on a port of its own."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from server.config import Settings
from tests.api_client import Api
from tests.conftest import start_app
from tests.services import free_port


async def test_metrics_with_a_token_answer_only_its_bearer(settings: Settings) -> None:
    token = "m3tr1cs-" + "Zq9xK2" * 5
    _, server = await start_app(
        settings.model_copy(update={"metrics_token": SecretStr(token)}), background=False
    )
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, str(server.make_url("")).rstrip("/"))
            assert (await api.call("GET", "/metrics")).status == 401
            wrong = await api.call("GET", "/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status == 401 and wrong.code == "unauthorized"
            raw = await api.call(
                "GET", "/metrics", headers={"Authorization": b"Bearer \xff".decode("latin-1")}
            )
            assert raw.status == 401
            ok = await api.call("GET", "/metrics", token=token)
            assert ok.status == 200 and "liveshop_http_requests" in ok.body
    finally:
        await server.close()


async def test_metrics_on_a_separate_port_leave_the_public_listener(settings: Settings) -> None:
    port = free_port()
    _, server = await start_app(settings.model_copy(update={"metrics_port": port}), background=False)
    try:
        async with aiohttp.ClientSession() as http:
            public = Api(http, str(server.make_url("")).rstrip("/"))
            assert (await public.call("GET", "/metrics")).status == 404
            private = await Api(http, f"http://127.0.0.1:{port}").call("GET", "/metrics")
            assert private.status == 200 and "liveshop_http_requests" in private.body
    finally:
        await server.close()
