"""Latency from a tip change to 1,000 partners subscribed to tipUpdates over WebSocket, on one API
replica and across two replicas via Redis, with raw Redis pub/sub and a bare WebSocket fan-out
as baselines on the same machine.

    uv run python bench/tip_fanout.py [--clients 1000] [--changes 20] [--replicas 1,2]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

Uses (or creates) the database `gandan_bench` as groups_connection.py does. Scenarios, one after
the other, each with --clients subscribers held by this process:

- redis:   the bench PUBLISHes to a channel that --clients plain redis-py connections subscribe
           to: the floor of one pub/sub hop to that many sockets in Python;
- bare ×n: n bare WebSocket servers (the `websockets` package, one Redis subscription each) that
           speak just enough graphql-transport-ws to accept the same clients, and broadcast each
           message Redis brings as a `next` frame of the same size as the app's;
- app ×n:  n API replicas (api.app.create_app, uvicorn, one process each) sharing
           GANDAN_REDIS_URL. A partner with tips:read on the demo district connects --clients
           times, spread across the replicas, and subscribes to tipUpdates. The bench triages
           anonymous tips of one ward through TipService against the bench database with the
           Redis bus, as replica 1's staff API would, and notes when each change committed.

Per client, the latency is from the change's commit (its PUBLISH for the baselines) to the
arrival of its frame in this process. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import redis.asyncio as aioredis
from groups_connection import (
    Interrupted,
    Stop,
    _die_with_parent,
    _machine_ticks,
    _postgres_ticks,
    _run_loop,
    _ticks,
    add_database_arguments,
    ensure_database,
    free_port,
    plain_pg_url,
    prepare,
)
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
WARD_CODE = "HM-TANMAI"  # the ward whose tips change; the partner follows the whole district
BARE_CHANNEL = "gandan:bench:tip-fanout"
SUBSCRIBE = """subscription {
  tipUpdates { id ward { id code name } category status receivedAt updatedAt overdue }
}"""
READY_TIMEOUT = 60.0
CONNECT_BATCH = 50  # handshakes in flight at once
CONNECT_TIMEOUT = 30.0
MAX_FRAMES = 5_000_000  # per scenario, whatever happens: a hard bound on what is kept
TIP_BODY = "Có nhóm thanh niên tụ tập đua xe trên đường Tân Mai lúc nửa đêm, rất nguy hiểm."


# --------------------------------------------------------------------------------------------
# Servers, run in child processes (`--serve app|bare --port N`).


def serve_app(port: int, profile: str | None = None) -> None:
    import uvicorn

    from api.app import create_app
    from api.cli import tune_gc
    from api.config import Settings
    from api.logs import configure_logging

    settings = Settings()  # GANDAN_* from the environment the bench prepared, Redis included
    configure_logging(settings.log_level, json_lines=settings.log_json)
    app = create_app(settings)  # as `gandan serve`, without its migrate and demo steps
    tune_gc()
    options = {
        "host": "127.0.0.1",
        "port": port,
        "workers": 1,
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 5,
    }
    if not profile:
        uvicorn.run(app, **options)
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(uvicorn.run, app, **options)
    finally:
        profiler.dump_stats(profile)


async def bare_server(port: int, redis_url: str) -> None:
    """graphql-transport-ws reduced to what the clients say; every message from Redis goes to
    every subscribed connection as one `next` frame."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    subscribed: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                kind = orjson.loads(raw).get("type")
                if kind == "connection_init":
                    await ws.send('{"type":"connection_ack"}')
                elif kind == "subscribe":
                    subscribed.add(ws)
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
        finally:
            subscribed.discard(ws)

    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(BARE_CHANNEL)
    async with serve(handler, "127.0.0.1", port, subprotocols=["graphql-transport-ws"]) as server:
        listener = asyncio.create_task(_relay(pubsub, subscribed, broadcast))
        try:
            await server.serve_forever()
        finally:
            listener.cancel()
            await pubsub.aclose()
            await client.aclose()


