"""The event bus across API replicas and workers: Redis pub/sub, one channel per event type.

Every event goes through Redis, the publishing process's own subscribers included, so each
process sees each event exactly once, whichever replica or worker published it. Per process:

- one connection publishes: `publish()` encodes the event and queues it without waiting on the
  network (a mutation never waits for, or fails because of, Redis); a writer task sends what is
  queued in pipelined batches;
- one connection listens, however many local subscribers there are: the first local subscriber
  of a topic issues SUBSCRIBE, the last one to leave issues UNSUBSCRIBE, and a `LocalFanout`
  hands each event to the subscribers whose scope allows its ward, through bounded queues (a slow
  subscriber loses events, with a warning, and never holds up the others).

Pub/sub is fire-and-forget: while Redis is unreachable, events are lost (logged), subscribers
keep waiting, and both connections come back with exponential backoff and jitter, subscribing
again to every topic that still has subscribers. Delivery that must survive that, to partners,
goes through the transactional outbox and signed webhooks, never through this bus; a live view
that reads the database after each event misses a change, never shows a wrong one.

A PING on an idle listening connection that gets no answer within `ping_interval` counts as a
lost connection, so a silently dead peer is noticed, not waited on forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapters.bus import codec
from adapters.bus.memory import LocalFanout, topic_of
from domain.access import Scope
from domain.events import Event

log = logging.getLogger(__name__)

_BATCH = 256  # events per pipelined round trip


class _Backoff:
    """Exponential delays with jitter, so replicas that lost Redis together do not return together."""

    def __init__(self, first: float, cap: float) -> None:
        self._first, self._cap, self._attempt = first, cap, 0

    def next(self) -> float:
        delay = min(self._cap, self._first * 2**self._attempt)
        self._attempt += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._attempt = 0


class RedisBus:
    """EventPublisher and EventStream over Redis pub/sub (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        channel_prefix: str = "gandan:events:",
        client_name: str = "gandan-bus",
        queue_size: int = 1000,
        outbox_size: int = 10_000,
        ward_of: Callable[[Event], object] | None = None,
        connect_timeout: float = 5.0,
        ping_interval: float = 30.0,
        backoff: tuple[float, float] = (0.1, 5.0),
        flush_timeout: float = 2.0,
    ) -> None:
        # No retries inside redis-py: a command that failed may have reached Redis, and sending
        # it again would deliver an event twice. This bus reconnects by itself, with backoff.
        options = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": connect_timeout,
            "socket_keepalive": True,
            "retry": Retry(NoBackoff(), 0),
        }
        self._prefix = channel_prefix
        self._publisher = Redis.from_url(
            url, max_connections=1, client_name=f"{client_name}:pub", **options
        )
        # RESP2 for listening: pub/sub messages are plain replies (RESP3 routes them through the
        # parser's push handler, which logs every one).
        self._listen_pool = ConnectionPool.from_url(
            url, client_name=f"{client_name}:sub", protocol=2, **options
        )
        self._fanout = LocalFanout(queue_size=queue_size, ward_of=ward_of)
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(outbox_size)
        self._ping_interval = ping_interval
        self._backoff = backoff
        self._flush_timeout = flush_timeout
        self._writer: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        # The live listening connection, and the send lock that orders SUBSCRIBE/UNSUBSCRIBE on
        # it in the order subscribers came and went.
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._confirmed: set[str] = set()  # topics Redis confirmed on the live connection
        self._outbox_full = False
        self._closed = False
        self.reconnects = 0

    # EventPublisher

    async def publish(self, event: Event) -> None:
        payload = codec.encode(event)  # a programming error (an event it cannot carry) raises here
        if self._closed:
            log.warning("event bus closed; dropping %s", topic_of(event))
            return
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="gandan-bus-writer")
        try:
            self._outbox.put_nowait((self._channel(topic_of(event)), payload))
        except asyncio.QueueFull:
            if not self._outbox_full:
                self._outbox_full = True
                log.warning(
                    "event bus: %d events wait for Redis; dropping new ones", self._outbox.maxsize
                )
        else:
            self._outbox_full = False

    # EventStream

    async def subscribe(self, topic: str, *, scope: Scope) -> AsyncIterator[Event]:
        subscriber = self._fanout.add(topic, scope)
        try:
            if not self._fanout.closed:
                if self._listener is None:
                    # It subscribes to every topic with subscribers, this one included.
                    self._listener = asyncio.create_task(self._listen(), name="gandan-bus-listener")
                elif self._fanout.count(topic) == 1:
                    await self._send("SUBSCRIBE", topic)
            while (event := await self._fanout.next_event(subscriber)) is not None:
                yield event
        finally:
            if self._fanout.remove(subscriber) == 0 and not self._closed:
                await self._send("UNSUBSCRIBE", topic)

    def subscriber_count(self, topic: str) -> int:
        """Local subscribers of `topic` that will receive an event published now: 0 until Redis
        has confirmed the subscription on the live connection (tests, benchmarks)."""
        return self._fanout.count(topic) if topic in self._confirmed else 0

    async def aclose(self) -> None:
        """Send what is queued (for up to `flush_timeout`), end subscriptions, close connections."""
        if self._closed:
            return
        self._closed = True
        self._fanout.close()
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), self._flush_timeout)
        tasks = [t for t in (self._writer, self._listener) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._publisher.aclose()
        await self._listen_pool.aclose()

    # Publishing

    def _channel(self, topic: str) -> str:
        return self._prefix + topic

    async def _write(self) -> None:
        backoff = _Backoff(*self._backoff)
        failing_since: float | None = None
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except Exception as error:
                # At most once: what failed may have been published, so it is not sent again.
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning(
                        "event bus cannot publish to Redis (%s); events are lost",
                        error,
                        exc_info=not isinstance(error, (RedisError, OSError)),
                    )
                log.debug("event bus lost %d events", len(batch))
                await asyncio.sleep(backoff.next())
            else:
                if failing_since is not None:
                    log.info(
                        "event bus publishes to Redis again after %.1f s",
                        time.monotonic() - failing_since,
                    )
                    failing_since = None
                    backoff.reset()
            finally:
                for _ in batch:
                    self._outbox.task_done()

    # Listening

    async def _send(self, command: str, topic: str) -> None:
        async with self._send_lock:
            conn = self._conn
            if conn is None or not conn.is_connected:
                return  # the listener subscribes to every topic with subscribers on reconnecting
            try:
                await conn.send_command(command, self._channel(topic))
            except Exception as error:  # redis-py may fail oddly on a connection closing under it
                # Whatever broke the connection, the listener sees it too and starts over; the
                # subscriber that called this must not fail for it.
                log.debug("event bus could not send %s %s: %r", command, topic, error)

    async def _listen(self) -> None:
        backoff = _Backoff(*self._backoff)
        lost_since: float | None = None
        while True:
            conn = self._listen_pool.make_connection()
            try:
                await conn.connect()
                async with self._send_lock:
                    self._conn = conn
                    topics = self._fanout.topics()
                    if topics:
                        await conn.send_command("SUBSCRIBE", *map(self._channel, topics))
                if lost_since is not None:
                    self.reconnects += 1
                    log.info(
                        "event bus listens to Redis again after %.1f s",
                        time.monotonic() - lost_since,
                    )
                    lost_since = None
                backoff.reset()
                await self._read(conn)
            except Exception as error:
                # Whatever happened, the listener must outlive it: every subscriber depends on it.
                if lost_since is None:
                    lost_since = time.monotonic()
                    log.warning(
                        "event bus lost Redis (%s); reconnecting, events meanwhile are lost",
                        error,
                        exc_info=not isinstance(error, (RedisError, OSError)),
                    )
            finally:
                self._conn = None
                self._confirmed.clear()
                await conn.disconnect(nowait=True)
            await asyncio.sleep(backoff.next())

    async def _read(self, conn: AbstractConnection) -> None:
        awaiting_pong = False
        while True:
            # push_request: should the URL ask for RESP3, messages are pushes, which the parser
            # would otherwise hand to its own handler instead of returning them.
            reply = await conn.read_response(
                timeout=self._ping_interval, disconnect_on_error=False, push_request=True
            )
            if reply is None:  # nothing for a whole interval: is anyone there?
                if awaiting_pong:
                    raise RedisConnectionError("no answer to PING")
                async with self._send_lock:
                    await conn.send_command("PING")
                awaiting_pong = True
                continue
            awaiting_pong = False
            if isinstance(reply, list) and len(reply) == 3:
                self._handle(reply[0], reply[1], reply[2])

    def _handle(self, kind: object, channel: object, body: object) -> None:
        if not isinstance(channel, bytes):
            return
        name = channel.decode(errors="replace")
        if not name.startswith(self._prefix):
            return
        topic = name[len(self._prefix) :]
        if kind == b"message" and isinstance(body, bytes):
            try:
                event = codec.decode(body)
            except codec.UndecodableEvent as error:
                log.warning("event bus ignores a message on %s: %s", name, error)
                return
            if topic_of(event) != topic:
                log.warning("event bus ignores a %s sent on %s", topic_of(event), name)
                return
            self._fanout.deliver(event)
        elif kind == b"subscribe":
            self._confirmed.add(topic)
        elif kind == b"unsubscribe":
            self._confirmed.discard(topic)
