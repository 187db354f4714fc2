"""Signed Messenger webhooks stored durably on PostgreSQL: the real API against a bare baseline.

    uv run python bench/webhooks_ingest.py [--seconds 10] [--concurrency 32] [--workers 1,2]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

Uses (or creates) the database `gandan_bench` as groups_connection.py does, then for each number
of uvicorn workers starts two servers one after the other, each in its own subprocess on
loopback, and drives both with the same load generator:

- app:  the real app (api.app.create_app), POST /webhooks/messenger with the Messenger app secret
        configured and the embedded delivery worker off, so only ingestion is measured;
- bare: Starlette + an asyncpg pool: the same HMAC-SHA256 check of X-Hub-Signature-256 over the
        raw body, the message ids read from the JSON, one INSERT … ON CONFLICT DO NOTHING per
        message into the same `inbox_event` table, then 200.

Each client posts distinct signed events (one message, a unique `mid`, each) for a warm-up and a
measured window, then re-posts events already stored (the duplicate path), then posts new events
again until its server is killed with SIGKILL mid-load. Afterwards the inbox must hold a row for
every event that was answered 200. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from groups_connection import (
    Interrupted,
    Stop,
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
from groups_connection import _die_with_parent as _die_with_bench
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakes

APP_SECRET = "bench-messenger-app-secret-" + "7f3a9c"
PAGE_ID = "104857600123456"
MID_PREFIX = "m_bench-"  # every row this bench writes, and deletes again, starts with it
TEXT = "Em muốn báo: có đối tượng trộm xe máy ở chợ Tân Mai sáng nay, em có ảnh biển số 29B1-123.45"
MAX_REQUESTS = 2_000_000  # per phase, whatever the duration: a hard bound on every loop
REQUEST_TIMEOUT = 10.0
READY_TIMEOUT = 60.0
PHASES = ("new", "dup")

BARE_INSERT = """
INSERT INTO inbox_event (id, channel, external_id, received_at, payload, headers, available_at,
                         attempts, purged)
VALUES ($1, 'messenger', $2, $3, $4, $5, $3, 0, false)
ON CONFLICT (channel, external_id) DO NOTHING
RETURNING id
"""


# --------------------------------------------------------------------------------------------
# The servers, run in child processes (`--serve app|bare --port N --workers W`). uvicorn imports
# a factory by name so that `--workers 2` can start each worker from scratch.


def _dies_with_parent() -> None:
    """Linux: a uvicorn worker gets SIGTERM when its supervisor dies, however it dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def app_factory() -> Any:
    """The real app, as `gandan serve` builds it (without its migrate and demo steps)."""
    _dies_with_parent()
    from api.app import create_app
    from api.cli import tune_gc
    from api.config import Settings
    from api.logs import configure_logging

    settings = Settings()  # GANDAN_* from the environment the bench prepared
    configure_logging(settings.log_level, json_lines=settings.log_json)
    app = create_app(settings)
    tune_gc()
    return app


def bare_factory() -> Any:
    _dies_with_parent()
    from api.cli import tune_gc

    app = bare_app(
        os.environ["GANDAN_BENCH_DSN"],
        os.environ["GANDAN_MESSENGER_APP_SECRET"].encode(),
        int(os.environ.get("GANDAN_DB_POOL_SIZE", "10")),
    )
    tune_gc()  # the same process settings as the app
    return app


