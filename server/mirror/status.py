"""Per platform: queue depth, lag, last error, dead letters, calls, flagged platform orders. Shown by
`liveshop mirror status`, GET /api/v1/mirror/status and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.outbox import OutboxEvent
from server.inventory.models import Order
from server.mirror.jobs import shop_jobs
from server.mirror.models import MirrorCursor, MirrorJob


async def mirror_status(
    session: AsyncSession, enabled: list[str], shop_id: str | None = None
) -> dict[str, Any]:
    """The whole deployment's figures, or (with `shop_id`) one shop's rows only."""
    now = utcnow()
    t = MirrorJob
    mine = [shop_jobs(shop_id)] if shop_id else []
    orders_mine = [Order.shop_id == shop_id] if shop_id else []
    platforms: dict[str, dict[str, Any]] = {
        name: {
            "enabled": True,
            "queue_depth": 0,
            "lag_s": 0.0,
            "dead_letters": 0,
            "delivered": 0,
            "calls": 0,
            "last_error": None,
            "flagged_orders": 0,
        }
        for name in enabled
    }
    rows = (
        await session.execute(
            select(t.channel, t.status, func.count(), func.min(t.pending_since), func.sum(t.calls))
            .where(*mine)
            .group_by(t.channel, t.status)
        )
    ).all()
    for channel, status, count, since, calls in rows:
        p = platforms.setdefault(
            channel,
            {
                "enabled": False,
                "queue_depth": 0,
                "lag_s": 0.0,
                "dead_letters": 0,
                "delivered": 0,
                "calls": 0,
                "last_error": None,
                "flagged_orders": 0,
            },
        )
        p["calls"] += int(calls or 0)
        if status == "pending":
            p["queue_depth"] += int(count)
            if since is not None:
                if since.tzinfo is None:
                    since = since.replace(tzinfo=now.tzinfo)
                p["lag_s"] = round(max((now - since).total_seconds(), 0.0), 3)
        elif status == "dead":
            p["dead_letters"] += int(count)
        elif status == "done":
            p["delivered"] += int(count)
    for name, p in platforms.items():
        err = (
            await session.execute(
                select(t.last_error, t.key, t.updated_at)
                .where(t.channel == name, t.last_error.is_not(None), *mine)
                .order_by(t.updated_at.desc())
                .limit(1)
            )
        ).first()
        if err is not None:
            p["last_error"] = {"error": err[0], "key": err[1], "at": err[2].isoformat()}
    flagged = (
        await session.execute(
            select(Order.channel, func.count())
            .where(Order.status == "flagged", *orders_mine)
            .group_by(Order.channel)
        )
    ).all()
    flagged_orders = []
    for channel, count in flagged:
        if channel in platforms:
            platforms[channel]["flagged_orders"] = int(count)
    for o in (
        await session.execute(
            select(Order)
            .where(Order.status == "flagged", *orders_mine)
            .order_by(Order.created_at.desc())
            .limit(20)
        )
    ).scalars():
        flagged_orders.append(
            {
                "id": o.id,
                "channel": o.channel,
                "external_id": o.external_id,
                "product_id": o.product_id,
                "quantity": o.quantity,
            }
        )
    cursor = await session.get(MirrorCursor, "outbox")
    position = cursor.position if cursor else 0
    backlog = (await session.execute(select(func.count()).where(OutboxEvent.id > position))).scalar_one()
    return {
        "platforms": platforms,
        "outbox": {"cursor": position, "above_cursor": int(backlog)},
        "flagged_orders": flagged_orders,
    }


def format_status(report: dict[str, Any]) -> str:
    lines = [
        f"{'platform':<10}{'on':>4}{'queue':>7}{'lag s':>8}{'dead':>6}{'done':>7}{'calls':>7}"
        f"{'flagged':>9}  last error"
    ]
    for name, p in sorted(report["platforms"].items()):
        err = (p["last_error"] or {}).get("error") or "-"
        lines.append(
            f"{name:<10}{'yes' if p['enabled'] else 'no':>4}{p['queue_depth']:>7}{p['lag_s']:>8.1f}"
            f"{p['dead_letters']:>6}{p['delivered']:>7}{p['calls']:>7}{p['flagged_orders']:>9}  {err[:80]}"
        )
    if not report["platforms"]:
        lines.append("(no platform has credentials: mirroring is off)")
    lines.append(
        f"outbox cursor {report['outbox']['cursor']}, {report['outbox']['above_cursor']} rows above it"
    )
    for o in report["flagged_orders"]:
        lines.append(
            f"FLAGGED {o['channel']} order {o['external_id']} qty {o['quantity']}: "
            "no units, cancel it on the platform"
        )
    return "\n".join(lines)


class StatusCollector:
    """Prometheus view of the last status figures (refreshed by a background task on the node)."""

    def __init__(self) -> None:
        self.report: dict[str, Any] = {"platforms": {}}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        specs = (
            ("queue_depth", "liveshop_mirror_queue_depth", "Jobs waiting per platform"),
            ("lag_s", "liveshop_mirror_lag_seconds", "Age of the oldest undelivered change"),
            ("dead_letters", "liveshop_mirror_dead_letters", "Jobs that gave up (replay them)"),
            ("flagged_orders", "liveshop_mirror_flagged_orders", "Platform orders that found no units"),
        )
        for key, name, doc in specs:
            g = GaugeMetricFamily(name, doc, labels=["platform"])
            for platform, p in self.report.get("platforms", {}).items():
                g.add_metric([platform], float(p[key]))
            yield g
