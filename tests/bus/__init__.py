"""The event buses' tests: the contract both buses keep (test_memory_bus.py, run on each), what
only the Redis bus does (test_redis_bus.py), the codec (test_codec.py), and their helpers here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from adapters.bus.memory import InMemoryBus
from adapters.bus.redis import RedisBus
from domain.access import Scope
from domain.events import Event

FAST_BACKOFF = (0.01, 0.1)


class Buses:
    """Builds buses for one test and closes them all afterwards. Redis buses share this test's
    channel prefix, so two of them are two replicas, and each has its own client name
    (`test-<unique>-<n>`, the listening connection `…:sub`, the publishing one `…:pub`)."""

    def __init__(self, redis_url: str | None, unique: str) -> None:
        self._url, self._unique = redis_url, unique
        self._buses: list[Any] = []

    def redis(self, url: str | None = None, **options: Any) -> RedisBus:
        assert self._url is not None
        options.setdefault("channel_prefix", f"gandan:test:{self._unique}:")
        options.setdefault("client_name", f"test-{self._unique}-{len(self._buses)}")
        options.setdefault("backoff", FAST_BACKOFF)
        bus = RedisBus(url or self._url, **options)
        self._buses.append(bus)
        return bus

    def memory(self, **options: Any) -> InMemoryBus:
        bus = InMemoryBus(queue_size=options.get("queue_size", 1000))
        self._buses.append(bus)
        return bus

    async def aclose(self) -> None:
        for bus in self._buses:
            await bus.aclose()


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 5.0, what: str = ""
) -> None:
    """Wait until `condition()` holds, checking every 10 ms; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


class Collector:
    """A subscriber consuming its stream in a task, as a WebSocket subscription does."""

    def __init__(self, bus: Any, topic: str, scope: Scope) -> None:
        self.events: list[Event] = []
        self.ended = False
        self._stream = bus.subscribe(topic, scope=scope)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self.events.append(event)
        self.ended = True

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._stream.aclose()


class CuttableProxy:
    """A TCP proxy to Redis that can be cut (every connection dropped, new ones refused) and
    restored on the same port: a Redis restart, without touching Redis. It can also go silent
    (connections stay open, nothing gets through either way): a peer that died without a word."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.silent = False

    def url(self, redis_url: str) -> str:
        """`redis_url` with this proxy's address (same database, credentials)."""
        parts = urlsplit(redis_url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        server, self._server = self._server, None
        server.close()  # refuse new connections first, then drop the open ones
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if not self.silent:
                        dst.write(data)
                        await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    async def aclose(self) -> None:
        if self._server is not None:
            await self.cut()
