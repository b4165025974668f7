"""Shared pieces of the survival tests: two nodes as processes, a rush of buyers that retries through
outages the way a real client does, and the post-run checks against PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import redis
from sqlalchemy import select

from server.api.auth import create_host
from server.db.engine import make_engine, make_sessionmaker
from server.inventory.audit import AuditReport, run_audit
from server.inventory.engine import Inventory
from server.inventory.models import Order
from server.redis_client import redis_from_url
from tests.api_client import Api
from tests.services import ServerProcess, server_env
from tests.topologies import SentinelSet

RETRY_S = 0.05  # a client's pause between retries while the service is unavailable


def node_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return server_env(
        database_url,
        redis_url,
        LIVESHOP_SWEEP_INTERVAL_S="0.2",
        LIVESHOP_RUN_WORKER="false",
        LIVESHOP_TRUSTED_CLIENTS="127.0.0.0/8",
        LIVESHOP_EVENT_LOOP="asyncio",
        LIVESHOP_DB_POOL_SIZE="10",
        **extra,
    )


def start_nodes(database_url: str, redis_url: str, n: int = 2) -> list[ServerProcess]:
    """Nodes start one after the other, so only the first runs the migrations."""
    nodes = []
    for _ in range(n):
        node = ServerProcess(node_env(database_url, redis_url))
        node.start(timeout=60)
        nodes.append(node)
    return nodes


async def host_token(api: Api, database_url: str, redis_url: str) -> str:
    from server.config import Settings
    from tests.services import TEST_SECRET

    engine = make_engine(Settings(database_url=database_url, redis_url=redis_url, secret=TEST_SECRET))
    email = f"host-{uuid.uuid4().hex[:8]}@example.com"
    await create_host(make_sessionmaker(engine), email, "host-password-1")
    await engine.dispose()
    return await api.login(email, "host-password-1")


async def guests(api: Api, n: int) -> list[str]:
    sem = asyncio.Semaphore(50)

    async def one(i: int) -> str:
        async with sem:
            return await api.guest(f"buyer{i}")

    return list(await asyncio.gather(*(one(i) for i in range(n))))


@dataclass
class RushLog:
    """What the buyers were told."""

    confirmed: dict[str, str] = field(default_factory=dict)  # order id -> buyer token
    holds_lost: int = 0  # checkouts answered 410 reservation_expired
    unavailable: int = 0  # 503s and dropped connections, retried
    answers: Counter[str] = field(default_factory=Counter)
    unexpected: list[tuple[int, object]] = field(default_factory=list)
    checking_out: Counter[str] = field(default_factory=Counter)  # node base URL -> checkouts in flight
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    def confirm(self, order_id: str, token: str) -> None:
        self.confirmed[order_id] = token
        self.answers["confirmed"] += 1
        self._progress.set()

    async def wait_confirmed(self, n: int, deadline: float) -> int:
        """Waits until `n` orders are confirmed or the deadline passes; returns how many are."""
        while len(self.confirmed) < n and time.monotonic() < deadline:
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return len(self.confirmed)


async def _call(fn: Callable, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return await fn(*args, **kwargs)
    except (TimeoutError, aiohttp.ClientError):
        return None


async def buy(apis: list[Api], first: int, offer_id: str, token: str, log: RushLog, deadline: float) -> None:
    """Reserve one unit and check out, as a client behind a load balancer would: retry 503s and
    checkouts still in progress with the same Idempotency-Key, move to another node when one stops
    answering, and claim again (a new key) when a hold was lost (410)."""
    at = first % len(apis)

    async def call(fn: Callable, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal at
        result = await _call(fn(apis[at]), *args, **kwargs)
        if result is None:  # the node is gone: the balancer sends the retry elsewhere
            at = (at + 1) % len(apis)
        return result

    claim_key = uuid.uuid4().hex  # the same key until the claim is answered: a retry replays it
    while time.monotonic() < deadline:
        hold = await call(lambda api: api.reserve, token, offer_id, 1, key=claim_key)
        if hold is None or hold.status == 503:
            log.unavailable += 1
            await asyncio.sleep(RETRY_S)
            continue
        if hold.status != 201:
            log.answers[str(hold.code)] += 1
            if hold.code not in ("sold_out", "limit_exceeded", "offer_ended"):
                log.unexpected.append((hold.status, hold.body))
            return
        key = uuid.uuid4().hex
        while time.monotonic() < deadline:
            base = apis[at].base
            log.checking_out[base] += 1
            try:
                order = await call(lambda api: api.checkout, token, hold.body["id"], key=key)
            finally:
                log.checking_out[base] -= 1
            if order is None or order.status == 503 or order.code == "checkout_in_progress":
                log.unavailable += 1
                await asyncio.sleep(RETRY_S if order is None or order.status == 503 else 0.5)
                continue
            if order.status == 201:
                log.confirm(order.body["id"], token)
                return
            if order.code == "reservation_expired":
                log.holds_lost += 1
                claim_key = uuid.uuid4().hex
                break  # claim again while units remain
            log.unexpected.append((order.status, order.body))
            return


def rush(
    apis: list[Api], offer_id: str, tokens: list[str], log: RushLog, deadline: float, concurrency: int = 60
) -> asyncio.Future[list[None]]:
    """Every buyer in `tokens` claims and checks out one unit through the nodes, `concurrency` at a
    time, until `deadline`; the test injects its fault while this runs, then awaits it."""
    sem = asyncio.Semaphore(concurrency)

    async def buyer(i: int, token: str) -> None:
        async with sem:
            await buy(apis, i, offer_id, token, log, deadline)

    return asyncio.gather(*(buyer(i, t) for i, t in enumerate(tokens)))


async def orders_of(database_url: str, offer_id: str) -> dict[str, int]:
    """order id -> quantity, as PostgreSQL has them."""
    from server.config import Settings
    from tests.services import TEST_SECRET

    engine = make_engine(Settings(database_url=database_url, redis_url="memory://", secret=TEST_SECRET))
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(select(Order.id, Order.quantity).where(Order.offer_id == offer_id))
            return {str(i): int(q) for i, q in rows.all()}
    finally:
        await engine.dispose()


async def settled_audit(
    database_url: str, redis_url: str, offer_ids: list[str], within_s: float = 20
) -> AuditReport:
    """The audit once the nodes' sweepers have settled the books (bounded wait for a clean report)."""
    from server.config import Settings
    from tests.services import TEST_SECRET

    engine = make_engine(Settings(database_url=database_url, redis_url=redis_url, secret=TEST_SECRET))
    client = redis_from_url(redis_url)
    inventory = Inventory(client, hold_seconds=120)
    try:
        deadline = time.monotonic() + within_s
        while True:
            report = await run_audit(make_sessionmaker(engine), inventory, offer_ids)
            if report.ok or time.monotonic() > deadline:
                return report
            await asyncio.sleep(0.2)
    finally:
        await client.aclose()
        await engine.dispose()