async def _relay(pubsub: Any, subscribed: set[Any], broadcast: Any) -> None:
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30)
        if message is not None:
            update = message["data"].decode()
            broadcast(
                subscribed,
                f'{{"id":"1","type":"next","payload":{{"data":{{"tipUpdates":{update}}}}}}}',
            )


def serve_bare(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(bare_server(port, os.environ["GANDAN_REDIS_URL"]))
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    _run_loop(main())


# --------------------------------------------------------------------------------------------
# Subprocesses.


_children: set[int] = set()


@dataclass
class Server:
    kind: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_server(kind: str, index: int, var_dir: Path, profile: str | None = None) -> Server:
    port = free_port()
    log = var_dir / f"{kind}-{index}.log"
    command = [sys.executable, str(SCRIPT), "--serve", kind, "--port", str(port)]
    if profile:
        command += ["--profile", profile]
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(ROOT),
            env={**os.environ, "GANDAN_BENCH_PARENT": str(os.getpid())},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # Ctrl-C reaches the bench only, which stops the server
        )
    _children.add(process.pid)
    server = Server(kind, process, port, log)
    deadline = time.monotonic() + READY_TIMEOUT
    for _ in range(int(READY_TIMEOUT / 0.1) + 1):
        if process.returncode is not None or time.monotonic() > deadline or Stop.requested:
            break
        if await _ready(server):
            return server
        await asyncio.sleep(0.1)
    await stop_server(server)
    Stop.check()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{kind} server did not become ready; its log ends with:\n{tail}")


async def _ready(server: Server) -> bool:
    if server.kind == "app":
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            with contextlib.suppress(httpx.HTTPError):
                return (await client.get(f"{server.base}/healthz")).status_code == 200
        return False
    with contextlib.suppress(OSError):
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.close()
        return True
    return False


async def stop_server(server: Server) -> None:
    process = server.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)  # both servers shut down gracefully on SIGINT
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
    _children.discard(process.pid)


def kill_leftovers(*, reap: bool = True) -> None:
    for pid in list(_children):
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            if reap:
                os.waitpid(pid, 0)
        if reap:
            _children.discard(pid)


# --------------------------------------------------------------------------------------------
# CPU accounting.


def _redis_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "redis-server":
                    pids.append(int(entry.name))
    return pids


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])  # kB
    return total / 1024


@dataclass
class CpuSample:
    servers: int
    redis: int
    postgres: int
    client: float
    busy: int
    total: int

    @classmethod
    def take(cls, server_pids: list[int]) -> CpuSample:
        busy, total = _machine_ticks()
        return cls(
            sum(_ticks(pid) or 0 for pid in server_pids),
            sum(_ticks(pid) or 0 for pid in _redis_pids()),
            _postgres_ticks(),
            time.process_time(),
            busy,
            total,
        )


def cpu_per_change(before: CpuSample, after: CpuSample, changes: int) -> dict[str, float]:
    """CPU milliseconds per change of each party (the gaps between changes are idle, so a share
    of the wall time would say little), and how busy the machine was."""
    ms = 1000 / os.sysconf("SC_CLK_TCK") / changes
    return {
        "servers": (after.servers - before.servers) * ms,
        "redis": (after.redis - before.redis) * ms,
        # PostgreSQL backends come and go: a sum over those alive at both ends is an estimate.
        "postgres": max(0.0, (after.postgres - before.postgres) * ms),
        "client": (after.client - before.client) * 1000 / changes,
        "machine": 100 * (after.busy - before.busy) / max(after.total - before.total, 1),
    }


# --------------------------------------------------------------------------------------------
# The subscribers. Each keeps (its index, arrival time, raw frame) and nothing more: frames are
# parsed after the run, so that the clients' own work delays the arrivals as little as possible.


