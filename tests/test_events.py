"""Domain events (server/events.py): a bus judges which events are its own, even with several nodes in
one process, and a failing subscriber never stops the others."""

from __future__ import annotations

from server.events import ORDER_CONFIRMED, Event, EventBus


async def test_each_bus_knows_its_own_events_when_two_nodes_share_a_process() -> None:
    first, second = EventBus("node-a"), EventBus("node-b")  # the second must not steal the first's identity
    seen: list[tuple[str, bool]] = []
    first.subscribe("offer.*", lambda e: seen.append((e.origin, e.is_local)))
    await first.publish("offer.started", {"offer": {}})
    await second.publish("offer.started", {"offer": {}})  # nobody listens on the second bus
    assert seen == [("node-a", True)]


async def test_a_failing_subscriber_does_not_stop_the_others_and_payloads_are_copied() -> None:
    bus = EventBus("node-c")
    got: list[Event] = []

    def broken(_event: Event) -> None:
        raise RuntimeError("a bug in one feature")

    async def fine(event: Event) -> None:
        got.append(event)

    bus.subscribe(ORDER_CONFIRMED, broken)
    bus.subscribe("order.*", fine)
    payload = {"id": "or_1"}
    await bus.publish(ORDER_CONFIRMED, payload)
    assert [e.data for e in got] == [{"id": "or_1"}]
    got[0].data["id"] = "changed"
    assert payload == {"id": "or_1"}
