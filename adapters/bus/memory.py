"""The embedded event bus: events reach subscribers in this process only.

`LocalFanout` is the part every bus shares: the subscribers of this process, each with a bounded
queue and the scope it may see. `InMemoryBus` hands published events straight to it; `RedisBus`
(adapters/bus/redis.py) hands it what comes back from Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from domain.access import Scope
from domain.events import Event

log = logging.getLogger(__name__)

# Put in a subscriber's queue when the bus closes, so that its generator ends instead of waiting
# forever for an event that will never come.
_CLOSED = object()


def topic_of(event: Event) -> str:
    return type(event).__name__


def ward_of_event(event: Event) -> object:
    """The ward an event belongs to, or None for events of no ward (seen only by Scope.all())."""
    return getattr(event, "ward_id", None)


@dataclass(eq=False)
class LocalSubscriber:
    topic: str
    scope: Scope
    queue: asyncio.Queue[object]
    dropping: bool = field(default=False)
    dropped: int = field(default=0)


class LocalFanout:
    """This process's subscribers by topic; scope filtering; bounded queues that never block.

    Filtering happens before queueing, so a subscriber's queue only ever holds what it may see.
    A subscriber that falls behind loses events (one warning per stretch of losses) rather than
    slowing down the publisher or the other subscribers.
    """

    def __init__(
        self, *, queue_size: int = 1000, ward_of: Callable[[Event], object] | None = None
    ) -> None:
        self._subscribers: dict[str, set[LocalSubscriber]] = {}
        self._queue_size = queue_size
        self._ward_of = ward_of or ward_of_event
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def add(self, topic: str, scope: Scope) -> LocalSubscriber:
        """Register a subscriber; the caller can tell it is the topic's first by `count(topic)`."""
        subscriber = LocalSubscriber(topic, scope, asyncio.Queue(self._queue_size))
        if self._closed:
            subscriber.queue.put_nowait(_CLOSED)
        self._subscribers.setdefault(topic, set()).add(subscriber)
        return subscriber

    def remove(self, subscriber: LocalSubscriber) -> int:
        """Unregister a subscriber; returns how many are left on its topic."""
        subscribers = self._subscribers.get(subscriber.topic)
        if subscribers is None:
            return 0
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[subscriber.topic]
            return 0
        return len(subscribers)

    def count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    def topics(self) -> list[str]:
        return list(self._subscribers)

    def deliver(self, event: Event) -> None:
        subscribers = self._subscribers.get(topic_of(event))
        if not subscribers:
            return
        ward_id = self._ward_of(event)
        for subscriber in list(subscribers):
            if not subscriber.scope.allows(ward_id):  # type: ignore[arg-type]
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscriber.dropped += 1
                if not subscriber.dropping:
                    subscriber.dropping = True
                    log.warning(
                        "event subscriber of %s is %d events behind; dropping events",
                        subscriber.topic,
                        self._queue_size,
                    )
            else:
                subscriber.dropping = False

    async def next_event(self, subscriber: LocalSubscriber) -> Event | None:
        """The subscriber's next event, or None once the fan-out has closed."""
        item = await subscriber.queue.get()
        return None if item is _CLOSED else item  # type: ignore[return-value]

    def close(self) -> None:
        """End every subscriber's stream (after the events already queued for it)."""
        self._closed = True
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                queue = subscriber.queue
                if queue.full():
                    # The end matters more than the oldest event a slow subscriber has not read.
                    queue.get_nowait()
                queue.put_nowait(_CLOSED)


class InMemoryBus:
    """Fan-out to bounded per-subscriber queues; a subscriber that falls behind drops events."""

    def __init__(
        self, *, queue_size: int = 1000, ward_of: Callable[[Event], object] | None = None
    ) -> None:
        self._fanout = LocalFanout(queue_size=queue_size, ward_of=ward_of)

    async def publish(self, event: Event) -> None:
        self._fanout.deliver(event)

    async def subscribe(self, topic: str, *, scope: Scope) -> AsyncIterator[Event]:
        subscriber = self._fanout.add(topic, scope)
        try:
            while (event := await self._fanout.next_event(subscriber)) is not None:
                yield event
        finally:
            self._fanout.remove(subscriber)

    def subscriber_count(self, topic: str) -> int:
        """Subscribers of `topic` that will receive an event published now (tests, benchmarks)."""
        return self._fanout.count(topic)

    async def aclose(self) -> None:
        """End every subscription; nothing else to release."""
        self._fanout.close()
