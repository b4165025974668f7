"""Routes describe themselves (server/api/openapi.py): the published spec is built from the same
registrations the router serves, so it cannot drift from the code."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import Field

from server.api.errors import CODES
from server.api.openapi import OPENAPI_ROUTES, Router, build_spec
from server.api.validation import Body


class ThingIn(Body):
    name: str = Field(min_length=1)


async def make_thing(request: web.Request) -> web.Response:
    """Make a thing."""
    return web.Response(status=201)


async def read_thing(request: web.Request) -> web.Response:
    return web.Response()


def small_app() -> web.Application:
    router = Router()
    router.post(
        "/things/{shelf}", body=ThingIn, status=201, auth="host", idempotent=True, errors=("conflict",)
    )(make_thing)
    router.get("/things/{shelf}/{id}", tag="things", errors=("not_found",))(read_thing)
    app = web.Application()
    router.install(app)
    return app


def test_an_operation_carries_its_parameters_body_security_and_problems() -> None:
    spec = build_spec(small_app(), "9.9")
    assert spec["info"]["version"] == "9.9"
    post = spec["paths"]["/things/{shelf}"]["post"]
    assert post["summary"] == "Make a thing." and post["operationId"] == "post_make_thing"
    assert [(p["name"], p["in"]) for p in post["parameters"]] == [
        ("shelf", "path"),
        ("Idempotency-Key", "header"),
    ]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ThingIn"
    }
    assert "ThingIn" in spec["components"]["schemas"]
    assert post["security"] == [{"bearer": []}]
    # a body adds validation problems, auth adds 401s, a host route adds 403; codes share a status entry
    assert set(post["responses"]) == {"201", "400", "401", "403", "409", "422"}
    assert "unauthorized" in post["responses"]["401"]["description"]
    assert "invalid_token" in post["responses"]["401"]["description"]
    get = spec["paths"]["/things/{shelf}/{id}"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["shelf", "id"]
    assert "security" not in get and "requestBody" not in get
    assert set(get["responses"]) == {"200", "404"}


def test_every_route_of_the_node_is_in_its_spec_with_known_error_codes(
    node: tuple[web.Application, TestServer],
) -> None:
    app = node[0]
    spec = build_spec(app, "1")
    for route in app[OPENAPI_ROUTES]:
        assert route.method.lower() in spec["paths"][route.path]
        assert set(route.errors) <= set(CODES), (route.path, set(route.errors) - set(CODES))
    served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    assert {(r.method, r.path) for r in app[OPENAPI_ROUTES]} <= served
