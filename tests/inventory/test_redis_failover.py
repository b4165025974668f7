"""A Redis Sentinel failover that loses acknowledged writes, mid-rush, under two nodes: not one unit is
sold twice, every confirmed order keeps its units, and both nodes serve claims again on their own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.api_client import Api
from tests.services import ServerProcess
from tests.survival import (
    failover_rush,
    guests,
    host_token,
    orders_of,
    ready_again,
    settled_audit,
    start_nodes,
)
from tests.topologies import PrivatePostgres, SentinelSet

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

QUANTITY = 300
BUYERS = 1500


@pytest.fixture(scope="module")
def sentinel_set() -> Iterator[SentinelSet]:
    topology = SentinelSet(down_after_ms=1000, failover_timeout_ms=3000)
    try:
        topology.wait_ready()
        yield topology
    finally:
        topology.stop()


@pytest.fixture(scope="module")
def nodes(private_pg: PrivatePostgres, sentinel_set: SentinelSet) -> Iterator[list[ServerProcess]]:
    nodes = start_nodes(private_pg.url, sentinel_set.url)
    yield nodes
    for node in nodes:
        node.stop()


async def test_sentinel_failover_that_loses_writes_mid_rush_oversells_nothing(
    apis: list[Api], private_pg: PrivatePostgres, sentinel_set: SentinelSet
) -> None:
    started = time.monotonic()
    run = await failover_rush(
        apis, private_pg.url, sentinel_set, quantity=QUANTITY, buyers=BUYERS, cut_at=100, writes_while_cut=30
    )
    log = run.log
    # The test really lost writes: the key written last never reached the new primary.
    assert run.last_write_lost
    orders = await orders_of(private_pg.url, run.offer_id)
    sold = sum(orders.values())
    assert sold <= QUANTITY, f"oversold: {sold} of {QUANTITY}"
    assert set(log.confirmed) <= set(orders), "a buyer told 'confirmed' has no order"
    assert len(log.confirmed) == len(orders)
    assert not log.unexpected, log.unexpected[:5]
    report = await settled_audit(private_pg.url, sentinel_set.url, [run.offer_id, run.probe_offer_id])
    assert report.ok, report.as_dict()
    # Both nodes' rooms follow too: each hears its own heartbeat on the new primary's channel.
    for api in apis:
        ready = await ready_again(api, time.monotonic() + 20)
        assert set(ready["checks"].values()) == {"ok"}, ready
    # Both nodes serve new claims on the new primary.
    host = await host_token(apis[0], private_pg.url, sentinel_set.url)
    product = await apis[0].product(host, stock=2)
    broadcast = await apis[0].broadcast(host)
    fresh = await apis[0].offer(host, broadcast["id"], product["id"], quantity=2, per_buyer_limit=1)
    for api, token in zip(apis, await guests(apis[0], 2), strict=True):
        assert (await api.reserve(token, fresh["id"])).status == 201

    outage = run.outage_s()
    print(
        f"\nSentinel failover mid-rush: {BUYERS} buyers, {QUANTITY} units; orders confirmed "
        f"{len(log.confirmed)} (units sold {sold}, {run.confirmed_before_cut} before the replica was cut, "
        f"{run.confirmed_at_kill} at the kill); holds lost (410 at checkout) {log.holds_lost}; "
        f"503s retried {log.unavailable}; answers {dict(log.answers)}\n"
        f"  seconds from the primary's SIGKILL to serving claims again: node A {outage[0]:.2f}, "
        f"node B {outage[1]:.2f} (Sentinel named the new primary after {run.promoted - run.killed:.2f}); "
        f"whole test {time.monotonic() - started:.1f}s"
    )
