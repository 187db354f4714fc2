"""The event bus contract, on the in-process bus and on Redis (the `make_bus` fixture runs each
test once per kind; the Redis half needs Redis, see conftest). What only Redis does is in
test_redis_bus.py."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from domain.access import Scope
from domain.events import DeliverySent, TipReceived, TipUpdated
from domain.ids import BulletinId, DeliveryId, TipId, WardId
from tests.bus import eventually

WARD_A = WardId(uuid.uuid4())
WARD_B = WardId(uuid.uuid4())
TOPIC = TipUpdated.__name__


def tip_updated(ward: WardId = WARD_A, status: str = "triaged") -> TipUpdated:
    return TipUpdated(TipId(uuid.uuid4()), ward, status)


async def ready(bus, topic: str, count: int) -> None:
    await eventually(lambda: bus.subscriber_count(topic) == count, what=f"{count} on {topic}")


async def test_a_published_event_reaches_every_subscriber_once(make_bus, collect) -> None:
    bus = make_bus()
    first, second = collect(bus, TOPIC), collect(bus, TOPIC)
    await ready(bus, TOPIC, 2)
    events = [tip_updated(status=f"s{i}") for i in range(5)]
    for event in events:
        await bus.publish(event)
    await eventually(lambda: len(first.events) == len(second.events) == 5)
    marker = tip_updated(status="marker")
    await bus.publish(marker)
    await eventually(lambda: first.events[-1] == second.events[-1] == marker)
    assert first.events == second.events == [*events, marker]  # in order, and no duplicates


async def test_topics_are_separate(make_bus, collect) -> None:
    bus = make_bus()
    updates, receipts = collect(bus, TOPIC), collect(bus, TipReceived.__name__)
    await ready(bus, TOPIC, 1)
    await ready(bus, TipReceived.__name__, 1)
    received = TipReceived(TipId(uuid.uuid4()), WARD_A)
    await bus.publish(received)
    await bus.publish(tip_updated())
    await eventually(lambda: len(updates.events) == 1 and len(receipts.events) == 1)
    assert receipts.events == [received]
    assert isinstance(updates.events[0], TipUpdated)


async def test_a_subscriber_sees_only_its_wards(make_bus, collect) -> None:
    bus = make_bus()
    ward_a = collect(bus, TOPIC, Scope(wards=frozenset({WARD_A})))
    both = collect(bus, TOPIC, Scope(wards=frozenset({WARD_A, WARD_B})))
    everything = collect(bus, TOPIC, Scope.all())
    nothing = collect(bus, TOPIC, Scope())
    await ready(bus, TOPIC, 4)
    of_b, of_a = tip_updated(WARD_B), tip_updated(WARD_A)
    await bus.publish(of_b)
    await bus.publish(of_a)
    await eventually(lambda: len(everything.events) == 2 and len(both.events) == 2)
    await eventually(lambda: len(ward_a.events) == 1)
    assert ward_a.events == [of_a]
    assert both.events == everything.events == [of_b, of_a]
    assert nothing.events == []


async def test_an_event_of_no_ward_reaches_only_the_system(make_bus, collect) -> None:
    bus = make_bus()
    topic = DeliverySent.__name__
    staff = collect(bus, topic, Scope(wards=frozenset({WARD_A})))
    system = collect(bus, topic, Scope.all())
    await ready(bus, topic, 2)
    sent = DeliverySent(DeliveryId(uuid.uuid4()), BulletinId(uuid.uuid4()))
    await bus.publish(sent)
    await eventually(lambda: system.events == [sent])
    # A later event the staff may see arrives after it: the first was filtered, not late.
    await bus.publish(DeliverySent(DeliveryId(uuid.uuid4()), BulletinId(uuid.uuid4())))
    await eventually(lambda: len(system.events) == 2)
    assert staff.events == []


async def test_a_slow_subscriber_loses_events_and_holds_up_nobody(
    make_bus, collect, caplog: pytest.LogCaptureFixture
) -> None:
    bus = make_bus(queue_size=10)
    fast = collect(bus, TOPIC)
    slow = bus.subscribe(TOPIC, scope=Scope.all())
    first = asyncio.create_task(anext(slow))
    await ready(bus, TOPIC, 2)
    events = [tip_updated(status=str(i)) for i in range(16)]
    for event in events[:10]:
        await bus.publish(event)
    await eventually(lambda: len(fast.events) == 10)
    assert await first == events[0]  # then it stops reading: 9 events wait in its queue
    with caplog.at_level(logging.WARNING, logger="adapters.bus.memory"):
        for event in events[10:15]:  # one more fits, four are lost
            await bus.publish(event)
        await eventually(lambda: len(fast.events) == 15)
    assert fast.events == events[:15]
    assert [r.getMessage() for r in caplog.records if "dropping" in r.getMessage()] == [
        f"event subscriber of {TOPIC} is 10 events behind; dropping events"
    ]
    late = [await anext(slow) for _ in range(10)]
    assert late == events[1:11]
    await bus.publish(events[15])  # it caught up: it receives again
    assert await asyncio.wait_for(anext(slow), 5) == events[15]
    await slow.aclose()


async def test_closing_the_stream_unsubscribes(make_bus) -> None:
    bus = make_bus()
    stream = bus.subscribe(TOPIC, scope=Scope.all())
    pending = asyncio.create_task(anext(stream))
    await ready(bus, TOPIC, 1)
    event = tip_updated()
    await bus.publish(event)
    assert await asyncio.wait_for(pending, 5) == event
    await stream.aclose()
    assert bus.subscriber_count(TOPIC) == 0


async def test_a_cancelled_subscriber_unsubscribes(make_bus, collect) -> None:
    bus = make_bus()
    collector = collect(bus, TOPIC)
    await ready(bus, TOPIC, 1)
    await collector.close()
    assert bus.subscriber_count(TOPIC) == 0


async def test_closing_the_bus_ends_every_subscription(make_bus, collect) -> None:
    bus = make_bus()
    collectors = [collect(bus, TOPIC), collect(bus, TipReceived.__name__)]
    await ready(bus, TOPIC, 1)
    await bus.aclose()
    await eventually(lambda: all(c.ended for c in collectors))
    late = bus.subscribe(TOPIC, scope=Scope.all())
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(late), 5)
    await bus.aclose()  # twice is harmless