@dataclass
class Inbox:
    clients: int
    frames: list[tuple[int, float, str | bytes]] = field(default_factory=list)
    target: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, client: int, raw: str | bytes) -> None:
        if len(self.frames) >= MAX_FRAMES:
            return
        self.frames.append((client, time.perf_counter(), raw))
        if len(self.frames) >= self.target:
            self.reached.set()

    async def wait_for(self, count: int, seconds: float) -> bool:
        """Until `count` more frames than now have arrived, or `seconds` have passed."""
        self.target = len(self.frames) + count
        self.reached.clear()
        if len(self.frames) >= self.target:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.reached.wait(), seconds)
        return len(self.frames) >= self.target


async def _in_batches(
    jobs: list[Callable[[], Awaitable[Any]]],
    size: int,
    undo: Callable[[Any], Awaitable[None]] | None = None,
) -> list[Any]:
    """Run `jobs`, `size` at a time. If one fails, `undo` what the others made, then raise."""
    results: list[Any] = []
    failure: BaseException | None = None
    for start in range(0, len(jobs), size):
        if Stop.requested:
            failure = Interrupted()
            break
        batch = jobs[start : start + size]
        outcomes = await asyncio.gather(*(job() for job in batch), return_exceptions=True)
        results += [o for o in outcomes if not isinstance(o, BaseException)]
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            break
    if failure is not None:
        if undo is not None:
            await asyncio.gather(*(undo(r) for r in results), return_exceptions=True)
        raise failure
    return results


async def open_ws_clients(
    urls: list[str], token: str | None, inbox: Inbox, compression: str | None
) -> tuple[list[ClientConnection], list[asyncio.Task[None]]]:
    """inbox.clients graphql-transport-ws subscriptions, client i on urls[i % len(urls)]."""

    async def one(index: int) -> ClientConnection:
        ws = await connect(
            urls[index % len(urls)],
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            compression=compression,
            proxy=None,
            ping_interval=None,  # the servers ping; measured frames are the only traffic
            open_timeout=CONNECT_TIMEOUT,
            max_queue=None,
        )
        params = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": params}).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT))
        if ack.get("type") != "connection_ack":
            await ws.close()
            raise RuntimeError(f"client {index}: expected connection_ack, got {ack}")
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}
        await ws.send(orjson.dumps(subscribe).decode())
        return ws

    async def read(index: int, ws: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            async for raw in ws:
                inbox.add(index, raw)

    async def undo(ws: ClientConnection) -> None:
        await asyncio.wait_for(ws.close(), 5)

    connections = await _in_batches(
        [lambda i=i: one(i) for i in range(inbox.clients)], CONNECT_BATCH, undo
    )
    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(connections)]
    return connections, readers


async def close_ws_clients(
    connections: list[ClientConnection], readers: list[asyncio.Task[None]]
) -> None:
    async def close(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)

    for start in range(0, len(connections), 200):  # even when stopping: close what is open
        await asyncio.gather(*(close(ws) for ws in connections[start : start + 200]))
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


async def open_redis_clients(url: str, inbox: Inbox) -> tuple[list[Any], list[asyncio.Task[None]]]:
    async def one(index: int) -> Any:
        client = aioredis.Redis.from_url(url, single_connection_client=True)
        pubsub = client.pubsub()
        await pubsub.subscribe(BARE_CHANNEL)
        return client, pubsub

    async def read(index: int, pubsub: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=60)
                if message is not None:
                    inbox.add(index, message["data"])

    async def undo(pair: Any) -> None:
        await pair[1].aclose()
        await pair[0].aclose()

    pairs = await _in_batches(
        [lambda i=i: one(i) for i in range(inbox.clients)], CONNECT_BATCH, undo
    )
    readers = [asyncio.create_task(read(i, p)) for i, (_c, p) in enumerate(pairs)]
    return pairs, readers


async def close_redis_clients(pairs: list[Any], readers: list[asyncio.Task[None]]) -> None:
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for client, pubsub in pairs:
        with contextlib.suppress(Exception):
            await pubsub.aclose()
            await client.aclose()


# --------------------------------------------------------------------------------------------
# Changes: what each scenario does to make every client receive one frame.


