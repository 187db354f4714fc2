"""Fixtures for the event buses: the real Redis, buses of either kind, a cuttable TCP proxy.

Redis is `redis://127.0.0.1:6379/0` unless GANDAN_TEST_REDIS says otherwise. Without it the Redis
tests are skipped, except under CI=true where they fail. Each test uses its own channel prefix and
client names, so parallel runs and other tests on the same Redis never see each other's events.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio

from domain.access import Scope
from tests.bus import Buses, Collector, CuttableProxy

REDIS_URL = os.environ.get("GANDAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI requires it): {error}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client, to look at Redis from the outside (CLIENT LIST, PUBSUB NUMSUB, KILL)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]


BusFactory = Callable[..., Any]


@pytest.fixture
async def redis_buses(redis_url: str, unique: str) -> AsyncIterator[BusFactory]:
    """`make(url=None, **options)`: a RedisBus on this test's channels; twice for two replicas."""
    buses = Buses(redis_url, unique)
    yield buses.redis
    await buses.aclose()


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[BusFactory]:
    """The contract tests' bus, of each kind: `make(queue_size=…)`."""
    if request.param == "redis":
        buses = Buses(request.getfixturevalue("redis_url"), unique)
        yield buses.redis
    else:
        buses = Buses(None, unique)
        yield buses.memory
    await buses.aclose()


@pytest.fixture
async def collect() -> AsyncIterator[Callable[..., Collector]]:
    """`collect(bus, topic, scope)` starts a Collector; every one is stopped afterwards."""
    collectors: list[Collector] = []

    def start(bus: Any, topic: str, scope: Scope | None = None) -> Collector:
        collector = Collector(bus, topic, scope or Scope.all())
        collectors.append(collector)
        return collector

    yield start
    for collector in collectors:
        await collector.close()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[CuttableProxy]:
    target = urlsplit(redis_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    yield proxy
    await proxy.aclose()
