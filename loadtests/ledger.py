"""The buyers' ledger: every order a client was told is confirmed, so the audit can match the database.

Lines are JSON: {"order_id", "offer_id", "quantity"} for a confirmed order, or {"unsure": true,
"offer_id"} for a checkout whose answer never came (it may or may not have made an order).
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
    unsure: int = 0

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
            if line.get("unsure"):
                entry.unsure += 1
            else:
                entry.orders[line["order_id"]] = int(line["quantity"])
    return dict(per_offer)
