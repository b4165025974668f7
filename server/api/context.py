"""Typed application keys: how handlers reach the shared services of their node."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.events import EventBus
from server.inventory.engine import Inventory

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
REDIS = web.AppKey("redis", Redis)
EVENTS = web.AppKey("events", EventBus)
INVENTORY = web.AppKey("inventory", Inventory)


class CheckoutPayments(Protocol):
    """What checkout asks of the payments feature (app.py wires it; absent: no online payment)."""

    @property
    def enabled(self) -> bool:
        """True when the shop takes money online: checkout then makes `pending_payment` orders."""
        ...

    def deadline_ms(self, created_ms: int) -> int:
        """When an order created at `created_ms` stops holding its units unless paid."""
        ...

    async def open(self, order_id: str) -> dict[str, Any]:
        """The order's payment for the buyer ({provider, id, client_secret, ...}), created at the
        provider once (idempotent); raises DomainError("payment_unavailable") if it cannot be now."""
        ...


PAYMENTS = web.AppKey("payments", CheckoutPayments)
# Extra audit checks features add (see server.inventory.audit.AuditCheck).
AUDIT_CHECKS = web.AppKey("audit_checks", list[Any])
# Extension points that app.py fills with one feature's answer for another (features never import each other).
HOOKS = web.AppKey("hooks", dict[str, Any])
