"""`Buyer`: a flash-offer rush. Waits for an offer, reserves, then checks out, releases or abandons."""

from __future__ import annotations

import random
import uuid
from typing import Any

import gevent
from locust import FastHttpUser, between, tag, task

from loadtests import context
from loadtests.board import OfferCard
from loadtests.outcomes import MAX_ATTEMPTS, RETRYABLE, backoff_s, expected

STALE_TRIES = 0.3  # chance a buyer presses "buy" on an offer its page shows as sold out
TEST_CARD = "4242424242424242"  # the sandbox's card that always pays
PAID_POLLS = 50  # x 0.2 s: how long a buyer watches its order turn paid
ADDRESS = {"name": "Load Test", "email": "loadtest@example.com", "address": "1 Load Street, Testville"}


class Buyer(FastHttpUser):
    """One shopper's app. Its `rush` task is one attempt to buy one unit of one offer."""

    weight = 5
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.run = context.run_file(self.environment)
        self.board = context.board(self.environment)
        self.token: str | None = None
        self.bought: dict[str, int] = {}
        self.new_session()

    def new_session(self) -> None:
        """A new shopper arrives (guest session); the previous one has bought all it could."""
        self.bought = {}
        with self.client.post(
            "/api/v1/auth/guest",
            json={"nickname": f"buyer-{random.randrange(10**6)}"},
            name="guest session",
            catch_response=True,
        ) as resp:
            if resp.status_code == 201:
                self.token = resp.json()["token"]
            else:
                self.token = None
                resp.failure(f"{resp.status_code} {resp.text[:120] if resp.text else ''}")

    def auth(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def done(self) -> set[str]:
        return {c.id for c in self.board.cards.values() if self.bought.get(c.id, 0) >= c.per_buyer_limit}

    @tag("buyer")
    @task
    def rush(self) -> None:
        if self.token is None:
            self.new_session()
            return
        card = self.board.pick(self.done(), STALE_TRIES)
        if card is None:
            if any(c.open and c.available > 0 for c in self.board.cards.values()):
                self.new_session()  # this shopper bought its limit everywhere; a new one arrives
            else:
                self.board.wait(self.run.knobs.buyer_poll_s)
            return
        hold = self.reserve(card)
        if hold is None:
            return
        self.bought[card.id] = self.bought.get(card.id, 0) + int(hold["quantity"])  # holds count too
        knobs = self.run.knobs
        gevent.sleep(random.uniform(*knobs.buyer_think_s))
        roll = random.random()
        if roll < knobs.checkout_share:
            self.checkout(card, hold)
        elif roll < knobs.checkout_share + knobs.release_share:
            if self.release(hold):
                self.bought[card.id] -= int(hold["quantity"])
        # else: abandoned; the hold expires and its units return

    def reserve(self, card: OfferCard) -> dict[str, Any] | None:
        key = f"lt-res-{uuid.uuid4().hex}"
        for attempt in range(MAX_ATTEMPTS):
            with self.client.post(
                f"/api/v1/offers/{card.id}/reservations",
                json={"quantity": 1},
                headers=self.auth(key),
                name="reserve",
                catch_response=True,
            ) as resp:
                if resp.status_code == 201:
                    return dict(resp.json())
                code = expected(resp, "reserve", 409, {"sold_out", "limit_exceeded"}) or expected(
                    resp, "reserve", 410, {"offer_ended"}
                )
                if code == "sold_out":
                    self.board.mark(card.id, sold_out=True)
                    return None
                if code == "limit_exceeded":
                    self.bought[card.id] = card.per_buyer_limit
                    return None
                if code == "offer_ended":
                    self.board.mark(card.id, ended=True)
                    return None
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
                if resp.status_code not in RETRYABLE:
                    return None
                wait = backoff_s(resp, attempt)
            gevent.sleep(wait)  # the same Idempotency-Key: a retry never makes a second hold
        return None

    def checkout(self, card: OfferCard, hold: dict[str, Any]) -> None:
        key = f"lt-ord-{uuid.uuid4().hex}"
        body = {"reservation_id": hold["id"], "buyer": ADDRESS}
        context.record_order({"checkout": key, "offer_id": card.id})
        order = self._post_order(body, key, "checkout")
        if order is not None and order.get("status") == "pending_payment":
            order = self.pay(order)  # the shop takes payments: only a paid order is a sale
        if order is None:
            return
        context.record_order(
            {"checkout": key, "offer_id": card.id, "order_id": order["id"], "quantity": hold["quantity"]}
        )
        if random.random() < self.run.knobs.duplicate_share:  # double click: same key, same order
            again = self._post_order(body, key, "checkout (repeat)")
            if again is not None and again["id"] != order["id"]:
                self.environment.events.request.fire(
                    request_type="CHECK",
                    name="idempotent checkout",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError(f"second order {again['id']} for one key"),
                    context={},
                )

    def _post_order(self, body: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
        for attempt in range(MAX_ATTEMPTS):
            with self.client.post(
                "/api/v1/orders", json=body, headers=self.auth(key), name=name, catch_response=True
            ) as resp:
                if resp.status_code == 201:
                    return dict(resp.json())
                refused = {"checkout": key, "offer_id": hold_offer(body["reservation_id"]), "refused": True}
                if expected(resp, name, 410, {"reservation_expired"}):
                    context.record_order(refused)
                    return None
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
                if resp.status_code not in RETRYABLE:
                    if resp.status_code < 500:  # a 4xx made no order; a 5xx may have
                        context.record_order(refused)
                    return None
                wait = backoff_s(resp, attempt)
            gevent.sleep(wait)
        return None  # never answered: the order may exist; the ledger shows it as unanswered

    def pay(self, order: dict[str, Any]) -> dict[str, Any] | None:
        """Pay with the sandbox's test card (what its test-card page does), then wait until paid."""
        payment = order.get("payment") or {}
        if not payment.get("sandbox") or not payment.get("client_secret"):
            return None  # a real provider: a load test cannot pay on the provider's own page
        card = {"client_secret": payment["client_secret"], "card": TEST_CARD}
        with self.client.post(
            f"{payment['sandbox']}/_sandbox/pay", json=card, name="pay (sandbox)", catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
                return None
        for _ in range(PAID_POLLS):
            with self.client.get(
                f"/api/v1/orders/{order['id']}",
                headers=self.auth(),
                name="order (until paid)",
                catch_response=True,
            ) as resp:
                status = resp.json().get("status") if resp.status_code == 200 else None
                if status == "paid":
                    return dict(resp.json())
                if status not in ("pending_payment", None):
                    resp.failure(f"order {order['id']} is {status}")
                    return None
            gevent.sleep(0.2)
        return None

    def release(self, hold: dict[str, Any]) -> bool:
        with self.client.delete(
            f"/api/v1/reservations/{hold['id']}", headers=self.auth(), name="release", catch_response=True
        ) as resp:
            if resp.status_code != 204:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
            return resp.status_code == 204


def hold_offer(hold_id: str) -> str:
    """Hold ids are `<offer id>.<random>` (server/inventory/keys.py)."""
    return hold_id.split(".", 1)[0]
