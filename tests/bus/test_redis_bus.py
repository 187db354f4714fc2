"""What only the Redis bus does: cross replicas, share one connection, survive Redis going away.

Against the real Redis (see conftest: skipped without it, failed under CI=true). Each test has its
own channel prefix and client names; "replicas" are two RedisBus instances in this process, which
share nothing but Redis, as two API pods do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from adapters.bus import codec
from adapters.bus.memory import InMemoryBus
from adapters.bus.redis import RedisBus
from api.bootstrap import bootstrap
from api.config import Settings
from domain.access import Scope
from domain.events import TipReceived, TipUpdated
from domain.ids import TipId, WardId
from tests.bus import eventually
from tests.fakes.servers import free_port

WARD_A = WardId(uuid.uuid4())
WARD_B = WardId(uuid.uuid4())
TOPIC = TipUpdated.__name__


def tip_updated(status: str = "triaged", ward: WardId = WARD_A) -> TipUpdated:
    return TipUpdated(TipId(uuid.uuid4()), ward, status)


async def ready(bus: RedisBus, topic: str, count: int) -> None:
    await eventually(lambda: bus.subscriber_count(topic) == count, what=f"{count} on {topic}")


async def clients(admin: redis.asyncio.Redis, name: str) -> list[dict]:
    return [c for c in await admin.client_list() if c.get("name") == name]


async def numsub(admin: redis.asyncio.Redis, channel: str) -> int:
    ((_, count),) = await admin.pubsub_numsub(channel)
    return count


async def numsub_is(admin: redis.asyncio.Redis, channel: str, count: int) -> bool:
    return await numsub(admin, channel) == count


@contextlib.asynccontextmanager
async def monitor(admin: redis.asyncio.Redis, needle: str) -> AsyncIterator[list[str]]:
    """Every command Redis executes that mentions `needle`, as it happens (MONITOR)."""
    seen: list[str] = []
    async with admin.monitor() as m:

        async def watch() -> None:
            while True:
                command = (await m.next_command())["command"]
                if needle in command:
                    seen.append(command)

        task = asyncio.create_task(watch())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, redis.RedisError):
                await task


async def publish_until_received(bus: RedisBus, collector, within: float = 5.0) -> TipUpdated:
    """Publish fresh events until one arrives: after a fault, the first may be lost by design."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        event = tip_updated("after")
        await bus.publish(event)
        with contextlib.suppress(pytest.fail.Exception):
            await eventually(lambda e=event: e in collector.events, within=0.3)
            return event
    pytest.fail("no event arrived after the fault")


async def test_an_event_reaches_subscribers_on_every_replica_exactly_once(
    redis_buses, collect
) -> None:
    one, two = redis_buses(), redis_buses()
    on_one = [collect(one, TOPIC), collect(one, TOPIC)]
    on_two = [collect(two, TOPIC)]
    await ready(one, TOPIC, 2)
    await ready(two, TOPIC, 1)
    from_one = [tip_updated(f"one-{i}") for i in range(3)]
    from_two = [tip_updated(f"two-{i}") for i in range(2)]
    for event in from_one:
        await one.publish(event)
    for event in from_two:
        await two.publish(event)
    everyone = on_one + on_two
    await eventually(lambda: all(len(c.events) >= 5 for c in everyone))
    markers = [tip_updated("marker-one"), tip_updated("marker-two")]
    await one.publish(markers[0])
    await two.publish(markers[1])
    await eventually(lambda: all(set(markers) <= set(c.events) for c in everyone))
    for collector in everyone:
        assert len(collector.events) == 7, "an event arrived twice"
        assert set(collector.events) == {*from_one, *from_two, *markers}
        # Each replica's events keep the order they were published in.
        assert [e for e in collector.events if e in from_one] == from_one
        assert [e for e in collector.events if e in from_two] == from_two


async def test_another_wards_event_does_not_cross(redis_buses, collect) -> None:
    one, two = redis_buses(), redis_buses()
    ward_a = collect(two, TOPIC, Scope(wards=frozenset({WARD_A})))
    ward_b = collect(two, TOPIC, Scope(wards=frozenset({WARD_B})))
    await ready(two, TOPIC, 2)
    of_a, of_b = tip_updated(ward=WARD_A), tip_updated(ward=WARD_B)
    await one.publish(of_a)
    await one.publish(of_b)
    await eventually(lambda: ward_a.events == [of_a] and ward_b.events == [of_b])


