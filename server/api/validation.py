"""Request parsing: JSON bodies into pydantic models, with field-named 4xx errors and JSON replies."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from server.api.context import SETTINGS
from server.errors import DomainError

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base for request bodies: unknown fields are refused, strings are not coerced to numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


def _field_of(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error(exc: ValidationError) -> DomainError:
    errors = [{"field": _field_of(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return DomainError(
        "validation_error", f"{first['field']}: {first['message']}", field=first["field"], errors=errors
    )


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body, or a clear 4xx for a wrong type, an oversized body or bad JSON."""
    if request.headers.get("Content-Type") != "application/json" and (  # the usual header: no parsing
        request.content_type not in ("application/json", "") and not request.content_type.endswith("+json")
    ):
        raise DomainError("unsupported_media_type", "Send the body as application/json")
    max_size = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > max_size:
        raise DomainError("payload_too_large", f"Body larger than {max_size} bytes")
    try:
        raw = await request.content.read(max_size + 1)
    except ValueError as exc:
        raise DomainError("bad_request", "Could not read the body") from exc
    if len(raw) > max_size:
        raise DomainError("payload_too_large", f"Body larger than {max_size} bytes")
    if not raw:
        raise DomainError("invalid_json", "A JSON body is required")
    return decode_json(raw)


def decode_json(raw: bytes) -> Any:
    """Bytes already read (e.g. a signed webhook body) into JSON, or a clear 400."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if exc.lineno else ""
        raise DomainError("invalid_json", f"The body is not valid JSON{where}") from exc


def parse_model(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise DomainError("validation_error", "body: must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


async def parse_body(request: web.Request, model: type[M]) -> M:
    return parse_model(model, await read_json(request))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def idempotency_key(request: web.Request, *, required: bool = False) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if required:
            raise DomainError(
                "validation_error", "Idempotency-Key header is required", field="Idempotency-Key"
            )
        return None
    key = key.strip().strip('"')
    if not key or len(key) > 200 or not key.isprintable():
        raise DomainError(
            "validation_error", "Idempotency-Key must be 1-200 printable characters", field="Idempotency-Key"
        )
    return key


def path_id(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    if not value or len(value) > 80:
        raise DomainError("not_found", f"No such {name}")
    return value
