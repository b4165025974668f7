"""Every page, script, API answer and error carries CSP (with frame-ancestors), nosniff, Referrer-Policy."""

from __future__ import annotations

from tests.api_client import Api

PATHS = (
    "/",
    "/console",
    "/watch/bc_any",
    "/app/js/watch.js",
    "/app/css/app.css",
    "/api/v1/products",
    "/api/v1/openapi.json",
    "/api/v1/offers/of_missing",
    "/api/v1/nothing-here",
    "/healthz",
    "/static/products/TEE-ORG-01.svg",
)


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    for path in PATHS:
        reply = await api.call("GET", path)
        assert reply.status < 500, (path, reply.status)
        csp = reply.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, (path, csp)
        assert reply.headers.get("X-Content-Type-Options") == "nosniff", path
        assert reply.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", path


async def test_pages_allow_no_inline_script_and_only_the_payment_providers_from_outside(api: Api) -> None:
    csp = (await api.call("GET", "/watch/bc_any")).headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"].split() == [
        "'self'",
        "https://js.stripe.com",
        "https://js.tosspayments.com",
    ]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["object-src"] == "'none'"
    api_csp = (await api.call("GET", "/api/v1/products")).headers["Content-Security-Policy"]
    assert api_csp.startswith("default-src 'none'")


async def test_errors_and_login_failures_carry_them_too(api: Api) -> None:
    reply = await api.call("POST", "/api/v1/auth/login", json={"email": "x@example.com", "password": "nope"})
    assert reply.status == 401
    assert "frame-ancestors" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_page_revalidated_with_304_keeps_the_page_policy(api: Api) -> None:
    """A reload revalidates the page; the browser takes the 304's headers over for the page it keeps."""
    first = await api.call("GET", "/watch/bc_any")
    modified = first.headers["Last-Modified"]
    again = await api.call("GET", "/watch/bc_any", headers={"If-Modified-Since": modified})
    assert again.status == 304
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert "script-src 'self'" in again.headers["Content-Security-Policy"]


async def test_the_service_worker_gets_the_page_policy_with_worker_and_manifest_sources(api: Api) -> None:
    csp = (await api.call("GET", "/sw.js")).headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["worker-src"].split()[0] == "'self'"
    assert directives["manifest-src"] == "'self'"
    assert directives["connect-src"].startswith("'self'")
