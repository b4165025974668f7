"""The shop's own webhook endpoints: events from the outbox, signed as Stripe signs (checked with the
`stripe` library's verifier), retried after 5xx with backoff, dead-lettered, replayed; a real receiver
on loopback sees every request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import stripe
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from server.api.auth import create_host
from server.api.context import DB, INVENTORY
from server.api.models import Membership
from server.config import MirrorSettings
from server.events import ORDER_PAID, EventBus
from server.mirror.hooks import deliver
from server.mirror.hooks.deliver import SIGNATURE_HEADER, Claimed, send
from server.mirror.hooks.targets import PublicResolver, delivery_session
from server.mirror.state import MIRROR
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.conftest import new_host
from tests.mirror.conftest import FAST, buy, eventually, viewer_token

App = tuple[web.Application, TestServer]


@dataclass
class Receiver:
    """A shop system on loopback: records each request; answers from `script` per path (then 200)."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    always: dict[str, int] = field(default_factory=dict)

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.seen if r["path"] == path]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        rec.seen.append({"path": request.path, "headers": dict(request.headers), "raw": raw})
        queue = rec.script.get(request.path) or []
        status = queue.pop(0) if queue else rec.always.get(request.path, 200)
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rec.url = str(server.make_url("")).rstrip("/")
    yield rec
    await server.close()


@pytest.fixture
def loopback_allowed(mirror_node: App) -> Iterator[None]:
    """The receivers here live on loopback, which a node refuses by default."""
    state = mirror_node[0][MIRROR]
    before = state.config
    state.config = before.model_copy(update={"webhook_allow_private": True})
    yield
    state.config = before


@pytest.fixture
async def hooks_worker(mirror_node: App, loopback_allowed: None) -> AsyncIterator[Worker]:
    """A worker with quick webhook retries (no platform connectors: only webhooks are under test)."""
    app = mirror_node[0]
    config = MirrorSettings(
        _env_file=None,  # type: ignore[call-arg]
        **FAST,
        webhook_backoff_base_s=0.05,
        webhook_backoff_max_s=0.2,
        webhook_max_attempts=3,
        webhook_timeout_s=2.0,
        webhook_allow_private=True,
    )
    w = Worker(app[DB], app[INVENTORY], config, registry=CollectorRegistry())
    await w.start()
    yield w
    await w.stop()


async def endpoint(api: Api, host: str, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "description": "fulfilment"}
    if events is not None:
        body["events"] = events
    r = await api.call("POST", "/api/v1/webhook-endpoints", token=host, json=body)
    assert r.status == 201, r.body
    return dict(r.body)


def verified(request: dict[str, Any], secret: str) -> dict[str, Any]:
    """The event, if the `stripe` library's own verifier accepts the signature (5 minutes tolerance)."""
    header = request["headers"][SIGNATURE_HEADER]
    stripe.WebhookSignature.verify_header(request["raw"].decode(), header, secret, tolerance=300)
    return dict(orjson.loads(request["raw"]))


async def deliveries(api: Api, host: str, endpoint_id: str) -> list[dict[str, Any]]:
    r = await api.call("GET", f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", token=host)
    assert r.status == 200, r.body
    return list(r.body["items"])


async def test_orders_and_sold_out_reach_the_shops_endpoint_signed_as_stripe_signs(
    mirror_node: App, mapi: Api, mhost: str, receiver: Receiver, hooks_worker: Worker
) -> None:
    app = mirror_node[0]
    ep = await endpoint(mapi, mhost, receiver.url + "/erp")
    assert ep["secret"].startswith("whsec_") and ep["events"] == ["*"]
    listed = await mapi.call("GET", "/api/v1/webhook-endpoints", token=mhost)
    assert listed.status == 200
    mine = next(e for e in listed.body["items"] if e["id"] == ep["id"])
    assert "secret" not in mine and mine["secret_hint"].endswith(ep["secret"][-4:])
    # another shop's endpoint hears nothing of this shop's sales
    other = await new_host(app, mapi)
    await endpoint(mapi, other, receiver.url + "/other-shop")

    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=2, per_buyer_limit=2)
    assert await buy(mapi, viewer_token(app), offer["id"], 2) == 2  # the last units: sold out

    async def heard() -> bool:
        types = {orjson.loads(r["raw"])["type"] for r in receiver.at("/erp")}
        return {"order.created", "offer.sold_out"} <= types

    await eventually(heard, within=15)
    events = [verified(r, ep["secret"]) for r in receiver.at("/erp")]
    created = next(e for e in events if e["type"] == "order.created")
    assert created["object"] == "event" and created["id"].startswith("evt_")
    order = created["data"]["object"]
    assert order["offer_id"] == offer["id"] and order["total"] == 2 * offer["price"]
    sold_out = next(e for e in events if e["type"] == "offer.sold_out")
    assert sold_out["data"]["object"]["id"] == offer["id"] and sold_out["data"]["object"]["available"] == 0
    assert receiver.at("/other-shop") == []
    # a wrong secret or a changed body fails the same verifier: the signature means something
    with pytest.raises(stripe.SignatureVerificationError):
        verified(receiver.at("/erp")[0], "whsec_wrong")
    tampered = {
        **receiver.at("/erp")[0],
        "raw": receiver.at("/erp")[0]["raw"].replace(b'"event"', b'"evenT"'),
    }
    with pytest.raises(stripe.SignatureVerificationError):
        verified(tampered, ep["secret"])
    log = await deliveries(mapi, mhost, ep["id"])
    assert {d["status"] for d in log} == {"done"} and all(d["log"][-1]["status"] == 200 for d in log)