def bare_app(dsn: str, secret: bytes, pool_size: int) -> Any:
    """The least code that does what the webhook must: check, store, answer."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from domain.ids import new_id  # the same time-ordered ids as the app's rows

    pool: asyncpg.Pool | None = None
    max_age_ms = 300_000

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        # The app's SQLAlchemy pool: pool_size plus as many again in overflow.
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=2 * pool_size)
        try:
            yield
        finally:
            await pool.close()

    def answer(status: int, body: bytes) -> Response:
        return Response(body, status_code=status, media_type="application/json")

    async def receive(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("x-hub-signature-256")
        if not signature:
            return answer(401, b'{"error":"missing_signature"}')
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return answer(403, b'{"error":"bad_signature"}')
        now = datetime.now(UTC)
        now_ms = time.time() * 1000
        try:
            envelope = orjson.loads(body)
            mids = [
                item["message"]["mid"]
                for entry in envelope["entry"]
                for item in entry["messaging"]
                if abs(now_ms - item["timestamp"]) <= max_age_ms
            ]
            text = body.decode()
        except (ValueError, KeyError, TypeError):
            return answer(400, b'{"error":"malformed"}')
        if not mids:
            return answer(400, b'{"error":"stale"}')
        headers = orjson.dumps({"x-hub-signature-256": signature}).decode()
        assert pool is not None
        async with pool.acquire() as conn:
            for mid in mids:
                await conn.fetchval(BARE_INSERT, new_id(), mid, now, text, headers)
        return answer(200, b'{"ok":true}')

    async def healthz(_request: Request) -> Response:
        return answer(200, b'{"status":"ok"}')

    return Starlette(
        routes=[
            Route("/webhooks/messenger", receive, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def serve(kind: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        f"{SCRIPT.stem}:{kind}_factory",
        factory=True,
        app_dir=str(SCRIPT.parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


# --------------------------------------------------------------------------------------------
# Subprocesses.


_children: set[int] = set()


@dataclass
class Server:
    kind: str
    workers: int
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def name(self) -> str:
        return f"{self.kind} ×{self.workers}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_server(kind: str, workers: int, var_dir: Path) -> Server:
    port = free_port()
    log = var_dir / f"{kind}-{workers}.log"
    command = [sys.executable, str(SCRIPT), "--serve", kind, "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(ROOT),
            env={**os.environ, "GANDAN_BENCH_PARENT": str(os.getpid())},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # its own process group: Ctrl-C reaches the bench only
        )
    _children.add(process.pid)
    server = Server(kind, workers, process, port, log)
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as client:
        for _ in range(int(READY_TIMEOUT / 0.1) + 1):
            if process.returncode is not None or time.monotonic() > deadline or Stop.requested:
                break
            # With several workers, /healthz answered by one says nothing of the others: they
            # must all exist, and get a second to finish starting (the warm-up follows anyway).
            with contextlib.suppress(httpx.HTTPError):
                healthy = (await client.get(f"{server.base}/healthz")).status_code == 200
                if healthy and len(_tree(process.pid)) >= (workers + 1 if workers > 1 else 1):
                    await asyncio.sleep(1.0 if workers > 1 else 0)
                    return server
            await asyncio.sleep(0.1)
    await stop_server(server, kill=True)
    Stop.check()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{kind} server did not become ready; its log ends with:\n{tail}")


def _kill_group(pid: int) -> None:
    """SIGKILL the server's process group (its uvicorn supervisor and workers), which it leads
    since start_new_session: only processes this bench started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def stop_server(server: Server, *, kill: bool = False) -> None:
    process = server.process
    if process.returncode is None:
        if kill:
            _kill_group(process.pid)
        else:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully on SIGINT
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            _kill_group(process.pid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
    _children.discard(process.pid)


def kill_leftovers() -> None:
    for pid in list(_children):
        _kill_group(pid)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.waitpid(pid, 0)
        _children.discard(pid)


# --------------------------------------------------------------------------------------------
# CPU accounting: the server is a process tree when uvicorn runs several workers.


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@dataclass
class CpuSample:
    server: int
    postgres: int
    client: float
    busy: int
    total: int

    @classmethod
    def take(cls, pids: list[int]) -> CpuSample:
        busy, total = _machine_ticks()
        server = sum(_ticks(pid) or 0 for pid in pids)
        return cls(server, _postgres_ticks(), time.process_time(), busy, total)


def cpu_percent(before: CpuSample, after: CpuSample, seconds: float) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "server": 100 * (after.server - before.server) / hz / seconds,
        # PostgreSQL backends come and go: a sum over those alive at both ends is an estimate.
        "postgres": max(0.0, 100 * (after.postgres - before.postgres) / hz / seconds),
        "client": 100 * (after.client - before.client) / seconds,
        "machine": 100 * (after.busy - before.busy) / max(after.total - before.total, 1),
    }


