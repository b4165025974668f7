"""`Host`: the seller during the show. Pins products and launches offers on the run file's schedule."""

from __future__ import annotations

import itertools
import random
import time

from locust import FastHttpUser, constant, tag, task

from loadtests import context
from loadtests.outcomes import expected

MAX_PINS = 3


class Host(FastHttpUser):
    """Exactly one per run (fixed_count): the schedule counts from the moment it starts."""

    fixed_count = 1
    wait_time = constant(1.0)

    def on_start(self) -> None:
        self.run = context.run_file(self.environment)
        self.board = context.board(self.environment)
        knobs = self.run.knobs
        self.headers = {"Authorization": f"Bearer {self.run.host_token}"}
        now = time.monotonic()
        self.next_pin = now + knobs.host_pin_every_s
        self.next_offer = now + knobs.host_first_offer_s
        products = [o["product_id"] for o in self.run.offers] + [p["id"] for p in self.run.spare_products]
        self.pins = itertools.cycle(products or [None])
        self.spares = itertools.cycle(self.run.spare_products or [None])
        self.launched: list[str] = []
        # The room shows up to three pins: the oldest goes before a fourth comes (prepare pinned the first).
        self.pinned: list[str] = [self.run.offers[0]["product_id"]] if self.run.offers else []

    @tag("host")
    @task
    def show(self) -> None:
        """One tick of the show: whatever is due, then a glance at the newest offer's counters."""
        now = time.monotonic()
        knobs = self.run.knobs
        if now >= self.next_pin:
            self.next_pin = now + knobs.host_pin_every_s
            self.pin(next(self.pins))
        if now >= self.next_offer:
            self.next_offer = now + knobs.host_offer_every_s
            self.launch(next(self.spares))
        if self.launched:
            self.client.get(f"/api/v1/offers/{self.launched[-1]}", headers=self.headers, name="host: offer")

    def pin(self, product_id: str | None) -> None:
        if product_id is None:
            return
        if product_id in self.pinned:
            self.pinned.remove(product_id)
        elif len(self.pinned) >= MAX_PINS:
            oldest = self.pinned.pop(0)
            self.client.delete(
                f"/api/v1/broadcasts/{self.run.broadcast_id}/pins/{oldest}",
                headers=self.headers,
                name="host: unpin",
            )
        self.pinned.append(product_id)
        with self.client.put(
            f"/api/v1/broadcasts/{self.run.broadcast_id}/pin",
            json={"product_id": product_id},
            headers=self.headers,
            name="host: pin",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")

    def launch(self, product: dict[str, object] | None) -> None:
        if product is None:
            return
        knobs = self.run.knobs
        with self.client.post(
            f"/api/v1/broadcasts/{self.run.broadcast_id}/offers",
            json={
                "product_id": product["id"],
                "price": random.choice([499, 999, 1499]),
                "quantity": knobs.host_offer_quantity,
                "per_buyer_limit": 1,
                "duration_s": knobs.host_offer_duration_s,
            },
            headers=self.headers,
            name="host: launch offer",
            catch_response=True,
        ) as resp:
            if resp.status_code == 201:
                offer = resp.json()
                self.launched.append(offer["id"])
                self.board.update(offer)
            elif not expected(resp, "host: launch offer", 409, {"insufficient_stock", "offer_active"}):
                resp.failure(f"{resp.status_code} {(resp.text or '')[:160]}")
