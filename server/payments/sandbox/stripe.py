"""A local Stripe for the calls liveshop makes: PaymentIntents (create, retrieve, confirm with test
cards, cancel), refunds, Idempotency-Key replay, and signed webhooks to the node (delivered, lost,
doubled or held back and released in reverse order, as a test asks).

Test cards (number or PaymentMethod id), as Stripe documents them:
  4242 4242 4242 4242 / pm_card_visa                   succeeds
  4000 0000 0000 0002 / pm_card_chargeDeclined         declined (card_declined)
  4000 0000 0000 9995 / pm_card_chargeDeclinedInsufficientFunds   declined (insufficient_funds)
  4000 0000 0000 3220 / pm_card_threeDSecure2Required  3-D Secure: requires_action, then
                                                       POST /_sandbox/3ds/{pi} {"result": "succeed"|"fail"}
  payment_method_data[type]=blik | p24                 succeeds (Polish bank methods)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from server.payments.sandbox.common import FAULTS, Faults, fault_middleware, nested, set_faults
from server.payments.signing import stripe_signature
from server.tasks import stop_task

SECRET_KEY = "sk_test_sandbox_liveshop"
PUBLISHABLE_KEY = "pk_test_sandbox_liveshop"
WEBHOOK_SECRET = "whsec_sandbox_liveshop"
SUCCEED = {"4242424242424242", "pm_card_visa", "pm_card_mastercard", "5555555555554444"}
DECLINE = {
    "4000000000000002": "card_declined",
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_visa_chargeDeclined": "card_declined",
    "4000000000009995": "insufficient_funds",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
THREE_DS = {"4000000000003220", "4000002760003184", "pm_card_threeDSecure2Required"}


@dataclass
class Hooks:
    url: str = ""
    mode: str = "deliver"  # deliver | drop | duplicate | hold
    held: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0


@dataclass
class Stripe:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    hooks: Hooks = field(default_factory=Hooks)
    calls: dict[str, int] = field(default_factory=dict)
    pending: set[asyncio.Task[int]] = field(default_factory=set)
    acked: dict[str, float] = field(default_factory=dict)  # pi -> wall time its success was acknowledged
    http: aiohttp.ClientSession | None = None


STRIPE = web.AppKey("stripe_sandbox", Stripe)
_seq = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_seq):06d}{secrets.token_hex(8)}"


def _error(status: int, kind: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message, **extra}}, status=status)


def _failed() -> web.Response:
    return _error(500, "api_error", "Sandbox injected an error")


def _auth(request: web.Request, *, publishable: bool = False) -> str | None:
    """The key kind that authenticated the call ("secret" | "publishable"), or None."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token == SECRET_KEY:
        return "secret"
    if publishable and token == PUBLISHABLE_KEY:
        return "publishable"
    return None


async def _form(request: web.Request) -> dict[str, Any]:
    return nested(await request.post()) if request.body_exists else {}


def _count(request: web.Request, name: str) -> None:
    calls = request.app[STRIPE].calls
    calls[name] = calls.get(name, 0) + 1


async def _idempotent(request: web.Request, name: str, params: dict[str, Any], make: Any) -> web.Response:
    """Stripe's Idempotency-Key: a repeat with the same parameters gets the first answer again."""
    sb = request.app[STRIPE]
    key = request.headers.get("Idempotency-Key")
    digest = json.dumps(params, sort_keys=True)
    if key:
        prev = sb.idempotent.get(f"{name}:{key}")
        if prev is not None:
            if prev[0] != digest:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters",
                )
            return web.json_response(prev[2], status=prev[1], headers={"Idempotent-Replayed": "true"})
    status, body = await make()
    if key and status < 500:
        sb.idempotent[f"{name}:{key}"] = (digest, status, body)
    return web.json_response(body, status=status)