async def test_one_listening_and_one_publishing_connection_per_process(
    redis_buses, collect, admin, unique
) -> None:
    one = redis_buses(client_name=f"test-{unique}-one")
    two = redis_buses(client_name=f"test-{unique}-two")
    topics = [TOPIC, TipReceived.__name__, "NobodyPublishesThis"]
    collectors = [collect(one, topics[i % 3]) for i in range(60)]
    collectors += [collect(two, TOPIC) for _ in range(10)]
    for topic in topics:
        await ready(one, topic, 20)
    await ready(two, TOPIC, 10)
    events = [tip_updated(str(i)) for i in range(100)]
    await asyncio.gather(*(one.publish(e) for e in events))
    await eventually(lambda: all(len(c.events) == 100 for c in collectors if c in collectors[::3]))
    await eventually(lambda: all(len(c.events) == 100 for c in collectors[60:]))
    for replica in ("one", "two"):
        assert len(await clients(admin, f"test-{unique}-{replica}:sub")) == 1
    assert len(await clients(admin, f"test-{unique}-one:pub")) == 1
    # Redis sees one subscription per replica and topic, however many subscribers there are.
    assert await numsub(admin, f"gandan:test:{unique}:{TOPIC}") == 2
    assert await numsub(admin, f"gandan:test:{unique}:{topics[1]}") == 1
    (listener,) = await clients(admin, f"test-{unique}-one:sub")
    assert listener["sub"] == "3"


async def test_subscribe_and_unsubscribe_go_to_redis_once_per_topic(
    redis_buses, collect, admin, unique
) -> None:
    bus = redis_buses()
    async with monitor(admin, f"gandan:test:{unique}:") as commands:
        first = [collect(bus, TOPIC) for _ in range(20)]  # the listener starts with them
        await ready(bus, TOPIC, 20)
        later = [collect(bus, TipReceived.__name__) for _ in range(20)]  # it is running already
        await ready(bus, TipReceived.__name__, 20)
        for collector in first + later:
            await collector.close()
        await eventually(lambda: sum(c.startswith("UNSUBSCRIBE") for c in commands) == 2)
    channel = f"gandan:test:{unique}:"
    assert sorted(c for c in commands if "SUBSCRIBE" in c) == [
        f"SUBSCRIBE {channel}{TipReceived.__name__}",
        f"SUBSCRIBE {channel}{TOPIC}",
        f"UNSUBSCRIBE {channel}{TipReceived.__name__}",
        f"UNSUBSCRIBE {channel}{TOPIC}",
    ]
    assert await numsub(admin, channel + TOPIC) == 0
    assert bus.subscriber_count(TOPIC) == 0


async def test_closing_the_stream_unsubscribes_from_redis(redis_buses, admin, unique) -> None:
    bus = redis_buses()
    channel = f"gandan:test:{unique}:{TOPIC}"
    stream = bus.subscribe(TOPIC, scope=Scope.all())
    pending = asyncio.create_task(anext(stream))
    await ready(bus, TOPIC, 1)
    assert await numsub(admin, channel) == 1
    event = tip_updated()
    await bus.publish(event)
    assert await asyncio.wait_for(pending, 5) == event
    await stream.aclose()
    assert bus.subscriber_count(TOPIC) == 0
    await eventually(lambda: numsub_is(admin, channel, 0), what="UNSUBSCRIBE")


async def test_the_listener_comes_back_after_its_connection_is_killed(
    redis_buses, collect, admin, unique, caplog: pytest.LogCaptureFixture
) -> None:
    bus = redis_buses(client_name=f"test-{unique}-k")
    collectors = [collect(bus, TOPIC), collect(bus, TOPIC, Scope(wards=frozenset({WARD_A})))]
    await ready(bus, TOPIC, 2)
    before = tip_updated("before")
    await bus.publish(before)
    await eventually(lambda: all(c.events == [before] for c in collectors))
    (listener,) = await clients(admin, f"test-{unique}-k:sub")
    with caplog.at_level(logging.INFO, logger="adapters.bus.redis"):
        await admin.client_kill_filter(_id=listener["id"])
        await eventually(lambda: bus.reconnects == 1 and bus.subscriber_count(TOPIC) == 2)
    (again,) = await clients(admin, f"test-{unique}-k:sub")
    assert again["id"] != listener["id"]
    after = tip_updated("after")
    await bus.publish(after)
    await eventually(lambda: all(c.events == [before, after] for c in collectors))
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("event bus lost Redis") for m in messages)
    assert any(m.startswith("event bus listens to Redis again") for m in messages)


async def test_the_publisher_comes_back_after_its_connection_is_killed(
    redis_buses, collect, admin, unique
) -> None:
    one = redis_buses(client_name=f"test-{unique}-p")
    two = redis_buses()
    collector = collect(two, TOPIC)
    await ready(two, TOPIC, 1)
    first = tip_updated("first")
    await one.publish(first)
    await eventually(lambda: collector.events == [first])
    (publisher,) = await clients(admin, f"test-{unique}-p:pub")
    await admin.client_kill_filter(_id=publisher["id"])
    after = await publish_until_received(one, collector)
    assert collector.events[0] == first and collector.events[-1] == after
    assert len(set(collector.events)) == len(collector.events)


