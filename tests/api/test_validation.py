"""Request bodies become models or field-named 4xx errors (server/api/validation.py)."""

from __future__ import annotations

import orjson
import pytest

from server.api.validation import decode_json, json_response, parse_model
from server.commerce.schemas import OrderIn
from server.errors import DomainError


@pytest.mark.parametrize("raw", [b"{", b"nul", b"\xff\xfe", b"{'single': 1}"])
def test_bytes_that_are_not_json_are_invalid_json(raw: bytes) -> None:
    with pytest.raises(DomainError) as caught:
        decode_json(raw)
    assert caught.value.code == "invalid_json"


@pytest.mark.parametrize("data", [[], "text", 5, None])
def test_a_body_that_is_not_an_object_is_a_validation_error_on_body(data: object) -> None:
    with pytest.raises(DomainError) as caught:
        parse_model(OrderIn, data)
    assert (caught.value.code, caught.value.field) == ("validation_error", "body")


def test_the_first_bad_field_is_named_by_its_path_and_every_error_is_listed() -> None:
    body = {"reservation_id": "", "buyer": {"name": "Ada", "email": "nope", "address": "x"}}
    with pytest.raises(DomainError) as caught:
        parse_model(OrderIn, body)
    error = caught.value
    assert error.code == "validation_error" and error.field == "reservation_id"
    assert {e["field"] for e in error.extra["errors"]} == {"reservation_id", "buyer.email"}
    assert error.detail.startswith("reservation_id: ")


def test_json_responses_carry_their_status_headers_and_json() -> None:
    response = json_response({"a": [1, "é"]}, status=201, headers={"ETag": '"1"'})
    assert (response.status, response.content_type, response.headers["ETag"]) == (
        201,
        "application/json",
        '"1"',
    )
    assert orjson.loads(response.body) == {"a": [1, "é"]}  # type: ignore[arg-type]