# PaymentIntents ---------------------------------------------------------------------------------
async def create_intent(request: web.Request) -> web.Response:
    if _auth(request) is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided")
    _count(request, "create")
    params = await _form(request)

    async def make() -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Missing required param: amount.",
                    "param": "amount",
                }
            }
        currency = str(params.get("currency", ""))
        if amount < 1 or len(currency) != 3 or currency != currency.lower():
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid amount or currency",
                    "param": "amount",
                }
            }
        pi_id = _id("pi")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
            "metadata": params.get("metadata") or {},
            "description": params.get("description"),
            "automatic_payment_methods": {
                "enabled": str((params.get("automatic_payment_methods") or {}).get("enabled")) == "true"
            },
            "payment_method_types": ["card", "blik", "p24"],
            "last_payment_error": None,
            "next_action": None,
            "latest_charge": None,
            "created": int(time.time()),
            "livemode": False,
        }
        request.app[STRIPE].intents[pi_id] = pi
        _emit(request.app, "payment_intent.created", pi)
        return 200, pi

    return await _idempotent(request, "create", params, make)


def _intent(request: web.Request) -> dict[str, Any] | None:
    return request.app[STRIPE].intents.get(request.match_info["id"])


async def get_intent(request: web.Request) -> web.Response:
    if _auth(request) is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided")
    _count(request, "retrieve")
    pi = _intent(request)
    if pi is None:
        return _error(404, "invalid_request_error", "No such payment_intent", code="resource_missing")
    return web.json_response(pi)


def _card_of(params: dict[str, Any]) -> str:
    pm = params.get("payment_method")
    if isinstance(pm, str) and pm:
        return pm
    data = params.get("payment_method_data") or {}
    if data.get("type") in ("blik", "p24"):
        return str(data["type"])
    return str((data.get("card") or {}).get("number", "")).replace(" ", "")


async def confirm_intent(request: web.Request) -> web.Response:
    """What Stripe.js does for the buyer: confirm with a payment method (publishable key + client_secret)."""
    kind = _auth(request, publishable=True)
    if kind is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided")
    _count(request, "confirm")
    pi = _intent(request)
    params = await _form(request)
    if pi is None:
        return _error(404, "invalid_request_error", "No such payment_intent", code="resource_missing")
    if kind == "publishable" and params.get("client_secret") != pi["client_secret"]:
        return _error(
            400,
            "invalid_request_error",
            "The client_secret does not match",
            code="payment_intent_invalid_parameter",
        )
    return confirm(request.app, pi, _card_of(params))


def confirm(app: web.Application, pi: dict[str, Any], card: str) -> web.Response:
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        return _error(
            400,
            "invalid_request_error",
            f"This PaymentIntent's status is {pi['status']}; it cannot be confirmed",
            code="payment_intent_unexpected_state",
            payment_intent=pi,
        )
    if card in DECLINE:
        code = DECLINE[card]
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": code,
            "message": "Your card was declined.",
        }
        _emit(app, "payment_intent.payment_failed", pi)
        return _error(
            402,
            "card_error",
            "Your card was declined.",
            code="card_declined",
            decline_code=code,
            payment_intent=pi,
        )
    if card in THREE_DS:
        pi["status"] = "requires_action"
        pi["last_payment_error"] = None
        pi["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        _emit(app, "payment_intent.requires_action", pi)
        return web.json_response(pi)
    if card in SUCCEED or card in ("blik", "p24"):
        _succeed(app, pi)
        return web.json_response(pi)
    pi["status"] = "requires_payment_method"
    pi["last_payment_error"] = {
        "type": "card_error",
        "code": "incorrect_number",
        "message": "Your card number is incorrect.",
    }
    _emit(app, "payment_intent.payment_failed", pi)
    return _error(
        402, "card_error", "Your card number is incorrect.", code="incorrect_number", payment_intent=pi
    )


def _succeed(app: web.Application, pi: dict[str, Any]) -> None:
    pi["status"] = "succeeded"
    pi["amount_received"] = pi["amount"]
    pi["last_payment_error"] = None
    pi["next_action"] = None
    pi["latest_charge"] = _id("ch")
    _emit(app, "payment_intent.succeeded", pi)


async def three_ds(request: web.Request) -> web.Response:
    """The buyer passes (or fails) the bank's 3-D Secure step."""
    pi = _intent(request)
    if pi is None or pi["status"] != "requires_action":
        return _error(400, "invalid_request_error", "No 3-D Secure step is pending")
    if (await request.json()).get("result", "succeed") == "succeed":
        _succeed(request.app, pi)
    else:
        pi["status"] = "requires_payment_method"
        pi["next_action"] = None
        pi["last_payment_error"] = {
            "type": "card_error",
            "code": "payment_intent_authentication_failure",
            "message": "3-D Secure authentication failed.",
        }
        _emit(request.app, "payment_intent.payment_failed", pi)
    return web.json_response(pi)


async def cancel_intent(request: web.Request) -> web.Response:
    if _auth(request) is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided")
    _count(request, "cancel")
    pi = _intent(request)
    if pi is None:
        return _error(404, "invalid_request_error", "No such payment_intent", code="resource_missing")
    if pi["status"] in ("succeeded", "canceled"):
        return _error(
            400,
            "invalid_request_error",
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    pi["status"] = "canceled"
    pi["cancellation_reason"] = "requested_by_customer"
    _emit(request.app, "payment_intent.canceled", pi)
    return web.json_response(pi)


async def create_refund(request: web.Request) -> web.Response:
    if _auth(request) is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided")
    _count(request, "refund")
    params = await _form(request)

    async def make() -> tuple[int, dict[str, Any]]:
        pi = request.app[STRIPE].intents.get(str(params.get("payment_intent", "")))
        if pi is None or pi["status"] != "succeeded":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "This PaymentIntent has no charge to refund",
                    "code": "charge_not_refundable",
                }
            }
        amount = int(params.get("amount") or pi["amount"])
        already = sum(
            r["amount"] for r in request.app[STRIPE].refunds.values() if r["payment_intent"] == pi["id"]
        )
        if amount + already > pi["amount"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Refund exceeds the charge",
                    "code": "charge_already_refunded",
                }
            }
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": pi["currency"],
            "payment_intent": pi["id"],
            "status": "succeeded",
            "metadata": params.get("metadata") or {},
        }
        request.app[STRIPE].refunds[refund["id"]] = refund
        _emit(
            request.app,
            "charge.refunded",
            {
                "id": pi["latest_charge"],
                "object": "charge",
                "payment_intent": pi["id"],
                "amount_refunded": amount + already,
            },
        )
        return 200, refund

    return await _idempotent(request, "refund", params, make)


