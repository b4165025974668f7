"""Domain errors: every stable code has a title and an HTTP status, and a problem body says the code."""

from __future__ import annotations

from typing import get_args

import pytest

from server.api.errors import STATUS, problem
from server.errors import TITLES, Code, CodeName, DomainError, LimitExceeded, NotFound, SoldOut


def test_every_code_has_a_title_and_a_status() -> None:
    assert set(TITLES) == set(Code)
    assert set(STATUS) == set(Code)


def test_the_literal_codes_the_type_checker_knows_are_exactly_the_enum() -> None:
    assert sorted(get_args(CodeName)) == sorted(c.value for c in Code)


def test_an_unknown_code_is_refused_where_it_is_raised() -> None:
    with pytest.raises(ValueError, match="unknown error code"):
        DomainError("sold_outt")


def test_a_named_error_renders_its_code_status_and_extras() -> None:
    body = problem(LimitExceeded("At most 2 per buyer", field="quantity", remaining=2), "/x")
    assert body == {
        "type": "https://liveshop.dev/problems/limit_exceeded",
        "title": "Per-buyer limit reached",
        "status": 409,
        "detail": "At most 2 per buyer",
        "code": "limit_exceeded",
        "field": "quantity",
        "instance": "/x",
        "remaining": 2,
    }
    assert problem(NotFound("offer"))["status"] == 404
    assert problem(SoldOut())["detail"] == "Sold out"
