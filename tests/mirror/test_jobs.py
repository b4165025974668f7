"""The mirror job table's verbs (server/mirror/jobs.py) on real PostgreSQL: stock changes coalesce per
SKU, a claim is a lease other workers skip, newer changes survive a delivery, dead letters replay."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.api.context import DB
from server.mirror import jobs
from server.mirror.models import MirrorJob


def channel() -> str:
    return "test-" + uuid.uuid4().hex[:8]  # no worker delivers to it


async def _row(app: web.Application, ch: str, key: str) -> MirrorJob:
    async with app[DB]() as session:
        return (
            await session.execute(select(MirrorJob).where(MirrorJob.channel == ch, MirrorJob.key == key))
        ).scalar_one()


async def _claim(app: web.Application, ch: str, owner: str, **knobs: float) -> list[jobs.Claimed]:
    values = {"lease_s": 30.0, "stock_interval_s": 0.0, **knobs}
    async with app[DB]() as session, session.begin():
        return await jobs.claim(session, ch, owner, kind="stock", limit=10, **values)


async def test_stock_changes_of_one_sku_coalesce_into_one_row(
    node: tuple[web.Application, TestServer],
) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-A", "pr_a")
        await jobs.upsert_stock(session, ch, "SKU-A", None, changes=2)
        await jobs.upsert_stock(session, ch, "SKU-B", "pr_b")
    row = await _row(app, ch, "SKU-A")
    assert (row.generation, row.status, row.product_id) == (
        3,
        "pending",
        "pr_a",
    )  # a None id keeps the known one


async def test_a_claim_is_a_lease_other_workers_skip_until_it_runs_out(
    node: tuple[web.Application, TestServer],
) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-L", None)
    [mine] = await _claim(app, ch, "worker-a")
    assert mine.key == "SKU-L" and mine.generation == 1
    assert await _claim(app, ch, "worker-b") == []
    assert (await _row(app, ch, "SKU-L")).lease_owner == "worker-a"

    other = channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, other, "SKU-L", None)
    assert len(await _claim(app, other, "worker-a", lease_s=0.0)) == 1  # a lease already over
    assert [j.key for j in await _claim(app, other, "worker-b")] == ["SKU-L"]


async def test_a_change_during_delivery_keeps_the_row_due(node: tuple[web.Application, TestServer]) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-D", None)
    [job] = await _claim(app, ch, "w")
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-D", None)  # a sale while the platform call is out
        await jobs.succeed(session, job, "w", value=7, calls=1)
    row = await _row(app, ch, "SKU-D")
    assert (row.status, row.sent_generation, row.generation, row.last_value) == ("pending", 1, 2, 7)
    # within the SKU's write interval the next change waits (it coalesces); past it, it is due
    assert await _claim(app, ch, "w", stock_interval_s=60.0) == []
    [again] = await _claim(app, ch, "w")
    async with app[DB]() as session, session.begin():
        await jobs.succeed(session, again, "w", value=6, calls=1)
    row = await _row(app, ch, "SKU-D")
    assert (row.status, row.calls, row.lease_owner) == ("done", 2, None)


async def test_only_the_lease_owner_may_finish_a_job(node: tuple[web.Application, TestServer]) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-O", None)
    [job] = await _claim(app, ch, "owner")
    async with app[DB]() as session, session.begin():
        await jobs.succeed(session, job, "impostor", value=1, calls=1)
    assert (await _row(app, ch, "SKU-O")).status == "pending"


async def test_a_dead_letter_replays_with_fresh_attempts(node: tuple[web.Application, TestServer]) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-X", None)
    [job] = await _claim(app, ch, "w")
    async with app[DB]() as session, session.begin():
        await jobs.fail(session, job, "w", "422 rejected", delay=0, count_attempt=True, dead=True, calls=1)
    row = await _row(app, ch, "SKU-X")
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "422 rejected")
    async with app[DB]() as session, session.begin():
        await jobs.upsert_stock(session, ch, "SKU-X", None)  # a dead row stays dead until replayed
    assert (await _row(app, ch, "SKU-X")).status == "dead"
    async with app[DB]() as session, session.begin():
        assert await jobs.replay(session, ch) == 1
    row = await _row(app, ch, "SKU-X")
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 0, None)


async def test_a_one_off_job_is_inserted_once(node: tuple[web.Application, TestServer]) -> None:
    app, ch = node[0], channel()
    async with app[DB]() as session, session.begin():
        await jobs.insert_for(session, ch, "order", "or_1", {"id": "or_1", "total": 5})
        await jobs.insert_for(session, ch, "order", "or_1", {"id": "or_1", "total": 999})
    async with app[DB]() as session:
        rows = (
            (
                await session.execute(
                    select(MirrorJob).where(MirrorJob.channel == ch, MirrorJob.kind == "order")
                )
            )
            .scalars()
            .all()
        )
    assert [(r.key, r.payload["total"]) for r in rows] == [("or_1", 5)]