# webhooks ---------------------------------------------------------------------------------------
def _emit(app: web.Application, kind: str, obj: dict[str, Any]) -> None:
    sb = app[STRIPE]
    event = {
        "id": _id("evt"),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": json.loads(json.dumps(obj))},
        "livemode": False,
    }
    sb.events.append(event)
    if not sb.hooks.url or sb.hooks.mode == "drop":
        return
    if sb.hooks.mode == "hold":
        sb.hooks.held.append(event)
        return
    copies = 2 if sb.hooks.mode == "duplicate" else 1
    for _ in range(copies):
        _send_later(app, event)


def _send_later(app: web.Application, event: dict[str, Any]) -> None:
    sb = app[STRIPE]
    task = asyncio.get_running_loop().create_task(deliver(app, event))
    sb.pending.add(task)
    task.add_done_callback(sb.pending.discard)


async def deliver(app: web.Application, event: dict[str, Any], attempts: int = 3) -> int:
    """POST one event, signed as Stripe signs, to the node; a few quick retries on failure."""
    sb = app[STRIPE]
    body = json.dumps(event).encode()
    status = 0
    for attempt in range(attempts):
        try:
            assert sb.http is not None
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(WEBHOOK_SECRET, body),
            }
            async with sb.http.post(sb.hooks.url, data=body, headers=headers) as resp:
                status = resp.status
                await resp.read()
            if status < 500:
                break
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        await asyncio.sleep(0.05 * (attempt + 1))
    if 200 <= status < 300:
        sb.hooks.delivered += 1
        if event["type"] == "payment_intent.succeeded":
            sb.acked.setdefault(event["data"]["object"]["id"], time.time())
    else:
        sb.hooks.failed += 1
    return status


async def set_webhook(request: web.Request) -> web.Response:
    """{"url": ..., "mode": "deliver" | "drop" | "duplicate" | "hold"}."""
    data = await request.json()
    hooks = request.app[STRIPE].hooks
    hooks.url = data.get("url", hooks.url)
    hooks.mode = data.get("mode", "deliver")
    return web.json_response({"ok": True})