# --------------------------------------------------------------------------------------------
# The load generator: a minimal HTTP/1.1 keep-alive client on asyncio streams. httpx costs about
# 1 ms of CPU per request, which on 2 cores would be taken from the server being measured.


class BadResponse(Exception):
    pass


class RawClient:
    """One keep-alive connection; POST and read a Content-Length response."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        assert self._reader is not None
        head = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        try:
            raw = await self._reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            lines = raw.decode("latin-1").lower().split("\r\n")
            length = next(
                (int(line[15:]) for line in lines if line.startswith("content-length:")), None
            )
            if length is None:
                raise BadResponse(f"HTTP {status} without content-length")
            content = await self._reader.readexactly(length)
            if "connection: close" in lines:
                await self.close()
        except BaseException:
            await self.close()  # the connection's state is unknown: start a fresh one
            raise
        return status, content

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)


class Events:
    """Distinct signed Messenger deliveries, one message each, as Meta would post them; made
    with the tests' fake platform (tests/fakes/messenger_server.py)."""

    def __init__(self, secret: str, run: str) -> None:
        from tests.fakes.messenger_server import FakeMessenger

        self._fake = FakeMessenger({}, app_secret=secret)
        self._run = run
        self._count = 0

    def new(self, client: int) -> tuple[str, bytes, str]:
        """(mid, body, X-Hub-Signature-256) of a fresh message from this client's resident."""
        self._count += 1
        mid = f"{MID_PREFIX}{self._run}-{self._count}"
        at = datetime.now(UTC)
        psid = str(24_000_000_000_000_001 + client)
        event = self._fake.message_event(PAGE_ID, psid, TEXT, at=at, mid=mid)
        body = self._fake.delivery(PAGE_ID, [event], at=at)
        return mid, body, self._fake.sign(body)


@dataclass
class Phase:
    """What one phase of one server saw: latencies in its measured window, all acknowledgements."""

    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    acked: list[tuple[str, bytes, str]] = field(default_factory=list)  # every 200, any time
    sent: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    @property
    def server_cpu_ms(self) -> float:
        if not self.ok or "server" not in self.cpu:
            return float("nan")
        return self.cpu["server"] / 100 * self.seconds * 1000 / self.ok

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    def error(self, error: BaseException | str) -> None:
        kind = error if isinstance(error, str) else type(error).__name__
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(str(error)[:300] if isinstance(error, str) else repr(error))


async def drive(
    server: Server,
    phase: Phase,
    *,
    concurrency: int,
    warmup: float,
    next_event: Any,
    until: float | None = None,
    kill_after: float | None = None,
) -> None:
    """`concurrency` keep-alive clients post `next_event(client)` deliveries for `warmup` +
    `phase.seconds` (latencies of the measured window only), or until the server is killed
    `kill_after` seconds in. Every 200 is kept, warm-up included, for the check of the inbox."""
    started = time.perf_counter()
    measure_from = started + warmup
    measure_to = measure_from + phase.seconds
    killed = asyncio.Event()
    path = "/webhooks/messenger"

    async def client(index: int) -> None:
        http = RawClient(server.port)
        try:
            while (
                time.perf_counter() < measure_to
                and phase.sent < MAX_REQUESTS
                and not Stop.requested
                and not killed.is_set()
            ):
                event = next_event(index)
                if event is None:
                    break
                _mid, body, signature = event
                phase.sent += 1
                t0 = time.perf_counter()
                status, error = 0, None
                try:
                    status, content = await asyncio.wait_for(
                        http.post(
                            path,
                            body,
                            {"content-type": "application/json", "x-hub-signature-256": signature},
                        ),
                        REQUEST_TIMEOUT,
                    )
                    if status != 200:
                        error = f"HTTP {status}: {content[:200]!r}"
                except (OSError, TimeoutError, asyncio.IncompleteReadError, BadResponse) as e:
                    error = e
                t1 = time.perf_counter()
                if status == 200:
                    phase.acked.append(event)
                if killed.is_set():
                    break  # what failed because of the SIGKILL is not an error
                if measure_from <= t1 < measure_to:
                    if error is None:
                        phase.latencies_ms.append((t1 - t0) * 1000)
                    else:
                        phase.error(error)
                if error is not None:
                    await asyncio.sleep(0.01)  # don't spin on a dead server
        finally:
            await http.close()

    async def sample_cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        pids = _tree(server.process.pid)
        before = CpuSample.take(pids)
        await asyncio.sleep(max(0.0, measure_to - time.perf_counter()))
        phase.cpu = cpu_percent(before, CpuSample.take(pids), phase.seconds)

    async def kill() -> None:
        assert kill_after is not None
        await asyncio.sleep(kill_after)
        _kill_group(server.process.pid)
        killed.set()

    jobs = [client(i) for i in range(concurrency)]
    if kill_after is not None:
        jobs.append(kill())
    else:
        jobs.append(sample_cpu())
    await asyncio.gather(*jobs)


