"""The buyers' ledger: every order a client was told is confirmed, so the audit can match the database.

Lines are JSON, keyed by the checkout's Idempotency-Key: {"checkout", "offer_id"} when a checkout is
sent, then {"checkout", "offer_id", "order_id", "quantity"} when it is confirmed or {"checkout",
"offer_id", "refused": true} when the server said no. A checkout with no second line never got an
answer (retries ran out, or Locust stopped the user mid-request): it may or may not have made an order.
Workers send their lines to the master (Locust messages), so a distributed run keeps one ledger.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class LedgerWriter:
    """Appends lines to one file; thread- and greenlet-safe enough for Locust (one process)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []

    def add(self, line: dict[str, Any]) -> None:
        with self._lock:
            self._buffer.append(line)

    def extend(self, lines: list[dict[str, Any]]) -> None:
        with self._lock:
            self._buffer.extend(lines)

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            lines, self._buffer = self._buffer, []
        return lines

    def flush(self) -> None:
        lines = self.take()
        if lines:
            with self.path.open("a") as out:
                out.write("".join(json.dumps(line) + "\n" for line in lines))
                out.flush()
                os.fsync(out.fileno())


@dataclass
class OfferLedger:
    orders: dict[str, int] = field(default_factory=dict)  # order id -> quantity
    sent: set[str] = field(default_factory=set)  # checkout keys
    answered: set[str] = field(default_factory=set)

    @property
    def unsure(self) -> int:
        return len(self.sent - self.answered)

    @property
    def units(self) -> int:
        return sum(self.orders.values())


def read_ledgers(paths: list[Path]) -> dict[str, OfferLedger]:
    """offer id -> what the clients were told; repeated answers for one order count once."""
    per_offer: dict[str, OfferLedger] = defaultdict(OfferLedger)
    for path in paths:
        for raw in path.read_text().splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            entry = per_offer[line["offer_id"]]
            key = line.get("checkout", "")
            if "order_id" in line:
                entry.orders[line["order_id"]] = int(line["quantity"])
                entry.answered.add(key)
            elif line.get("refused"):
                entry.answered.add(key)
            else:
                entry.sent.add(key)
    return dict(per_offer)