async def release(request: web.Request) -> web.Response:
    """Deliver held events, in order or reversed ({"reverse": true}); answers their statuses."""
    data = await request.json() if request.body_exists else {}
    hooks = request.app[STRIPE].hooks
    held, hooks.held = hooks.held, []
    if data.get("reverse"):
        held.reverse()
    return web.json_response({"statuses": [await deliver(request.app, e) for e in held]})


async def redeliver(request: web.Request) -> web.Response:
    """Send stored events again: {"payment_intent": id} (its events) or {"event_id": id}."""
    data = await request.json()
    sb = request.app[STRIPE]
    chosen = [
        e
        for e in sb.events
        if e["id"] == data.get("event_id") or e["data"]["object"].get("id") == data.get("payment_intent")
    ]
    return web.json_response({"statuses": [await deliver(request.app, e) for e in chosen]})


async def pay(request: web.Request) -> web.Response:
    """The test-card page's one call: {"client_secret", "card"} confirms the PaymentIntent it names."""
    data = await request.json()
    secret = str(data.get("client_secret", ""))
    pi = request.app[STRIPE].intents.get(secret.split("_secret_")[0])
    if pi is None or pi["client_secret"] != secret:
        return _error(404, "invalid_request_error", "No such payment_intent", code="resource_missing")
    return confirm(request.app, pi, str(data.get("card", "")).replace(" ", ""))


async def state(request: web.Request) -> web.Response:
    sb = request.app[STRIPE]
    return web.json_response(
        {
            "intents": list(sb.intents.values()),
            "refunds": list(sb.refunds.values()),
            "events": len(sb.events),
            "calls": sb.calls,
            "webhooks": {
                "url": sb.hooks.url,
                "mode": sb.hooks.mode,
                "held": len(sb.hooks.held),
                "delivered": sb.hooks.delivered,
                "failed": sb.hooks.failed,
            },
        }
    )


async def acks(request: web.Request) -> web.Response:
    """When each PaymentIntent's success was acknowledged by the node (wall clock; benchmarks)."""
    return web.json_response(request.app[STRIPE].acked)


async def settle(request: web.Request) -> web.Response:
    """Wait until every webhook in flight was delivered (tests call it instead of sleeping)."""
    sb = request.app[STRIPE]
    while sb.pending:
        await asyncio.gather(*list(sb.pending), return_exceptions=True)
    return web.json_response({"ok": True})


def make_app(latency_s: float = 0.0, webhook_url: str = "") -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_failed)])
    app[FAULTS] = Faults(latency_s=latency_s)
    app[STRIPE] = Stripe()
    app[STRIPE].hooks.url = webhook_url

    async def client(app: web.Application):  # type: ignore[no-untyped-def]
        app[STRIPE].http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1000), timeout=aiohttp.ClientTimeout(total=30)
        )
        yield
        for task in list(app[STRIPE].pending):
            await stop_task(task, within=2.0, what="sandbox webhook delivery")
        http = app[STRIPE].http
        if http is not None:
            await http.close()

    app.cleanup_ctx.append(client)
    app.router.add_post("/v1/payment_intents", create_intent)
    app.router.add_get("/v1/payment_intents/{id}", get_intent)
    app.router.add_post("/v1/payment_intents/{id}/confirm", confirm_intent)
    app.router.add_post("/v1/payment_intents/{id}/cancel", cancel_intent)
    app.router.add_post("/v1/refunds", create_refund)
    app.router.add_get("/_sandbox/state", state)
    app.router.add_post("/_sandbox/faults", set_faults)
    app.router.add_post("/_sandbox/webhook", set_webhook)
    app.router.add_post("/_sandbox/release", release)
    app.router.add_post("/_sandbox/redeliver", redeliver)
    app.router.add_post("/_sandbox/settle", settle)
    app.router.add_get("/_sandbox/acks", acks)
    app.router.add_post("/_sandbox/pay", pay)
    app.router.add_post("/_sandbox/3ds/{id}", three_ds)
    return app


def env(url: str, node_url: str = "") -> dict[str, str]:
    """The LIVESHOP_* settings that point a node at this sandbox."""
    return {
        "LIVESHOP_STRIPE_SECRET_KEY": SECRET_KEY,
        "LIVESHOP_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "LIVESHOP_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LIVESHOP_STRIPE_BASE_URL": url,
    }
