"""Security headers on every response (pages, API, static files, errors): CSP, nosniff, referrer policy.

The policy allows what the pages load and nothing else: our own scripts, styles and socket.io (same
origin, websockets included), product images over https, WebRTC media, and the payment providers'
scripts and frames (Stripe Elements, the Toss Payments widget). No inline script is allowed anywhere,
and no other site may frame a page (clickjacking a "buy" button).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

PAYMENT_SCRIPTS = ("https://js.stripe.com", "https://js.tosspayments.com")
PAYMENT_FRAMES = ("https://js.stripe.com", "https://hooks.stripe.com", "https://*.tosspayments.com")
PAYMENT_CONNECT = ("https://api.stripe.com", "https://*.tosspayments.com")


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, for a CSP source list (None when it has none)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def page_policy(frame_ancestors: str = "'none'", connect: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of the HTML pages and their scripts. `connect` adds the payment
    provider's API when it is not the provider's own (a sandbox that the provider's script talks to)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *PAYMENT_SCRIPTS],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", "https:"],
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],  # the offline shell's service worker; hls.js's blob worker
        "manifest-src": ["'self'"],  # the installable web app's manifest
        "connect-src": ["'self'", "ws:", "wss:", *PAYMENT_CONNECT, *connect],
        "frame-src": [*PAYMENT_FRAMES],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": [frame_ancestors],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


# API answers are data, never a document: nothing in them may run or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def setup(app: web.Application, frame_ancestors: str = "'none'", provider_urls: tuple[str, ...] = ()) -> None:
    """Every response of the app gets the headers (static files and problem+json included)."""
    extra = tuple(o for o in (origin_of(u) for u in provider_urls) if o and o not in PAYMENT_CONNECT)
    page = page_policy(frame_ancestors, extra)
    common = dict(COMMON)
    if frame_ancestors == "'none'":
        common["X-Frame-Options"] = "DENY"  # for browsers that predate frame-ancestors

    async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        for name, value in common.items():
            headers.setdefault(name, value)
        # The service worker's own policy governs what it may fetch: the pages' one. A 304 has no
        # Content-Type, yet the browser takes its headers over for the page it keeps: the page's too.
        is_page = (
            headers.get("Content-Type", "").startswith("text/html")
            or request.path.startswith("/app/")
            or request.path == "/sw.js"
            or (response.status == 304 and not request.path.startswith("/api/"))
        )
        headers.setdefault("Content-Security-Policy", page if is_page else API_POLICY)

    app.on_response_prepare.append(add_security_headers)