async def first_claim_served(api: Api, offer_id: str, token: str, deadline: float) -> float:
    """Claims one unit again and again until a node answers it (201 or a real no); returns when."""
    while time.monotonic() < deadline:
        r = await _call(api.reserve, token, offer_id, 1, key=uuid.uuid4().hex)
        if r is not None and r.status in (201, 409):
            if r.status == 201:
                await _call(api.call, "DELETE", f"/api/v1/reservations/{r.body['id']}", token=token)
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise TimeoutError("no claim served before the deadline")


async def ready_again(api: Api, deadline: float) -> dict:
    """Polls /readyz until the node is ready (Redis, database and its room channel all answer)."""
    last: dict = {}
    while time.monotonic() < deadline:
        r = await _call(api.call, "GET", "/readyz")
        if r is not None and r.status == 200:
            return dict(r.body)
        last = r.body if r is not None else {}
        await asyncio.sleep(0.1)
    raise AssertionError(f"{api.base} not ready: {last}")


@dataclass
class FailoverRun:
    """What happened in one Sentinel failover rush (figures for the test and `liveshop bench failover`)."""

    offer_id: str
    probe_offer_id: str
    log: RushLog
    confirmed_before_cut: int
    confirmed_at_kill: int
    killed: float
    served: list[float]  # per node: when it served a claim again
    promoted: float  # when the Sentinels named the new primary
    last_write_lost: bool  # the key written last on the old primary is missing on the new one

    def outage_s(self) -> list[float]:
        return [t - self.killed for t in self.served]


async def _fail_over(topology: SentinelSet, log: RushLog, writes_while_cut: int) -> tuple[float, str]:
    """Pause and cut off the replica, let writes go on, SIGKILL the primary, resume the replica.
    Returns when the primary died and the key written last before it."""
    primary = redis.Redis(port=topology.primary.port)
    topology.replica.signal(signal.SIGSTOP)
    # SIGSTOP alone loses nothing (the kernel buffers the stream): cut the link on the primary too.
    primary.client_kill_filter(_type="replica")
    await log.wait_confirmed(len(log.confirmed) + writes_while_cut, time.monotonic() + 5)
    marker = uuid.uuid4().hex
    primary.set("failover:last-write", marker)  # acknowledged by the primary, never replicated
    topology.primary.signal(signal.SIGKILL)
    killed = time.monotonic()
    topology.replica.signal(signal.SIGCONT)
    primary.close()
    return killed, marker


async def failover_rush(
    apis: list[Api],
    database_url: str,
    topology: SentinelSet,
    *,
    quantity: int,
    buyers: int,
    cut_at: int,
    writes_while_cut: int,
) -> FailoverRun:
    """A rush of `buyers` on `quantity` units through every node; after `cut_at` confirmed orders the
    replica is paused and cut off, `writes_while_cut` more orders go through, the primary is SIGKILLed
    and Sentinel promotes the replica, which never saw the last writes."""
    a, b = apis[0], apis[-1]
    host = await host_token(a, database_url, topology.url)
    product = await a.product(host, stock=quantity + 1000)
    broadcast = await a.broadcast(host)
    offer = await a.offer(host, broadcast["id"], product["id"], quantity=quantity, per_buyer_limit=1)
    probe = await a.offer(host, broadcast["id"], product["id"], quantity=1000, per_buyer_limit=10)
    tokens = await guests(a, buyers)
    probes = await guests(b, len(apis))
    log = RushLog()
    deadline = time.monotonic() + 60
    buying = rush(apis, offer["id"], tokens, log, deadline)
    if await log.wait_confirmed(cut_at, deadline) < cut_at:
        raise AssertionError("the rush ended before the fault")
    before = len(log.confirmed)
    killed, marker = await _fail_over(topology, log, writes_while_cut)
    at_kill = len(log.confirmed)
    promotion = asyncio.ensure_future(asyncio.to_thread(topology.wait_promoted, topology.replica.port))
    served = await asyncio.gather(
        *(first_claim_served(api, probe["id"], t, killed + 60) for api, t in zip(apis, probes, strict=True))
    )
    promoted = await promotion
    await buying
    lost = redis.Redis(port=topology.replica.port).get("failover:last-write") != marker.encode()
    return FailoverRun(offer["id"], probe["id"], log, before, at_kill, killed, list(served), promoted, lost)
