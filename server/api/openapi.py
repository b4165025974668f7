"""Route registration that also describes itself, so /api/v1/openapi.json is the exact contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ROUTES: list[RouteSpec] = []


@dataclass
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    status: int = 200
    auth: str | None = None  # None | "user" | "host" | "viewer"
    errors: tuple[str, ...] = ()
    idempotent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Router:
    """Collects one feature's routes; `install` adds them to the app and to the published contract."""

    def __init__(self) -> None:
        self.specs: list[RouteSpec] = []

    def route(self, method: str, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            meta.setdefault("summary", (handler.__doc__ or handler.__name__).strip().splitlines()[0])
            meta.setdefault("tag", "misc")
            self.specs.append(RouteSpec(method, path, handler, **meta))
            return handler

        return decorate

    def get(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **meta)

    def post(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **meta)

    def put(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **meta)

    def patch(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **meta)

    def delete(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **meta)

    def install(self, app: web.Application) -> None:
        for spec in self.specs:
            app.router.add_route(spec.method, spec.path, spec.handler)
        app.setdefault(OPENAPI_ROUTES, []).extend(self.specs)


OPENAPI_ROUTES = web.AppKey("openapi_routes", list[RouteSpec])

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
    },
}


def build_spec(app: web.Application, version: str) -> dict[str, Any]:
    from server.api.errors import CODES

    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    for spec in app.get(OPENAPI_ROUTES, []):
        op: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
            "responses": {str(spec.status): {"description": "Success"}},
        }
        params = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in spec.path.split("/")
            if part.startswith("{") and part.endswith("}")
        ]
        if spec.idempotent:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                }
            )
        if params:
            op["parameters"] = params
        if spec.body is not None:
            schema = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[spec.body.__name__] = schema
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}
                },
            }
        if spec.auth:
            op["security"] = [{"bearer": []}]
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        codes = set(spec.errors) | ({"validation_error", "invalid_json"} if spec.body else set())
        if spec.auth:
            codes |= {"unauthorized", "invalid_token"}
        if spec.auth == "host":
            codes.add("forbidden")
        for code in sorted(codes):
            status = str(CODES[code][0])
            entry = op["responses"].setdefault(status, {"description": "", "content": problem})
            entry["description"] = ", ".join(filter(None, [entry["description"], code]))
        op.update(spec.extra)
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "liveshop",
            "version": version,
            "description": "Live-shopping server: catalog, broadcasts, flash offers, orders.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