async def test_an_outage_loses_the_events_sent_meanwhile_and_no_subscriber(
    redis_buses, collect, proxy, redis_url, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis goes away (the proxy drops every connection and refuses new ones) and comes back."""
    bus = redis_buses(proxy.url(redis_url))
    collector = collect(bus, TOPIC)
    await ready(bus, TOPIC, 1)
    before = tip_updated("before")
    await bus.publish(before)
    await eventually(lambda: collector.events == [before])
    with caplog.at_level(logging.INFO, logger="adapters.bus.redis"):
        await proxy.cut()
        await eventually(lambda: bus.subscriber_count(TOPIC) == 0, what="the loss noticed")
        during = tip_updated("during")
        started = time.monotonic()
        await bus.publish(during)  # neither raises nor waits for Redis
        assert time.monotonic() - started < 0.1
        await eventually(
            lambda: any("cannot publish" in r.getMessage() for r in caplog.records),
            what="the publisher giving up",
        )
        await asyncio.sleep(0.2)  # several reconnection attempts fail meanwhile
        await proxy.start()
        await eventually(lambda: bus.reconnects == 1 and bus.subscriber_count(TOPIC) == 1)
        after = await publish_until_received(bus, collector)
    assert during not in collector.events
    assert collector.events[0] == before and collector.events[-1] == after
    assert not collector.ended
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("event bus lost Redis") for m in messages) == 1  # not once per retry
    assert any(m.startswith("event bus publishes to Redis again") for m in messages)


async def test_a_silent_connection_is_noticed_by_its_unanswered_ping(
    redis_buses, collect, proxy, redis_url
) -> None:
    bus = redis_buses(proxy.url(redis_url), ping_interval=0.1, connect_timeout=0.5)
    collector = collect(bus, TOPIC)
    await ready(bus, TOPIC, 1)
    await asyncio.sleep(0.5)  # idle for several intervals: the PINGs are answered
    assert bus.reconnects == 0
    proxy.silent = True
    await eventually(lambda: bus.subscriber_count(TOPIC) == 0, what="the silence noticed")
    proxy.silent = False
    await eventually(lambda: bus.reconnects == 1 and bus.subscriber_count(TOPIC) == 1)
    await publish_until_received(bus, collector)


async def test_without_redis_publishing_returns_and_subscribers_wait(collect) -> None:
    bus = RedisBus(
        f"redis://127.0.0.1:{free_port()}/0",
        backoff=(0.01, 0.05),
        connect_timeout=1.0,
        flush_timeout=0.5,
    )
    collector = collect(bus, TOPIC)
    started = time.monotonic()
    for _ in range(50):
        await bus.publish(tip_updated())
    assert time.monotonic() - started < 0.1
    await asyncio.sleep(0.2)
    assert not collector.ended and collector.events == []
    assert bus.subscriber_count(TOPIC) == 0
    await asyncio.wait_for(bus.aclose(), 3)
    await eventually(lambda: collector.ended)


async def test_messages_that_are_not_events_are_ignored(
    redis_buses, collect, admin, unique, caplog: pytest.LogCaptureFixture
) -> None:
    bus = redis_buses()
    collector = collect(bus, TOPIC, Scope(wards=frozenset({WARD_A})))
    await ready(bus, TOPIC, 1)
    channel = f"gandan:test:{unique}:{TOPIC}"
    other_type = codec.encode(TipReceived(TipId(uuid.uuid4()), WARD_A))
    with caplog.at_level(logging.WARNING, logger="adapters.bus.redis"):
        for payload in (b"garbage", b'{"type": "Nope", "data": {}}', other_type):
            await admin.publish(channel, payload)
        good = tip_updated()
        await bus.publish(good)
        await eventually(lambda: collector.events == [good])
    ignored = [r.getMessage() for r in caplog.records if "ignores" in r.getMessage()]
    assert len(ignored) == 3


async def _bus_of(tmp_path, **settings: str):
    database_url = f"sqlite+aiosqlite:///{tmp_path}/gandan.db"
    container = bootstrap(Settings(var_dir=tmp_path, database_url=database_url, **settings))
    bus = container.bus
    await container.aclose()
    return bus


def test_bootstrap_keeps_events_in_the_process_by_default(tmp_path) -> None:
    assert isinstance(asyncio.run(_bus_of(tmp_path)), InMemoryBus)


def test_bootstrap_uses_redis_when_configured_and_closes_it(tmp_path, redis_url) -> None:
    async def closed_bus_ends_subscriptions() -> None:
        bus = await _bus_of(tmp_path, redis_url=redis_url)
        assert isinstance(bus, RedisBus)
        with pytest.raises(StopAsyncIteration):  # closed with the container
            await anext(bus.subscribe(TOPIC, scope=Scope.all()))

    asyncio.run(closed_bus_ends_subscriptions())