class Changes:
    """make(key) -> reference time (perf_counter) at which the change became visible: the
    commit for tips, the PUBLISH for the baselines. key_of(frame) -> key or None."""

    async def make(self, key: int) -> float:
        raise NotImplementedError

    def key_of(self, raw: str | bytes) -> int | None:
        raise NotImplementedError


def _bare_update(key: int) -> bytes:
    # The shape and size of the app's tipUpdates payload, with the change's key in it.
    now = "2026-11-23T20:00:00.000000+00:00"
    return orjson.dumps(
        {
            "id": f"VGlwOjAxOWFiY2RlLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMQ==#{key}",
            "ward": {
                "id": "V2FyZDowMTlhYmNkZS0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDE=",
                "code": WARD_CODE,
                "name": "Công an phường Tân Mai",
            },
            "category": "GIAO_THONG",
            "status": "TRIAGED",
            "receivedAt": now,
            "updatedAt": now,
            "overdue": False,
        }
    )


class PublishChanges(Changes):
    def __init__(self, client: Any, *, graphql: bool) -> None:
        self._client = client
        self._graphql = graphql

    async def make(self, key: int) -> float:
        payload = _bare_update(key)
        at = time.perf_counter()
        await self._client.publish(BARE_CHANNEL, payload)
        return at

    def key_of(self, raw: str | bytes) -> int | None:
        try:
            message = orjson.loads(raw)
            update = message["payload"]["data"]["tipUpdates"] if self._graphql else message
            return int(update["id"].rsplit("#", 1)[1])
        except (ValueError, KeyError, TypeError, IndexError):
            return None


