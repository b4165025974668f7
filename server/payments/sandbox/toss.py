"""A local Toss Payments for the calls liveshop makes: confirm, retrieve (by paymentKey or orderId),
cancel (refund), Basic auth with the secret key, Idempotency-Key replay; plus the widget's stand-in
(`POST /_sandbox/pay {orderId, amount, card}` -> a paymentKey the buyer's page hands to the node).

Test cards: 4330 0000 0000 0001 (or any other number) succeeds; 4000 0000 0000 0002 is rejected at
confirm (REJECT_CARD_PAYMENT)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from server.payments.sandbox.common import FAULTS, Faults, fault_middleware, set_faults

SECRET_KEY = "test_sk_sandbox_liveshop"
CLIENT_KEY = "test_ck_sandbox_liveshop"
DECLINED = {"4000000000000002"}


@dataclass
class Toss:
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # paymentKey -> widget's request
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)  # paymentKey -> Payment
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


TOSS = web.AppKey("toss_sandbox", Toss)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _failed() -> web.Response:
    return _error(500, "FAILED_INTERNAL_SYSTEM_PROCESSING", "Sandbox injected an error")


def _authorized(request: web.Request) -> bool:
    expected = "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    return request.headers.get("Authorization") == expected


def _count(request: web.Request, name: str) -> None:
    request.app[TOSS].calls[name] = request.app[TOSS].calls.get(name, 0) + 1


async def _replayed(request: web.Request, make: Any) -> web.Response:
    toss = request.app[TOSS]
    key = request.headers.get("Idempotency-Key")
    if key and key in toss.idempotent:
        status, body = toss.idempotent[key]
        return web.json_response(body, status=status)
    status, body = await make()
    if key and status < 500:
        toss.idempotent[key] = (status, body)
    return web.json_response(body, status=status)


async def confirm(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _error(401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")
    _count(request, "confirm")
    data = await request.json()

    async def make() -> tuple[int, dict[str, Any]]:
        toss = request.app[TOSS]
        key = str(data.get("paymentKey", ""))
        issued = toss.issued.get(key)
        if issued is None:
            return 404, {
                "code": "NOT_FOUND_PAYMENT_SESSION",
                "message": "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
            }
        if key in toss.payments:
            return 400, {"code": "ALREADY_PROCESSED_PAYMENT", "message": "이미 처리된 결제 입니다."}
        if issued["orderId"] != data.get("orderId") or issued["amount"] != data.get("amount"):
            return 400, {"code": "INVALID_REQUEST", "message": "결제 금액 또는 주문번호가 일치하지 않습니다."}
        if issued["card"] in DECLINED:
            return 403, {
                "code": "REJECT_CARD_PAYMENT",
                "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
            }
        payment = {
            "paymentKey": key,
            "orderId": issued["orderId"],
            "orderName": issued.get("orderName", ""),
            "status": "DONE",
            "method": "카드",
            "totalAmount": issued["amount"],
            "balanceAmount": issued["amount"],
            "currency": "KRW",
            "approvedAt": datetime.now(UTC).isoformat(),
            "cancels": None,
        }
        toss.payments[key] = payment
        return 200, payment

    return await _replayed(request, make)


async def get_payment(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _error(401, "UNAUTHORIZED_KEY", "unauthorized")
    _count(request, "retrieve")
    payment = request.app[TOSS].payments.get(request.match_info["key"])
    if payment is None:
        return _error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
    return web.json_response(payment)


async def get_by_order(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _error(401, "UNAUTHORIZED_KEY", "unauthorized")
    _count(request, "retrieve")
    order_id = request.match_info["order_id"]
    found = [p for p in request.app[TOSS].payments.values() if p["orderId"] == order_id]
    if not found:
        return _error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
    return web.json_response(found[-1])


async def cancel(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _error(401, "UNAUTHORIZED_KEY", "unauthorized")
    _count(request, "cancel")
    data = await request.json()

    async def make() -> tuple[int, dict[str, Any]]:
        payment = request.app[TOSS].payments.get(request.match_info["key"])
        if payment is None:
            return 404, {"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 정보 입니다."}
        amount = int(data.get("cancelAmount") or payment["balanceAmount"])
        if payment["balanceAmount"] < amount or amount <= 0:
            return 400, {"code": "ALREADY_CANCELED_PAYMENT", "message": "이미 취소된 결제 입니다."}
        payment["balanceAmount"] -= amount
        payment["status"] = "CANCELED" if payment["balanceAmount"] == 0 else "PARTIAL_CANCELED"
        payment["cancels"] = [
            *(payment["cancels"] or []),
            {
                "cancelAmount": amount,
                "cancelReason": data.get("cancelReason", ""),
                "transactionKey": secrets.token_hex(16),
                "canceledAt": datetime.now(UTC).isoformat(),
            },
        ]
        return 200, json.loads(json.dumps(payment))

    return await _replayed(request, make)


async def widget_pay(request: web.Request) -> web.Response:
    """What Toss's widget does for the buyer: takes the card, returns a paymentKey for the node."""
    data = await request.json()
    key = "tgen_" + secrets.token_hex(12)
    request.app[TOSS].issued[key] = {
        "orderId": str(data.get("orderId", "")),
        "amount": int(data.get("amount", 0)),
        "orderName": str(data.get("orderName", "")),
        "card": str(data.get("card", "4330000000000001")).replace(" ", ""),
    }
    return web.json_response(
        {"paymentKey": key, "orderId": data.get("orderId"), "amount": data.get("amount")}
    )


async def state(request: web.Request) -> web.Response:
    toss = request.app[TOSS]
    return web.json_response({"payments": list(toss.payments.values()), "calls": toss.calls})


def make_app(latency_s: float = 0.0) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(_failed)])
    app[FAULTS] = Faults(latency_s=latency_s)
    app[TOSS] = Toss()
    app.router.add_post("/v1/payments/confirm", confirm)
    app.router.add_get("/v1/payments/orders/{order_id}", get_by_order)
    app.router.add_get("/v1/payments/{key}", get_payment)
    app.router.add_post("/v1/payments/{key}/cancel", cancel)
    app.router.add_post("/_sandbox/pay", widget_pay)
    app.router.add_get("/_sandbox/state", state)
    app.router.add_post("/_sandbox/faults", set_faults)
    return app


def env(url: str) -> dict[str, str]:
    return {
        "LIVESHOP_TOSS_SECRET_KEY": SECRET_KEY,
        "LIVESHOP_TOSS_CLIENT_KEY": CLIENT_KEY,
        "LIVESHOP_TOSS_BASE_URL": url,
    }