async def test_an_endpoint_is_the_shops_every_host_of_the_shop_manages_it_and_it_hears_their_sales(
    mirror_node: App, mapi: Api, receiver: Receiver, hooks_worker: Worker
) -> None:
    """Endpoints belong to the shop: one host adds it, another host of the same shop lists and
    removes it, and a sale on the second host's broadcast reaches it."""
    app = mirror_node[0]
    tag = uuid.uuid4().hex[:8]
    owner = await create_host(app[DB], f"owner-{tag}@example.com", "host-password-1")
    await create_host(
        app[DB], f"staff-{tag}@example.com", "host-password-1", shop_id=await _shop_of(app, owner.id)
    )
    owner_token = await mapi.login(f"owner-{tag}@example.com", "host-password-1")
    staff_token = await mapi.login(f"staff-{tag}@example.com", "host-password-1")
    ep = await endpoint(mapi, owner_token, receiver.url + "/shop-erp", events=["order.created"])
    listed = await mapi.call("GET", "/api/v1/webhook-endpoints", token=staff_token)
    assert [e["id"] for e in listed.body["items"]] == [ep["id"]]

    product = await mapi.product(staff_token, stock=5)
    b = await mapi.broadcast(staff_token)
    offer = await mapi.offer(staff_token, b["id"], product["id"], quantity=5)
    assert await buy(mapi, viewer_token(app), offer["id"]) == 1

    async def heard() -> bool:
        return len(receiver.at("/shop-erp")) == 1

    await eventually(heard, within=15)
    assert verified(receiver.at("/shop-erp")[0], ep["secret"])["data"]["object"]["offer_id"] == offer["id"]
    assert len(await deliveries(mapi, staff_token, ep["id"])) == 1
    # another shop neither sees nor removes it; a host of this shop does
    other = await new_host(app, mapi)
    assert (await mapi.call("GET", "/api/v1/webhook-endpoints", token=other)).body["items"] == []
    gone = await mapi.call("DELETE", f"/api/v1/webhook-endpoints/{ep['id']}", token=other)
    assert gone.status == 404 and gone.code == "not_found"
    assert (
        await mapi.call("DELETE", f"/api/v1/webhook-endpoints/{ep['id']}", token=staff_token)
    ).status == 204
    assert (await mapi.call("GET", "/api/v1/webhook-endpoints", token=owner_token)).body["items"] == []


async def _shop_of(app: web.Application, user_id: str) -> str:
    async with app[DB]() as session:
        membership = await session.get(Membership, user_id)
        assert membership is not None
        return membership.shop_id


async def test_an_endpoint_answering_500_is_retried_until_it_takes_the_event(
    mirror_node: App, mapi: Api, mhost: str, receiver: Receiver, hooks_worker: Worker
) -> None:
    app = mirror_node[0]
    receiver.script["/flaky"] = [500, 503]
    ep = await endpoint(mapi, mhost, receiver.url + "/flaky", events=["order.created"])
    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=5)
    assert await buy(mapi, viewer_token(app), offer["id"]) == 1

    async def delivered() -> bool:
        return [d["status"] for d in await deliveries(mapi, mhost, ep["id"])] == ["done"]

    await eventually(delivered, within=15)
    [d] = await deliveries(mapi, mhost, ep["id"])
    assert [a["status"] for a in d["log"]] == [500, 503, 200] and d["attempts"] == 3
    bodies = [r["raw"] for r in receiver.at("/flaky")]
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same event each time (same id, same bytes)
    assert all(verified(r, ep["secret"])["type"] == "order.created" for r in receiver.at("/flaky"))
    counted = hooks_worker.metrics.webhooks.collect()[0].samples
    by_outcome = {x.labels["outcome"]: x.value for x in counted if x.name.endswith("_total")}
    assert by_outcome.get("pending", 0) >= 2 and by_outcome.get("done", 0) >= 1, by_outcome