class CommitClock:
    """The container's unit-of-work factory, noting when each commit returned."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self.last = 0.0

    def __call__(self) -> Any:
        uow = self._factory()
        commit = uow.commit

        async def timed_commit() -> None:
            await commit()
            self.last = time.perf_counter()

        uow.commit = timed_commit
        return uow


class TipChanges(Changes):
    """Triage (received → triaged) of one fresh anonymous tip per change, by an officer."""

    def __init__(self, service: Any, clock: CommitClock, actor: Any, tips: list[Any]) -> None:
        from strawberry import relay

        from domain.tip import TipCategory

        self._service = service
        self._clock = clock
        self._actor = actor
        self._tips = tips
        self._category = TipCategory.GIAO_THONG
        self._keys = {str(relay.GlobalID("Tip", str(tip.id))): key for key, tip in enumerate(tips)}

    async def make(self, key: int) -> float:
        await self._service.triage(self._actor, self._tips[key].id, self._category)
        return self._clock.last

    def key_of(self, raw: str | bytes) -> int | None:
        try:
            message = orjson.loads(raw)
            update = message["payload"]["data"]["tipUpdates"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(update, dict) or update.get("status") != "TRIAGED":
            return None
        return self._keys.get(update.get("id"))


# --------------------------------------------------------------------------------------------
# One scenario: probes until every client hears one, then the measured changes.


@dataclass
class Result:
    name: str
    clients: int
    changes: int
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # per change: the earliest client
    last_ms: list[float] = field(default_factory=list)  # per change: the latest client
    missing: int = 0
    duplicates: int = 0
    other_frames: int = 0
    other_samples: list[str] = field(default_factory=list)
    probes: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    note: str = ""
    # The change whose last subscriber waited longest: (its number, seconds after the clients
    # subscribed, that wait in ms).
    slowest: tuple[int, float, float] | None = None
    rss: tuple[float, float] = (0.0, 0.0)  # the servers' resident memory before and after, MB

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(
    name: str,
    inbox: Inbox,
    changes: Changes,
    args: argparse.Namespace,
    server_pids: list[int],
    subscribed_at: float,
) -> Result:
    """Probe keys are 0 … probes-1, measured keys follow them. `subscribed_at`: when the last
    client had sent its subscription."""
    result = Result(name, inbox.clients, args.changes)
    ready = False
    for probe in range(args.probes):
        Stop.check()
        result.probes += 1
        await changes.make(probe)
        if await inbox.wait_for(inbox.clients, args.probe_timeout):
            ready = True
            break
    if not ready:
        result.note = f"not every client heard any of {args.probes} probes"
    await asyncio.sleep(args.gap)
    start = len(inbox.frames)
    references: dict[int, float] = {}
    before = CpuSample.take(server_pids)
    rss_before = _rss_mb(server_pids)
    for n in range(args.changes):
        Stop.check()
        key = args.probes + n
        references[key] = await changes.make(key)
        await inbox.wait_for(inbox.clients, args.timeout)
        await asyncio.sleep(args.gap)
    result.cpu = cpu_per_change(before, CpuSample.take(server_pids), args.changes)
    result.rss = (rss_before, _rss_mb(server_pids))
    seen: dict[int, dict[int, float]] = {key: {} for key in references}
    for client, at, raw in inbox.frames[start:]:
        key = changes.key_of(raw)
        if key is None:
            result.other_frames += 1
            if len(result.other_samples) < 3:
                text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
                result.other_samples.append(text[:300])
            continue
        if key not in seen:
            continue  # a late probe
        if client in seen[key]:
            result.duplicates += 1
            continue
        seen[key][client] = (at - references[key]) * 1000
    for key, by_client in seen.items():
        result.missing += inbox.clients - len(by_client)
        result.latencies_ms += by_client.values()
        if by_client:
            result.first_ms.append(min(by_client.values()))
            result.last_ms.append(max(by_client.values()))
            if result.slowest is None or result.last_ms[-1] > result.slowest[2]:
                made = references[key] - subscribed_at
                result.slowest = (key - args.probes + 1, made, result.last_ms[-1])
    return result


# --------------------------------------------------------------------------------------------
# Setup in the bench database.


@dataclass
class World:
    container: Any
    service: Any
    clock: CommitClock
    officer: Any
    ward_id: Any
    partner: Any
    secret: str
    tips: list[Any] = field(default_factory=list)


async def make_world(bench_url: str) -> World:
    from api.bootstrap import bootstrap
    from api.config import Settings
    from domain.access import Actor
    from domain.ids import MemberId
    from domain.services.partners import PartnerClientCreate
    from domain.services.tips import TipService

    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        officer = await conn.fetchrow(
            """
            SELECT g.member_id, w.id AS ward_id FROM role_grant g
            JOIN ward w ON w.id = g.ward_id
            JOIN member m ON m.id = g.member_id AND m.removed_at IS NULL
            WHERE w.code = $1 AND g.role = 'officer' ORDER BY g.member_id LIMIT 1
            """,
            WARD_CODE,
        )
        district = [r["id"] for r in await conn.fetch("SELECT id FROM ward")]
    finally:
        await conn.close()
    if officer is None:
        raise SystemExit(f"no officer in {WARD_CODE}: is the demo district loaded?")
    settings = Settings()
    container = bootstrap(settings)  # with the Redis bus: GANDAN_REDIS_URL is set
    clock = CommitClock(container.uow)
    service = TipService(
        clock,
        container.clock,
        container.bus,
        container.vault,
        container.reporter_reply,
        sla=settings.tip_sla,
        office_hours=settings.tip_office_hours,
    )
    actor = await container.organisation.actor_for(MemberId(officer["member_id"]))
    partner, secret = await container.partners.create_client(
        Actor.system_actor(),
        PartnerClientCreate(
            name=f"bench tip_fanout {uuid.uuid4().hex[:8]}",
            ward_ids=tuple(district),
            scopes=("tips:read",),
        ),
    )
    return World(container, service, clock, actor, officer["ward_id"], partner, secret)


async def new_tips(world: World, count: int) -> list[Any]:
    from domain.reporter import TipSource
    from domain.services.tips import TipSubmission

    tips = []
    for _ in range(count):
        receipt = await world.service.submit(
            None,
            TipSubmission(
                ward_id=world.ward_id, body=TIP_BODY, source=TipSource.APP, anonymous=True
            ),
        )
        tips.append(receipt.tip)
    world.tips += tips
    return tips


async def partner_token(base: str, world: World) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(world.partner.client_id, world.secret),
        )
    if response.status_code != 200:
        raise RuntimeError(f"/oauth/token answered {response.status_code}: {response.text[:300]}")
    return response.json()["access_token"]


async def tidy(world: World, bench_url: str) -> None:
    """Delete the tips the bench created, with their history, and the bench's partners (this
    run's and any an interrupted run left)."""
    ids = [tip.id for tip in world.tips]
    partners = "SELECT id FROM partner_client WHERE name LIKE 'bench tip_fanout %'"
    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        async with conn.transaction():
            for table in ("tip_transition", "tip_message", "tip_attachment"):
                await conn.execute(f"DELETE FROM {table} WHERE tip_id = ANY($1::uuid[])", ids)
            await conn.execute("DELETE FROM tip WHERE id = ANY($1::uuid[])", ids)
            for table in ("partner_webhook_delivery", "partner_webhook", "partner_client_ward"):
                await conn.execute(f"DELETE FROM {table} WHERE client_id IN ({partners})")
            await conn.execute(f"DELETE FROM partner_client WHERE id IN ({partners})")
    except asyncpg.PostgresError as error:
        print(f"warning: the bench's tips and partner were left in place: {error}", file=sys.stderr)
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------------
# Scenarios.


