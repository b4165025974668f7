"""Delivery: claim due rows with a lease (SKIP LOCKED), POST each signed event, settle the outcome
with backoff into the dead letters. At-least-once: a worker that dies mid-delivery only delays its
rows until the lease runs out, and receivers drop repeats by the event id."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import MirrorSettings
from server.db.base import utcnow
from server.mirror.backoff import backoff_delay
from server.mirror.hooks.models import WebhookDelivery, WebhookEndpoint
from server.mirror.hooks.targets import private_target
from server.mirror.signing import timestamped_signature

log = logging.getLogger("liveshop.mirror.hooks")
SIGNATURE_HEADER = "Liveshop-Signature"
LOG_KEEP = 20  # attempts kept per delivery for the console


@dataclass
class Claimed:
    id: int
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class Outcome:
    ok: bool
    status: int | None
    error: str | None
    ms: int


async def claim(session: AsyncSession, owner: str, *, limit: int, lease_s: float) -> list[Claimed]:
    now = utcnow()
    d = WebhookDelivery
    rows = (
        await session.execute(
            select(d, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
            .where(d.status == "pending", d.next_attempt_at <= now)
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
            .with_for_update(of=d, skip_locked=True)
        )
    ).all()
    lease_end = now + timedelta(seconds=lease_s)
    for row, _url, _secret in rows:
        row.lease_owner = owner
        row.next_attempt_at = lease_end
    return [Claimed(r.id, url, secret, dict(r.payload), r.attempts) for r, url, secret in rows]


def signed_request(secret: str, payload: dict[str, Any], timestamp: int) -> tuple[bytes, dict[str, str]]:
    """The exact bytes sent and the headers, signature included."""
    body = orjson.dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "liveshop-webhooks/1",
        SIGNATURE_HEADER: timestamped_signature(secret, body, timestamp),
    }
    return body, headers


async def send(
    http: aiohttp.ClientSession,
    job: Claimed,
    timeout_s: float,
    clock: Callable[[], float] = time.time,
    *,
    allow_private: bool = False,
) -> Outcome:
    """One POST; any 2xx is delivered. Redirects are not followed (the endpoint's URL is the contract)."""
    if not allow_private and private_target(job.url):
        return Outcome(False, None, "refused: the URL is a private address", 0)
    body, headers = signed_request(job.secret, job.payload, int(clock()))
    started = time.monotonic()
    try:
        async with http.post(
            job.url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as reply:
            await reply.read()
            ms = int((time.monotonic() - started) * 1000)
            if 200 <= reply.status < 300:
                return Outcome(True, reply.status, None, ms)
            return Outcome(False, reply.status, f"HTTP {reply.status}", ms)
    except TimeoutError:
        return Outcome(False, None, f"timed out after {timeout_s}s", int((time.monotonic() - started) * 1000))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Outcome(
            False, None, f"{type(exc).__name__}: {exc}"[:300], int((time.monotonic() - started) * 1000)
        )


async def settle(
    session: AsyncSession, job: Claimed, owner: str, outcome: Outcome, cfg: MirrorSettings
) -> str:
    """Done, due again after a backoff, or dead after the last attempt. Returns the new status."""
    now = utcnow()
    d = WebhookDelivery
    row = await session.get(d, job.id)
    if row is None or row.lease_owner != owner:
        return "lost"  # deleted meanwhile, or the lease ran out and another worker took it
    attempts = job.attempts + 1
    entry = {"at": now.isoformat(), "status": outcome.status, "error": outcome.error, "ms": outcome.ms}
    if outcome.ok:
        status, next_at = "done", now
    else:
        status = "dead" if attempts >= cfg.webhook_max_attempts else "pending"
        delay = backoff_delay(attempts, cfg.webhook_backoff_base_s, cfg.webhook_backoff_max_s)
        next_at = now + timedelta(seconds=delay)
    await session.execute(
        update(d)
        .where(d.id == job.id, d.lease_owner == owner)
        .values(
            status=status,
            attempts=attempts,
            next_attempt_at=next_at,
            lease_owner=None,
            last_status=outcome.status,
            last_error=outcome.error,
            delivered_at=now if outcome.ok else row.delivered_at,
            log=[*(row.log or []), entry][-LOG_KEEP:],
            updated_at=now,
        )
    )
    if status == "dead":
        log.error("webhook delivery dead delivery=%s url=%s error=%s", job.id, job.url, outcome.error)
    return status


async def deliver_once(
    db: async_sessionmaker[AsyncSession], http: aiohttp.ClientSession, owner: str, cfg: MirrorSettings
) -> list[str]:
    """One pass: claim a batch, send them side by side, settle each. Returns each one's new status."""
    async with db() as session, session.begin():
        claimed = await claim(session, owner, limit=cfg.webhook_batch, lease_s=cfg.mirror_lease_s)
    if not claimed:
        return []
    outcomes = await asyncio.gather(
        *(send(http, job, cfg.webhook_timeout_s, allow_private=cfg.webhook_allow_private) for job in claimed)
    )
    async with db() as session, session.begin():
        return [
            await settle(session, job, owner, outcome, cfg)
            for job, outcome in zip(claimed, outcomes, strict=True)
        ]


async def replay(session: AsyncSession, delivery: WebhookDelivery) -> None:
    """A delivered or dead event goes out again now, with fresh attempts (the same event id)."""
    now = utcnow()
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_owner = None
    delivery.updated_at = now