# --------------------------------------------------------------------------------------------
# The inbox.


async def stored_mids(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT external_id FROM inbox_event WHERE channel = 'messenger'"
            " AND external_id LIKE $1",
            MID_PREFIX + "%",
        )
    finally:
        await conn.close()
    return {r["external_id"] for r in rows}


async def clean_inbox(dsn: str, *, vacuum: bool) -> int:
    """Delete what this bench stored, so every server starts from the same table."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        status = await conn.execute(
            "DELETE FROM inbox_event WHERE external_id LIKE $1", MID_PREFIX + "%"
        )
        if vacuum:
            await conn.execute("VACUUM (ANALYZE) inbox_event")
    finally:
        await conn.close()
    return int(status.split()[-1])


async def pg_settings(dsn: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        values = [
            f"{name}={await conn.fetchval(f'SHOW {name}')}"
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        ]
    finally:
        await conn.close()
    return ", ".join(values)


# --------------------------------------------------------------------------------------------
# One server: new events, duplicates, then new events until SIGKILL; then the inbox.


@dataclass
class Check:
    acked: int
    stored: int
    acked_missing: int  # answered 200 but not in the inbox: must be 0
    stored_unacked: int  # in the inbox, never answered 200 (in flight at the kill): allowed
    duplicates_stored: int  # rows the duplicate phase added: must be 0
    killed: bool


@dataclass
class Run:
    server: str
    phases: dict[str, Phase]
    check: Check


async def run_server(
    kind: str, workers: int, args: argparse.Namespace, dsn: str, var_dir: Path
) -> Run:
    await clean_inbox(dsn, vacuum=not args.no_vacuum)
    events = Events(APP_SECRET, secrets.token_hex(3))
    server = await start_server(kind, workers, var_dir)
    print(
        f"{server.name}: pid {server.process.pid} on {server.base}; "
        f"new {args.warmup:g}+{args.seconds:g} s, duplicates {args.dup_seconds:g} s",
        file=sys.stderr,
    )
    phases = {
        name: Phase(name, args.seconds if name == "new" else args.dup_seconds) for name in PHASES
    }
    killed = False
    try:
        await drive(
            server,
            phases["new"],
            concurrency=args.concurrency,
            warmup=args.warmup,
            next_event=events.new,
        )
        Stop.check()
        after_new = await stored_mids(dsn)
        # The duplicate path: events this server already stored, posted again as they were.
        stored_events = list(phases["new"].acked)
        cursor = iter(range(MAX_REQUESTS))

        def next_duplicate(_client: int) -> tuple[str, bytes, str] | None:
            if not stored_events:
                return None
            return stored_events[next(cursor) % len(stored_events)]

        await drive(
            server,
            phases["dup"],
            concurrency=args.concurrency,
            warmup=0.0,
            next_event=next_duplicate,
        )
        Stop.check()
        duplicates_stored = len(await stored_mids(dsn)) - len(after_new)
        for name, phase in phases.items():
            if server.process.returncode is not None:
                phase.error(f"server exited with code {server.process.returncode} during {name}")
        if args.kill and server.process.returncode is None:
            # New events again, and SIGKILL in the middle of the load: whatever was answered 200
            # must be in the inbox all the same.
            crash = Phase("kill", args.kill_after + 5)
            await drive(
                server,
                crash,
                concurrency=args.concurrency,
                warmup=0.0,
                next_event=events.new,
                kill_after=args.kill_after,
            )
            phases["new"].acked += crash.acked
            killed = True
    finally:
        await stop_server(server, kill=killed)
    Stop.check()
    stored = await stored_mids(dsn)
    acked = {e[0] for e in phases["new"].acked}
    check = Check(
        acked=len(acked),
        stored=len(stored),
        acked_missing=len(acked - stored),
        stored_unacked=len(stored - acked),
        duplicates_stored=duplicates_stored,
        killed=killed,
    )
    await clean_inbox(dsn, vacuum=False)
    return Run(server.name, phases, check)


# --------------------------------------------------------------------------------------------
# Report.


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def report(runs: list[Run], args: argparse.Namespace, settings: str) -> None:
    print()
    print(
        f"POST /webhooks/messenger, one signed message per request; {args.concurrency} clients, "
        f"warm-up {args.warmup:g} s, measured {args.seconds:g} s (new) and "
        f"{args.dup_seconds:g} s (duplicates); {os.cpu_count()} cores shared by the clients, "
        f"the server and PostgreSQL ({settings})"
    )
    header = (
        f"{'server':<9} {'events':<6} {'webhooks/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'ok':>7} {'errors':>6} {'srv cpu ms/req':>14}   "
        f"{'cpu: server':>11} {'client':>6} {'pg':>5} {'machine':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        for name, p in run.phases.items():
            cpu = p.cpu
            print(
                f"{run.server:<9} {name:<6} {p.rps:>10.0f} {p.percentile(50):>7.1f} "
                f"{p.percentile(99):>7.1f} {max(p.latencies_ms, default=float('nan')):>7.1f} "
                f"{p.ok:>7} {sum(p.errors.values()):>6} {p.server_cpu_ms:>14.2f}   "
                f"{_pct(cpu.get('server')):>11} {_pct(cpu.get('client')):>6} "
                f"{_pct(cpu.get('postgres')):>5} {_pct(cpu.get('machine')):>7}"
            )
    for run in runs:
        for p in run.phases.values():
            for sample in p.error_samples:
                print(f"  {run.server} {p.name} error: {sample}")
    by_name = {run.server: run for run in runs}
    for workers in args.workers:
        app, bare = by_name.get(f"app ×{workers}"), by_name.get(f"bare ×{workers}")
        if app is None or bare is None:
            continue
        for name in PHASES:
            a, b = app.phases[name], bare.phases[name]
            print(
                f"app/bare ×{workers} {name}: throughput {a.rps / b.rps if b.rps else float('nan'):.2f}x, "
                f"p50 {a.percentile(50) / b.percentile(50):.1f}x, "
                f"p99 {a.percentile(99) / b.percentile(99):.1f}x, "
                f"server CPU per request {a.server_cpu_ms / b.server_cpu_ms:.1f}x"
            )
    print("inbox afterwards (every event answered 200, warm-up and kill phase included):")
    for run in runs:
        c = run.check
        verdict = "OK" if c.acked_missing == 0 and c.duplicates_stored == 0 else "FAILED"
        print(
            f"  {run.server:<9} {verdict}: {c.acked} answered 200, {c.stored} rows stored, "
            f"{c.acked_missing} answered but missing, {c.duplicates_stored} rows added by "
            f"duplicates, {c.stored_unacked} stored without a 200"
            + (" (in flight at the SIGKILL)" if c.killed else "")
        )


def failed(runs: list[Run]) -> bool:
    return any(
        run.check.acked_missing
        or run.check.duplicates_stored
        or any(p.errors for p in run.phases.values())
        or not run.phases["new"].ok
        for run in runs
    )


# --------------------------------------------------------------------------------------------
# Main.


async def run(args: argparse.Namespace) -> int:
    bench_url = plain_pg_url(args.pg, args.database)
    try:
        created = await ensure_database(args.pg, args.database)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        where = make_url(args.pg).render_as_string(hide_password=True)
        raise SystemExit(f"cannot use PostgreSQL at {where}: {error}") from None
    print(
        f"database {args.database} {'created' if created else 'reused'} on "
        f"{make_url(bench_url).host}:{make_url(bench_url).port or 5432}",
        file=sys.stderr,
    )
    await prepare(bench_url, vacuum=not args.no_vacuum)
    os.environ["GANDAN_BENCH_DSN"] = bench_url
    # Create the development keys once, here: workers starting together would race for them.
    from api.bootstrap import bootstrap
    from api.config import Settings

    await bootstrap(Settings()).aclose()

    var_dir = Path(os.environ["GANDAN_VAR_DIR"])
    settings = await pg_settings(bench_url)
    runs: list[Run] = []
    try:
        for workers in args.workers:
            for kind in args.only or ("app", "bare"):
                runs.append(await run_server(kind, workers, args, bench_url, var_dir))
    finally:
        with contextlib.suppress(Exception):  # interrupted: leave no bench rows behind
            await clean_inbox(bench_url, vacuum=False)
    report(runs, args, settings)
    return 1 if failed(runs) else 0


async def run_until_signal(args: argparse.Namespace) -> int:
    """`run`; the first Ctrl-C or SIGTERM stops it cleanly (servers stopped), a second at once."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if Stop.requested:
            for pid in list(_children):
                _kill_group(pid)
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