async def run_redis(args: argparse.Namespace) -> Result:
    inbox = Inbox(args.clients)
    pairs, readers = await open_redis_clients(args.redis, inbox)
    publisher = aioredis.Redis.from_url(args.redis)
    try:
        print(f"redis: {args.clients} subscribers connected", file=sys.stderr)
        return await measure(
            "redis",
            inbox,
            PublishChanges(publisher, graphql=False),
            args,
            _redis_pids(),
            time.perf_counter(),
        )
    finally:
        await publisher.aclose()
        await close_redis_clients(pairs, readers)


async def run_bare(replicas: int, args: argparse.Namespace, var_dir: Path) -> Result:
    servers = [await start_server("bare", i, var_dir) for i in range(replicas)]
    publisher = aioredis.Redis.from_url(args.redis)
    connections: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    try:
        inbox = Inbox(args.clients)
        connections, readers = await open_ws_clients(
            [s.ws_url for s in servers], None, inbox, args.compression
        )
        print(f"bare ×{replicas}: {len(connections)} clients subscribed", file=sys.stderr)
        return await measure(
            f"bare ×{replicas}",
            inbox,
            PublishChanges(publisher, graphql=True),
            args,
            [s.process.pid for s in servers],
            time.perf_counter(),
        )
    finally:
        await close_ws_clients(connections, readers)
        await publisher.aclose()
        for server in servers:
            await stop_server(server)


async def run_app(replicas: int, args: argparse.Namespace, var_dir: Path, world: World) -> Result:
    tips = await new_tips(world, args.probes + args.changes)  # before anyone listens
    servers = []
    for i in range(replicas):
        profile = f"{args.profile}.app{replicas}" if args.profile and i == 0 else None
        servers.append(await start_server("app", i, var_dir, profile))
    connections: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    try:
        token = await partner_token(servers[0].base, world)
        inbox = Inbox(args.clients)
        started = time.perf_counter()
        connections, readers = await open_ws_clients(
            [s.ws_url for s in servers], token, inbox, args.compression
        )
        print(
            f"app ×{replicas}: {len(connections)} partner subscriptions in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        return await measure(
            f"app ×{replicas}",
            inbox,
            TipChanges(world.service, world.clock, world.officer, tips),
            args,
            [s.process.pid for s in servers],
            time.perf_counter(),
        )
    finally:
        await close_ws_clients(connections, readers)
        for server in servers:
            await stop_server(server)


