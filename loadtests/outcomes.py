"""How a scenario judges an HTTP answer: success, an expected business answer, or a failure to retry.

Expected business answers (a buyer too late for a sold-out offer) are successes in Locust's eyes,
recorded under their own name, e.g. `reserve [sold_out]`, so the stats count them apart and the
failures table holds only what ops must look at.
"""

from __future__ import annotations

import random
from typing import Any

RETRYABLE = {0, 429, 502, 503, 504}  # 0: no answer (connection refused, reset, timeout)
MAX_ATTEMPTS = 3


def problem_code(resp: Any) -> str | None:
    try:
        body = resp.json()
    except Exception:
        return None
    return body.get("code") if isinstance(body, dict) else None


def backoff_s(resp: Any, attempt: int) -> float:
    """Honour Retry-After; else exponential backoff with full jitter, as a well-behaved app would."""
    try:
        after = float(resp.headers.get("Retry-After", ""))
    except (TypeError, ValueError, AttributeError):
        after = 0.0
    return max(after, random.uniform(0, 0.25 * 2**attempt))


def expected(resp: Any, base_name: str, status: int, codes: set[str]) -> str | None:
    """The problem code if this answer is an expected one, renaming the Locust entry; else None."""
    if resp.status_code != status:
        return None
    code = problem_code(resp)
    if code in codes:
        resp.request_meta["name"] = f"{base_name} [{code}]"
        resp.success()
        return code
    return None