async def test_a_delivery_that_keeps_failing_goes_dead_and_replays_with_the_same_event_id(
    mirror_node: App, mapi: Api, mhost: str, receiver: Receiver, hooks_worker: Worker
) -> None:
    app = mirror_node[0]
    receiver.always["/down"] = 500
    ep = await endpoint(mapi, mhost, receiver.url + "/down", events=["order.created"])
    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=5)
    assert await buy(mapi, viewer_token(app), offer["id"]) == 1

    async def dead() -> bool:
        return [d["status"] for d in await deliveries(mapi, mhost, ep["id"])] == ["dead"]

    await eventually(dead, within=15)
    [d] = await deliveries(mapi, mhost, ep["id"])
    assert d["attempts"] == 3 and d["last_status"] == 500 and len(receiver.at("/down")) == 3
    assert (
        await mapi.call("GET", f"/api/v1/webhook-endpoints/{ep['id']}/deliveries?status=dead", token=mhost)
    ).body["items"][0]["id"] == d["id"]
    # another shop cannot replay it; the owner can, once the receiver is back
    other = await new_host(app, mapi)
    r = await mapi.call("POST", f"/api/v1/webhook-deliveries/{d['id']}/replay", token=other)
    assert r.status == 404 and r.code == "not_found"
    receiver.always["/down"] = 200
    r = await mapi.call("POST", f"/api/v1/webhook-deliveries/{d['id']}/replay", token=mhost)
    assert r.status == 200 and r.body["status"] == "pending" and r.body["attempts"] == 0

    async def done() -> bool:
        return [x["status"] for x in await deliveries(mapi, mhost, ep["id"])] == ["done"]

    await eventually(done, within=15)
    ids = {verified(r, ep["secret"])["id"] for r in receiver.at("/down")}
    assert len(receiver.at("/down")) == 4 and ids == {d["event_id"]}


async def test_payment_events_in_the_outbox_are_delivered_once_to_the_subscribed_endpoint(
    mirror_node: App, mapi: Api, mhost: str, receiver: Receiver, hooks_worker: Worker
) -> None:
    """The payments feature records `order.paid` in the transaction that marks the order paid; a
    redelivered provider webhook may record it twice: the shop hears it once."""
    app = mirror_node[0]
    paid_ep = await endpoint(mapi, mhost, receiver.url + "/accounting", events=["order.paid"])
    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=5)
    token = viewer_token(app)
    hold = await mapi.reserve(token, offer["id"], 1, key=uuid.uuid4().hex)
    order = await mapi.checkout(token, hold.body["id"], key=uuid.uuid4().hex)
    assert order.status == 201
    paid = {**order.body, "status": "paid"}
    for _ in range(2):
        async with app[DB]() as session, session.begin():
            EventBus.record(session, ORDER_PAID, product["sku"], paid)

    async def delivered() -> bool:
        return [d["status"] for d in await deliveries(mapi, mhost, paid_ep["id"])] == ["done"]

    await eventually(delivered, within=15)
    [event] = [verified(r, paid_ep["secret"]) for r in receiver.at("/accounting")]
    assert event["type"] == "order.paid" and event["data"]["object"]["id"] == order.body["id"]