# --------------------------------------------------------------------------------------------
# Report.


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: list[Result], args: argparse.Namespace, nofile: str) -> None:
    print()
    print(
        f"{args.clients} subscribers, {args.changes} changes each {args.gap:g} s after the last "
        f"arrival, WebSocket compression {args.compression or 'off'}; "
        f"{os.cpu_count()} cores shared by the clients, servers, PostgreSQL and Redis; {nofile}"
    )
    header = (
        f"{'scenario':<9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'first ms':>8} {'last ms':>8} {'received':>9} {'missing':>7}   "
        f"{'cpu ms/change: servers':>22} {'redis':>5} {'pg':>4} {'client':>6}   {'machine':>7}"
        f" {'srv MB':>7} {'+MB':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cpu = r.cpu
        print(
            f"{r.name:<9} {r.percentile(50):>8.1f} {r.percentile(90):>8.1f} "
            f"{r.percentile(99):>8.1f} {max(r.latencies_ms, default=float('nan')):>8.1f} "
            f"{_median(r.first_ms):>8.1f} {_median(r.last_ms):>8.1f} "
            f"{len(r.latencies_ms):>9} {r.missing:>7}   "
            f"{_ms(cpu.get('servers')):>22} {_ms(cpu.get('redis')):>5} "
            f"{_ms(cpu.get('postgres')):>4} {_ms(cpu.get('client')):>6}   "
            f"{_pct(cpu.get('machine')):>7} {r.rss[1]:>7.0f} {r.rss[1] - r.rss[0]:>+5.0f}"
        )
    for r in results:
        extra = []
        if r.note:
            extra.append(r.note)
        if r.duplicates:
            extra.append(f"{r.duplicates} duplicate frames")
        if r.other_frames:
            extra.append(f"{r.other_frames} other frames, e.g. {r.other_samples}")
        if r.probes > 1:
            extra.append(f"{r.probes} probes before every client listened")
        if r.slowest is not None and r.changes > 1:
            number, made, wait = r.slowest
            extra.append(
                f"slowest change #{number}, made {made:.0f} s after subscribing, reached its "
                f"last client in {wait:.0f} ms (median change {_median(r.last_ms):.0f} ms)"
            )
        if extra:
            print(f"  {r.name}: " + "; ".join(extra))
    by_name = {r.name: r for r in results}
    for n in args.replicas:
        app, bare = by_name.get(f"app ×{n}"), by_name.get(f"bare ×{n}")
        if app and bare and bare.latencies_ms:
            print(
                f"app/bare ×{n}: p50 {app.percentile(50) / bare.percentile(50):.1f}x, "
                f"p99 {app.percentile(99) / bare.percentile(99):.1f}x"
            )


# --------------------------------------------------------------------------------------------
# Main.


def raise_open_files(needed: int) -> str:
    """Each subscriber is a socket here and one in a server: lift the soft limit if it is low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < needed:
            raise SystemExit(f"open files: need {needed}, the hard limit is {hard}")
        return f"open files raised from {soft} to {new} (inherited by the servers)"
    return f"open files limit {soft} (enough)"


async def run(args: argparse.Namespace) -> int:
    bench_url = plain_pg_url(args.pg, args.database)
    try:
        created = await ensure_database(args.pg, args.database)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        where = make_url(args.pg).render_as_string(hide_password=True)
        raise SystemExit(f"cannot use PostgreSQL at {where}: {error}") from None
    probe = aioredis.Redis.from_url(args.redis, socket_connect_timeout=2)
    try:
        await probe.ping()
    except Exception as error:
        raise SystemExit(f"cannot use Redis at {args.redis}: {error}") from None
    finally:
        await probe.aclose()
    print(
        f"database {args.database} {'created' if created else 'reused'} on "
        f"{make_url(bench_url).host}:{make_url(bench_url).port or 5432}",
        file=sys.stderr,
    )
    await prepare(bench_url, vacuum=not args.no_vacuum)
    nofile = raise_open_files(2 * args.clients + 256)
    print(nofile, file=sys.stderr)

    var_dir = Path(os.environ["GANDAN_VAR_DIR"])
    only = set(args.only or ("redis", "bare", "app"))
    results: list[Result] = []
    world: World | None = None
    try:
        if "redis" in only:
            results.append(await run_redis(args))
        if "app" in only:
            # Here first: the development keys under the var dir, before any replica reads them.
            world = await make_world(bench_url)
        for n in args.replicas:
            if "bare" in only:
                results.append(await run_bare(n, args, var_dir))
            if "app" in only and world is not None:
                results.append(await run_app(n, args, var_dir, world))
    finally:
        if world is not None:
            await tidy(world, bench_url)
            await world.container.aclose()
    report(results, args, nofile)
    bad = any(r.missing or not r.latencies_ms for r in results)
    return 1 if bad else 0


async def run_until_signal(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if Stop.requested:
            kill_leftovers(reap=False)
            return
        Stop.requested = True
        print("stopping…", file=sys.stderr)
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await run(args)
    except asyncio.CancelledError:
        if Stop.requested:
            raise Interrupted() from None
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _counts(value: str) -> list[int]:
    try:
        counts = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list such as 1,2") from None
    if not counts or any(not 1 <= n <= 8 for n in counts):
        raise argparse.ArgumentTypeError("replica counts must be in [1, 8]")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="subscribers (1000)")
    parser.add_argument("--changes", type=int, default=20, help="measured changes (20)")
    parser.add_argument(
        "--gap", type=float, default=0.5, help="pause after each change's last arrival (0.5 s)"
    )
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="longest wait for one change (15 s)"
    )
    parser.add_argument("--probes", type=int, default=10, help="most warm-up changes (10)")
    parser.add_argument(
        "--probe-timeout", type=float, default=5.0, help="longest wait for one probe (5 s)"
    )
    parser.add_argument(
        "--replicas", type=_counts, default=[1, 2], help="replica counts to run (1,2)"
    )
    parser.add_argument(
        "--only", action="append", choices=("redis", "bare", "app"), help="run only these"
    )
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_const",
        const=None,
        default="deflate",
        help="don't offer permessage-deflate (clients offer it by default, as browsers do)",
    )
    add_database_arguments(parser)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM ANALYZE")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile the first app replica into FILE.app1 / FILE.app2 (pstats)",
    )
    parser.add_argument("--serve", choices=("app", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 10_000 or not 1 <= args.changes <= 1000:
        parser.error("--clients must be in [1, 10000] and --changes in [1, 1000]")
    if not 1 <= args.probes <= 50 or not 0 <= args.gap <= 600:
        parser.error("--probes must be in [1, 50] and --gap in [0, 600]")
    if not 0 < args.timeout <= 120 or not 0 < args.probe_timeout <= 60:
        parser.error("--timeout must be in (0, 120] and --probe-timeout in (0, 60]")
    if make_url(args.pg).get_backend_name() != "postgresql":
        parser.error("--pg must be a postgresql:// URL")
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    host = make_url(args.redis.replace("rediss://", "redis://")).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--redis must be on this machine (loopback)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        _die_with_parent()
        if args.serve == "app":
            serve_app(args.port, args.profile)
        else:
            serve_bare(args.port)
        return 0

    # The replicas and this process read the same settings: drop any GANDAN_* the caller's shell
    # has, then set the bench's (a fresh var dir holds the development keys all of them share).
    for key in [k for k in os.environ if k.startswith("GANDAN_")]:
        del os.environ[key]
    var_dir = Path(tempfile.mkdtemp(prefix="gandan-bench-"))
    os.environ.update(
        GANDAN_DATABASE_URL=plain_pg_url(args.pg, args.database),
        GANDAN_VAR_DIR=str(var_dir),
        GANDAN_ENV="development",
        GANDAN_DEMO="false",
        GANDAN_AUTO_MIGRATE="false",
        GANDAN_WORKER_EMBEDDED="false",
        GANDAN_REDIS_URL=args.redis,
        GANDAN_LOG_LEVEL="WARNING",
        GANDAN_LOG_JSON="false",
    )
    try:
        return _run_loop(run_until_signal(args))
    except (Interrupted, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        kill_leftovers()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
