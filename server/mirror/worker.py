"""The delivery worker: fans the outbox out to per-platform jobs, delivers them with per-platform
lanes, backoff and throttling, polls platform orders, and compares stock now and then.

Several workers (processes or nodes) may run at once: the cursor and the jobs are claimed with
SELECT ... FOR UPDATE SKIP LOCKED plus a lease, so no job is delivered by two workers at a time, and a
worker that dies mid-delivery only delays its jobs until the lease runs out (at-least-once). Stock
writes are absolute values and order writes carry the platform's idempotency key, so a redelivery
never applies anything twice (effectively once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import MirrorSettings
from server.db.base import utcnow
from server.inventory.engine import Inventory
from server.inventory.models import Product
from server.mirror import jobs
from server.mirror.backoff import PlatformError, Rejected, Throttled, Transient, backoff_delay
from server.mirror.connectors import build_connectors
from server.mirror.connectors.base import Connector, PlatformOrder, StockItem
from server.mirror.hooks import deliver as webhooks
from server.mirror.hooks.targets import delivery_session
from server.mirror.inbound import take_order
from server.mirror.models import MirrorCursor, MirrorJob
from server.mirror.outbox import fan_out
from server.mirror.quantity import sellable

log = logging.getLogger("liveshop.mirror")
POLL_OVERLAP_S = 300
NEW_PRODUCTS_EVERY_S = 2.0


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "liveshop_mirror_platform_calls", "Requests sent to a platform", ["platform"], registry=registry
        )
        self.deliveries = Counter(
            "liveshop_mirror_deliveries", "Job outcomes", ["platform", "kind", "outcome"], registry=registry
        )
        self.webhooks = Counter(
            "liveshop_webhook_deliveries",
            "Deliveries to the shop's own webhook endpoints (done, pending = will retry, dead)",
            ["outcome"],
            registry=registry,
        )


class Worker:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        inventory: Inventory,
        config: MirrorSettings,
        *,
        owner: str | None = None,
        registry: CollectorRegistry | None = None,
        connectors: dict[str, Connector] | None = None,
    ) -> None:
        """`connectors`: the node's own (one set, one throttle gate per platform, per process); a
        worker given none builds and owns its set."""
        self.db = db
        self.inventory = inventory
        self.config = config
        self.owner = owner or f"worker-{secrets.token_hex(6)}"
        self.metrics = WorkerMetrics(registry or CollectorRegistry())
        self.connectors: dict[str, Connector] = connectors if connectors is not None else {}
        self._own_connectors = connectors is None
        self.http: aiohttp.ClientSession | None = None
        self.hooks_http: aiohttp.ClientSession | None = None  # the shop's endpoints: public addresses only
        self._tasks: list[asyncio.Future[None]] = []
        self._stopping = asyncio.Event()
        self.passes = 0

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._own_connectors:
            self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
            self.connectors = build_connectors(self.config, self.http)
        spawn = self._spawn
        spawn("fanout", self._loop(self.fan_out_once, self.config.mirror_poll_s))
        spawn("reconcile", self._loop(self.reconcile_once, self.config.mirror_reconcile_s))
        spawn("new-products", self._loop(self.list_new_products_once, NEW_PRODUCTS_EVERY_S))
        spawn("webhooks", self._loop(self.deliver_webhooks_once, self.config.mirror_poll_s))
        for name, conn in self.connectors.items():
            lanes = 1 if name == "meta" else self.config.mirror_concurrency
            for lane in range(lanes):
                spawn(
                    f"{name}-{lane}",
                    self._loop(partial(self.deliver_once, conn), self.config.mirror_poll_s),
                )
            if name in ("meta", "tiktok"):
                spawn(
                    f"{name}-orders",
                    self._loop(partial(self.poll_orders_once, conn), self.config.mirror_order_poll_s),
                )
        log.info("mirror worker up owner=%s platforms=%s", self.owner, ",".join(self.connectors) or "none")

    def _spawn(self, name: str, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let every loop finish its current step (a query cancelled halfway can wedge a pooled
        connection), then cancel whatever is still running; never waits longer than twice `grace_s`."""
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace_s)
        for task in self._tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.result()
        self._tasks.clear()
        if self.http is not None:
            await self.http.close()
        if self.hooks_http is not None:
            await self.hooks_http.close()
            self.hooks_http = None

    async def _loop(self, step: Callable[[], Awaitable[int]], interval: float) -> None:
        """Run a step; go again at once while it finds work, else sleep. A failing step never ends
        the loop (the database or Redis may be away for a while)."""
        while not self._stopping.is_set():
            try:
                did = await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("mirror step failed step=%s error=%r", getattr(step, "__name__", step), exc)
                did = 0
            if not did:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), interval)

    # fan-out -------------------------------------------------------------------------------------
    async def fan_out_once(self) -> int:
        channels = list(self.connectors)
        order_channels = [n for n, c in self.connectors.items() if c.records_orders]
        async with self.db() as session, session.begin():
            n = await fan_out(session, channels, order_channels)
        self.passes += 1
        return n

    async def reconcile_once(self) -> int:
        """Every enabled platform should hold liveshop's current quantity; where the last delivered
        value differs (holds, expiries, a lost write, a new platform), the SKU's job becomes due."""
        async with self.db() as session:
            now_q = await sellable(session, self.inventory)
            rows = (
                await session.execute(
                    select(MirrorJob.channel, MirrorJob.key, MirrorJob.status, MirrorJob.last_value).where(
                        MirrorJob.kind == "stock"
                    )
                )
            ).all()
        known = {(channel, key): (status, last) for channel, key, status, last in rows}
        due = []
        for name in sorted(self.connectors):  # the same lock order as the fan-out: (platform, sku)
            conn = self.connectors[name]
            for sku, (product_id, qty) in sorted(now_q.items()):
                row = known.get((name, sku))
                if row is None or (row[0] == "done" and row[1] != conn.project(qty)):
                    due.append((name, sku, product_id))
        if due:
            async with self.db() as session, session.begin():
                for name, sku, product_id in due:
                    await jobs.upsert_stock(session, name, sku, product_id)
        return 0  # never loop hot on reconciliation

    async def list_new_products_once(self) -> int:
        """Products no platform has heard of (seeded or imported without an outbox row) go out soon,
        not at the next full reconciliation."""
        async with self.db() as session, session.begin():
            for name in sorted(self.connectors):
                known = select(MirrorJob.key).where(MirrorJob.channel == name, MirrorJob.kind == "stock")
                rows = (
                    await session.execute(
                        select(Product.id, Product.sku)
                        .where(Product.sku.not_in(known))
                        .order_by(Product.sku)
                        .limit(1000)
                    )
                ).all()
                for product_id, product_sku in rows:
                    await jobs.upsert_stock(session, name, product_sku, product_id)
        return 0

    # delivery ------------------------------------------------------------------------------------
    async def deliver_webhooks_once(self) -> int:
        """The shop's own webhook endpoints: signed events with retries (see mirror/hooks)."""
        if self.hooks_http is None:
            self.hooks_http = delivery_session(self.config.webhook_allow_private)
        statuses = await webhooks.deliver_once(self.db, self.hooks_http, self.owner, self.config)
        for status in statuses:
            self.metrics.webhooks.labels(status).inc()
        return len(statuses)

    async def deliver_once(self, conn: Connector) -> int:
        await conn.gate.wait()
        cfg = self.config
        async with self.db() as session, session.begin():
            stock = await jobs.claim(
                session,
                conn.name,
                self.owner,
                kind="stock",
                limit=cfg.mirror_batch,
                lease_s=cfg.mirror_lease_s,
                stock_interval_s=cfg.mirror_stock_interval_s,
            )
            orders = []
            if conn.records_orders:
                orders = await jobs.claim(
                    session,
                    conn.name,
                    self.owner,
                    kind="order",
                    limit=5,
                    lease_s=cfg.mirror_lease_s,
                    stock_interval_s=0,
                )
        if stock:
            await self._deliver_stock(conn, stock)
        for job in orders:
            await self._deliver_order(conn, job)
        return len(stock) + len(orders)

    async def _deliver_stock(self, conn: Connector, claimed: list[jobs.Claimed]) -> None:
        async with self.db() as session:
            now_q = await sellable(session, self.inventory, [j.key for j in claimed])
        items = [StockItem(j.key, now_q[j.key][1], j.last_value) for j in claimed if j.key in now_q]
        before = conn.calls
        results: dict[str, Any]
        try:
            results = await conn.push_stock(items) if items else {}
        except PlatformError as exc:
            results = {i.sku: exc for i in items}
        except Exception as exc:
            log.exception("connector crashed platform=%s", conn.name)
            results = {i.sku: Transient(f"{conn.name}: {exc!r}") for i in items}
        calls = conn.calls - before
        self.metrics.calls.labels(conn.name).inc(calls)
        async with self.db() as session, session.begin():
            # in the fan-out's lock order (platform, sku): settling in claim order while a fan-out
            # upserts the same rows in SKU order could deadlock the two transactions
            for n, job in enumerate(sorted(claimed, key=lambda j: j.key)):
                share = calls if n == 0 else 0
                result = results.get(job.key, None if job.key not in now_q else Transient("no answer"))
                await self._settle(session, conn, job, result, share)

    async def _deliver_order(self, conn: Connector, job: jobs.Claimed) -> None:
        before = conn.calls
        result: Any
        try:
            result = await conn.record_order(job.payload)
            result = None
        except PlatformError as exc:
            result = exc
        except Exception as exc:
            log.exception("connector crashed platform=%s", conn.name)
            result = Transient(f"{conn.name}: {exc!r}")
        calls = conn.calls - before
        self.metrics.calls.labels(conn.name).inc(calls)
        async with self.db() as session, session.begin():
            await self._settle(session, conn, job, result, calls)

    async def _settle(
        self, session: AsyncSession, conn: Connector, job: jobs.Claimed, result: Any, calls: int
    ) -> None:
        cfg = self.config
        if result is None or isinstance(result, int):
            await jobs.succeed(session, job, self.owner, result, calls)
            self.metrics.deliveries.labels(conn.name, job.kind, "ok").inc()
            return
        if isinstance(result, Throttled):
            delay = max(result.retry_after or 0.0, conn.gate.remaining) + backoff_delay(1, 0.1, 0.2)
            await jobs.fail(
                session,
                job,
                self.owner,
                str(result),
                delay=delay,
                count_attempt=False,
                dead=False,
                calls=calls,
            )
            self.metrics.deliveries.labels(conn.name, job.kind, "throttled").inc()
            return
        attempts = job.attempts + 1
        dead = isinstance(result, Rejected) or attempts >= cfg.mirror_max_attempts
        retry_after = result.retry_after if isinstance(result, PlatformError) else None
        delay = backoff_delay(attempts, cfg.mirror_backoff_base_s, cfg.mirror_backoff_max_s, retry_after)
        await jobs.fail(
            session, job, self.owner, str(result), delay=delay, count_attempt=True, dead=dead, calls=calls
        )
        outcome = "dead" if dead else "retry"
        self.metrics.deliveries.labels(conn.name, job.kind, outcome).inc()
        if dead:
            log.error(
                "mirror job dead platform=%s kind=%s key=%s error=%s", conn.name, job.kind, job.key, result
            )

    # platform orders -----------------------------------------------------------------------------
    async def poll_orders_once(self, conn: Connector) -> int:
        """Meta has no order webhook: poll. TikTok: reconciliation for lost webhooks."""
        name = f"poll:{conn.name}"
        async with self.db() as session, session.begin():
            await jobs.ensure_cursor(session, name)
        async with self.db() as session:
            cursor = await session.get(MirrorCursor, name)
            since = cursor.position if cursor and cursor.position else int(time.time()) - 86400
        started = int(time.time())
        before = conn.calls
        try:
            orders = await conn.poll_orders(max(since - POLL_OVERLAP_S, 0))
            for order in orders:
                await self.take(conn, order)
        finally:
            self.metrics.calls.labels(conn.name).inc(conn.calls - before)
        async with self.db() as session, session.begin():
            row = await session.get(MirrorCursor, name, with_for_update=True)
            if row is not None and row.position < started:
                row.position = started
                row.updated_at = utcnow()
        return 0

    async def take(self, conn: Connector, order: PlatformOrder) -> None:
        if order.cancelled:
            return
        outcomes = await take_order(self.db, self.inventory, order)
        if conn.polls_orders and outcomes:
            reference = ",".join(o.order_id for o in outcomes if o.order_id) or order.external_id
            await conn.acknowledge(order, reference[:100])