async def test_endpoint_input_and_ownership_are_checked(mirror_node: App, mapi: Api, mhost: str) -> None:
    path = "/api/v1/webhook-endpoints"
    for body, where in (
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://user:pw@example.com/x"}, "url"),
        ({"url": "https://example.com/x", "events": ["order.exploded"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "secret": "mine"}, "secret"),
    ):
        r = await mapi.call("POST", path, token=mhost, json=body)
        assert r.status == 422 and r.code == "validation_error" and r.body["field"] == where, (body, r.body)
    assert (await mapi.call("POST", path, json={"url": "https://example.com/x"})).status == 401
    viewer = viewer_token(mirror_node[0])
    assert (await mapi.call("GET", path, token=viewer)).code == "forbidden"
    ep = await endpoint(mapi, mhost, "https://example.com/hook")
    other = await new_host(mirror_node[0], mapi)
    assert (await mapi.call("DELETE", f"{path}/{ep['id']}", token=other)).status == 404
    assert (await mapi.call("GET", f"{path}/{ep['id']}/deliveries", token=other)).status == 404
    r = await mapi.call("GET", f"{path}/{ep['id']}/deliveries?status=weird", token=mhost)
    assert r.status == 422 and r.body["field"] == "status"
    for bad in ("abc", "99999999999999999999", "123"):
        r = await mapi.call("POST", f"/api/v1/webhook-deliveries/{bad}/replay", token=mhost)
        assert r.status == 404 and r.code == "not_found", bad
    assert (await mapi.call("DELETE", f"{path}/{ep['id']}", token=mhost)).status == 204
    listed = await mapi.call("GET", path, token=mhost)
    assert ep["id"] not in [e["id"] for e in listed.body["items"]]


async def test_private_addresses_are_refused_unless_allowed(mirror_node: App, mapi: Api, mhost: str) -> None:
    """A shop's URL must not make the node call into its own network (Redis, the database, metadata)."""
    for url in (
        "http://127.0.0.1:6379/x",
        "http://localhost:8080/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80/x",
        "http://erp.internal/hook",
    ):
        r = await mapi.call("POST", "/api/v1/webhook-endpoints", token=mhost, json={"url": url})
        assert r.status == 422 and r.body["field"] == "url", (url, r.body)
    # at delivery too: a literal private IP is never called, a name resolving to one is refused
    job = Claimed(1, "http://127.0.0.1:9/x", "whsec_x", {"id": "evt_x"}, 0)
    async with delivery_session(allow_private=False) as http:
        outcome = await send(http, job, 1.0)
        assert not outcome.ok and outcome.status is None and "private" in (outcome.error or "")
    with pytest.raises(OSError, match="private"):
        await PublicResolver().resolve("localhost", 80)


async def test_a_delivery_claimed_by_a_worker_that_died_goes_out_once_its_lease_runs_out(
    mirror_node: App, mapi: Api, mhost: str, receiver: Receiver, loopback_allowed: None
) -> None:
    app = mirror_node[0]
    ep = await endpoint(mapi, mhost, receiver.url + "/after-crash", events=["order.created"])
    product = await mapi.product(mhost, stock=10)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=5)
    assert await buy(mapi, viewer_token(app), offer["id"]) == 1
    config = MirrorSettings(
        _env_file=None,  # type: ignore[call-arg]
        **{**FAST, "mirror_lease_s": 1.0},
        webhook_allow_private=True,
    )
    # fan the outbox out, then a worker claims the delivery and dies before sending it
    fanner = Worker(app[DB], app[INVENTORY], config, registry=CollectorRegistry())
    await eventually(lambda: _fanned(fanner, mapi, mhost, ep["id"]), within=15)
    async with app[DB]() as session, session.begin():
        claimed = await deliver.claim(session, "dead-worker", limit=50, lease_s=config.mirror_lease_s)
    assert [c.payload["type"] for c in claimed if c.url.endswith("/after-crash")] == ["order.created"]
    survivor = Worker(app[DB], app[INVENTORY], config, registry=CollectorRegistry())
    await survivor.start()
    try:
        await eventually(lambda: _delivered(mapi, mhost, ep["id"]), within=15)
    finally:
        await survivor.stop()
    [d] = await deliveries(mapi, mhost, ep["id"])
    assert len(receiver.at("/after-crash")) == 1 and d["attempts"] == 1
    # the dead worker's late settle changes nothing: the lease is no longer its own
    async with app[DB]() as session, session.begin():
        job = next(c for c in claimed if c.url.endswith("/after-crash"))
        status = await deliver.settle(
            session, job, "dead-worker", deliver.Outcome(False, 500, "late", 1), config
        )
    assert status == "lost"
    assert [d["status"] for d in await deliveries(mapi, mhost, ep["id"])] == ["done"]


async def _fanned(worker: Worker, api: Api, host: str, endpoint_id: str) -> bool:
    await worker.fan_out_once()
    return len(await deliveries(api, host, endpoint_id)) == 1


async def _delivered(api: Api, host: str, endpoint_id: str) -> bool:
    return [d["status"] for d in await deliveries(api, host, endpoint_id)] == ["done"]