def _workers(value: str) -> list[int]:
    try:
        counts = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list such as 1,2") from None
    if not counts or any(not 1 <= n <= 8 for n in counts):
        raise argparse.ArgumentTypeError("worker counts must be in [1, 8]")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up, not measured (2)")
    parser.add_argument(
        "--dup-seconds", type=float, default=5.0, help="measured window of duplicates (5)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument(
        "--workers", type=_workers, default=[1, 2], help="uvicorn worker counts to run (1,2)"
    )
    parser.add_argument(
        "--kill-after",
        type=float,
        default=1.0,
        help="seconds of new events before the SIGKILL that ends each server (1)",
    )
    parser.add_argument(
        "--no-kill", dest="kill", action="store_false", help="stop servers gracefully instead"
    )
    add_database_arguments(parser)
    parser.add_argument(
        "--only", action="append", choices=("app", "bare"), help="run only this server"
    )
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM ANALYZE")
    parser.add_argument("--serve", choices=("app", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Duplicates are the stored bodies posted again: they must still be inside the app's
    # five-minute freshness tolerance when they are.
    if not 0 < args.seconds <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--seconds must be in (0, 120] and --warmup in [0, 60]")
    if not 0 < args.dup_seconds <= 60 or not 0 < args.kill_after <= 30:
        parser.error("--dup-seconds must be in (0, 60] and --kill-after in (0, 30]")
    if not 1 <= args.concurrency <= 1000:
        parser.error("--concurrency must be in [1, 1000]")
    if make_url(args.pg).get_backend_name() != "postgresql":
        parser.error("--pg must be a postgresql:// URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        _die_with_bench()
        serve(args.serve, args.port, args.workers[0])
        return 0

    # The servers and this process read the same settings: drop any GANDAN_* the caller's shell
    # has, then set the bench's (a fresh var dir holds the development keys).
    for key in [k for k in os.environ if k.startswith("GANDAN_")]:
        del os.environ[key]
    var_dir = Path(tempfile.mkdtemp(prefix="gandan-bench-"))
    os.environ.update(
        GANDAN_DATABASE_URL=plain_pg_url(args.pg, args.database),
        GANDAN_VAR_DIR=str(var_dir),
        GANDAN_ENV="development",
        GANDAN_DEMO="false",
        GANDAN_AUTO_MIGRATE="false",
        GANDAN_WORKER_EMBEDDED="false",  # ingestion only: nothing turns the events into tips
        GANDAN_MESSENGER_APP_SECRET=APP_SECRET,
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
