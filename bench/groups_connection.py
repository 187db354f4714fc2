"""Load test of the `groups` connection: the full GraphQL stack against a bare asyncpg baseline.

    uv run python bench/groups_connection.py [--seconds 10] [--concurrency 32]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

Sets up (or reuses) the database `gandan_bench` on the --pg server with the demo district, mints
a development token for the district admin, then starts two servers one after the other, each
in its own uvicorn subprocess on loopback, and drives both with the same load generator:

- graphql: the real app (api.app.create_app) for the bench database;
- bare:    Starlette + an asyncpg pool, GET /groups?after=<id>, the same rows and the same SQL
           work (the caller's wards, the total, a page of 50 with ward and member count).

See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
PAGE = 50
MAX_REQUESTS = 5_000_000  # per server run, whatever the duration: a hard bound on every loop
REQUEST_TIMEOUT = 10.0
READY_TIMEOUT = 60.0

GRAPHQL_QUERY = """
query Groups($after: String) {
  groups(first: 50, after: $after) {
    totalCount
    pageInfo { endCursor hasNextPage }
    edges { node { id name channel externalId memberCount ward { name code } } }
  }
}
"""

# The bare server does, in plain SQL on one connection, what the GraphQL request needs:
# who the caller is and which wards they see (grants, plus every unit below an admin grant),
# then the total and one page of groups with their ward and member count.
SCOPE_SQL = """
WITH RECURSIVE
  me AS (SELECT id FROM member WHERE id = $1 AND removed_at IS NULL),
  grants AS (SELECT ward_id, role FROM role_grant WHERE member_id IN (SELECT id FROM me)),
  below(id) AS (
    SELECT w.id FROM ward w
    WHERE w.parent_id IN (SELECT ward_id FROM grants WHERE role = 'admin')
    UNION
    SELECT w.id FROM ward w JOIN below b ON w.parent_id = b.id
  )
SELECT CASE WHEN EXISTS (SELECT 1 FROM me)
  THEN ARRAY(SELECT ward_id FROM grants UNION SELECT id FROM below) END
"""
COUNT_SQL = """
SELECT count(*) FROM channel_group WHERE ward_id = ANY($1::uuid[]) AND archived_at IS NULL
"""
PAGE_SQL = """
SELECT g.id, g.name, g.channel, g.external_id, w.name AS ward_name, w.code AS ward_code,
       (SELECT count(*) FROM group_membership m WHERE m.group_id = g.id) AS member_count
FROM channel_group g JOIN ward w ON w.id = g.ward_id
WHERE g.ward_id = ANY($1::uuid[]) AND g.archived_at IS NULL
  AND ($2::uuid IS NULL OR g.id > $2::uuid)
ORDER BY g.id
LIMIT $3
"""


# --------------------------------------------------------------------------------------------
# The two servers, run in child processes (`--serve graphql|bare --port N`).


def _die_with_parent() -> None:
    """Linux: have the kernel send us SIGTERM if the bench process dies without cleaning up."""
    parent = int(os.environ.get("GANDAN_BENCH_PARENT", "0"))
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != parent:
        sys.exit(1)


def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        workers=1,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def _tune_gc(default_gc: bool) -> None:
    """What `gandan serve` does to the collector once the app is built, unless --default-gc."""
    if default_gc:
        return
    try:
        from api.cli import tune_gc
    except ImportError:  # an older tree: the server ran with CPython's defaults
        return
    tune_gc()


def serve_graphql(port: int, profile: str | None, default_gc: bool) -> None:
    from api.app import create_app
    from api.config import Settings
    from api.logs import configure_logging

    settings = Settings()  # GANDAN_* from the environment the bench prepared
    configure_logging(settings.log_level, json_lines=settings.log_json)
    app = create_app(settings)  # as `gandan serve`, without its migrate and demo steps
    _tune_gc(default_gc)
    if not profile:
        _uvicorn(app, port)
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(_uvicorn, app, port)
    finally:
        profiler.dump_stats(profile)


def bare_app(dsn: str, member_id: uuid.UUID, pool_size: int) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        # The app's SQLAlchemy pool: pool_size plus as many again in overflow.
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=2 * pool_size)
        try:
            yield
        finally:
            await pool.close()

    def json(body: object, status: int = 200) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    async def groups(request: Request) -> Response:
        raw = request.query_params.get("after")
        try:
            after = uuid.UUID(raw) if raw else None
        except ValueError:
            return json({"error": "bad cursor"}, 400)
        assert pool is not None
        async with pool.acquire() as conn:
            wards = await conn.fetchval(SCOPE_SQL, member_id)
            if wards is None:
                return json({"error": "unknown member"}, 401)
            total = await conn.fetchval(COUNT_SQL, wards)
            rows = await conn.fetch(PAGE_SQL, wards, after, PAGE + 1)
        items = [
            {
                "id": str(r["id"]),
                "name": r["name"],
                "channel": r["channel"],
                "externalId": r["external_id"],
                "memberCount": r["member_count"],
                "ward": {"name": r["ward_name"], "code": r["ward_code"]},
            }
            for r in rows[:PAGE]
        ]
        return json(
            {
                "totalCount": total,
                "endCursor": items[-1]["id"] if items else None,
                "hasNextPage": len(rows) > PAGE,
                "groups": items,
            }
        )

    async def healthz(_request: Request) -> Response:
        return json({"status": "ok"})

    return Starlette(
        routes=[Route("/groups", groups), Route("/healthz", healthz)], lifespan=lifespan
    )


def serve_bare(port: int, default_gc: bool) -> None:
    dsn = os.environ["GANDAN_BENCH_DSN"]
    member_id = uuid.UUID(os.environ["GANDAN_BENCH_MEMBER"])
    pool_size = int(os.environ.get("GANDAN_DB_POOL_SIZE", "10"))
    app = bare_app(dsn, member_id, pool_size)
    _tune_gc(default_gc)  # the same process settings as the GraphQL server
    _uvicorn(app, port)


# --------------------------------------------------------------------------------------------
# Setup: database, migrations, demo district, the admin and a token.


def plain_pg_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--pg and --database, the same in every bench that uses `ensure_database`."""
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="any database URL on the PostgreSQL server to use (an admin connection)",
    )
    parser.add_argument("--database", default="gandan_bench", help="bench database name")


async def ensure_database(admin_url: str, name: str) -> bool:
    """Create database `name` on the server if missing; True when it was created."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"unsafe database name {name!r}")
    conn = await asyncpg.connect(plain_pg_url(admin_url), timeout=10)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def prepare(bench_url: str, vacuum: bool) -> uuid.UUID:
    """Migrate, load the demo district (idempotent) and return the district admin's member id."""
    from adapters.demo.district import DEMO_ADMIN_PHONE, load_demo_district
    from adapters.persistence.engine import create_engine
    from adapters.persistence.migrate import upgrade_async

    started = time.perf_counter()
    await upgrade_async(bench_url)
    engine = create_engine(bench_url)
    shown = -1

    def progress(done: int, total: int) -> None:
        nonlocal shown
        tenth = done * 10 // max(total, 1)
        if tenth > shown:
            shown = tenth
            print(f"  demo district: {done}/{total} rows", file=sys.stderr, flush=True)

    try:
        summary = await load_demo_district(engine, progress=progress)
    finally:
        await engine.dispose()
    state = "already loaded" if summary.skipped else "loaded"
    print(
        f"  demo district {state}: {summary.wards} wards, {summary.groups} groups, "
        f"{summary.members} households ({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        if vacuum:
            # Fresh bulk loads have no statistics and an empty visibility map yet; autovacuum
            # would get there in production. Cheap at this size, and it keeps plans stable.
            await conn.execute("VACUUM (ANALYZE)")
        admins = await conn.fetch(
            """
            SELECT DISTINCT m.id FROM member m
            JOIN role_grant g ON g.member_id = m.id AND g.role = 'admin'
            WHERE m.phone = $1 AND m.removed_at IS NULL
            """,
            DEMO_ADMIN_PHONE,
        )
    finally:
        await conn.close()
    if len(admins) != 1:
        raise SystemExit(f"expected one admin with phone {DEMO_ADMIN_PHONE}, found {len(admins)}")
    return admins[0]["id"]


async def mint_token(member_id: uuid.UUID) -> str:
    """The same signer the server verifies with: same settings, same GANDAN_VAR_DIR key file."""
    from api.bootstrap import bootstrap
    from api.config import Settings

    container = bootstrap(Settings())
    try:
        assert container.dev_tokens is not None
        return container.dev_tokens.issue(str(member_id), ttl=timedelta(hours=2))
    finally:
        await container.aclose()


# --------------------------------------------------------------------------------------------
# Subprocesses.


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_children: set[int] = set()


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the run stops at the next request boundary and cleans up."""


class Stop:
    """Set by SIGINT/SIGTERM. Checked by every loop, so a cancellation swallowed somewhere in
    the HTTP client's shielded clean-up still ends the run within one request."""

    requested = False

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise Interrupted()


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_server(kind: str, var_dir: Path, profile: str | None, default_gc: bool) -> Server:
    port = free_port()
    log = var_dir / f"{kind}.log"
    command = [sys.executable, str(SCRIPT), "--serve", kind, "--port", str(port)]
    if profile:
        command += ["--profile", profile]
    if default_gc:
        command += ["--default-gc"]
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
    async with httpx.AsyncClient(timeout=2.0) as client:
        for _ in range(int(READY_TIMEOUT / 0.1) + 1):
            if process.returncode is not None or time.monotonic() > deadline or Stop.requested:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{server.base}/healthz")).status_code == 200:
                    return server
            await asyncio.sleep(0.1)
    await stop_server(server)
    Stop.check()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{kind} server did not become ready; its log ends with:\n{tail}")


async def stop_server(server: Server) -> None:
    process = server.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully on SIGINT
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
    _children.discard(process.pid)


def kill_leftovers(*, reap: bool = True) -> None:
    """Last resort (exceptions, a second Ctrl-C): kill the children we started, by pid. Inside
    the event loop, leave the reaping to asyncio, which waits for them."""
    for pid in list(_children):
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            if reap:
                os.waitpid(pid, 0)
        if reap:
            _children.discard(pid)


# --------------------------------------------------------------------------------------------
# CPU accounting, to tell which process was the bottleneck.


def _ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None  # gone (or not Linux)


def _postgres_ticks() -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _ticks(int(entry.name)) or 0
    return total


def _machine_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


@dataclass
class CpuSample:
    server: int | None
    postgres: int
    client: float
    busy: int
    total: int

    @classmethod
    def take(cls, server_pid: int) -> CpuSample:
        busy, total = _machine_ticks()
        return cls(_ticks(server_pid), _postgres_ticks(), time.process_time(), busy, total)


def cpu_percent(before: CpuSample, after: CpuSample, seconds: float) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    found = {
        # PostgreSQL backends come and go: a sum over those alive at both ends is an estimate.
        "postgres": max(0.0, 100 * (after.postgres - before.postgres) / hz / seconds),
        "client": 100 * (after.client - before.client) / seconds,
        "machine": 100 * (after.busy - before.busy) / max(after.total - before.total, 1),
    }
    if before.server is not None and after.server is not None:
        found["server"] = 100 * (after.server - before.server) / hz / seconds
    return found


# --------------------------------------------------------------------------------------------
# The load generator.


class BadResponse(Exception):
    pass


@dataclass(frozen=True)
class PageSeen:
    total: int
    ids: list[str]
    end_cursor: str | None
    has_next: bool
    rows: list[tuple]  # (id, name, channel, external id, member count, ward name, ward code)


@dataclass
class Target:
    name: str
    send: Callable[[httpx.AsyncClient, str | None], Any]  # coroutine -> httpx.Response
    parse: Callable[[httpx.Response], PageSeen]


def graphql_target(base: str, token: str) -> Target:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    bodies: dict[str | None, bytes] = {}

    def send(client: httpx.AsyncClient, after: str | None) -> Any:
        body = bodies.get(after)
        if body is None:
            body = orjson.dumps({"query": GRAPHQL_QUERY, "variables": {"after": after}})
            if len(bodies) < 1000:
                bodies[after] = body
        return client.post(f"{base}/graphql", content=body, headers=headers)

    def parse(response: httpx.Response) -> PageSeen:
        if response.status_code != 200:
            raise BadResponse(f"HTTP {response.status_code}: {response.text[:200]}")
        payload = orjson.loads(response.content)
        if payload.get("errors"):
            raise BadResponse(f"GraphQL error: {payload['errors'][0].get('message')}")
        conn = payload["data"]["groups"]
        nodes = [edge["node"] for edge in conn["edges"]]
        ids = [base64.b64decode(n["id"]).decode().partition(":")[2] for n in nodes]
        return PageSeen(
            total=conn["totalCount"],
            ids=ids,
            end_cursor=conn["pageInfo"]["endCursor"],
            has_next=conn["pageInfo"]["hasNextPage"],
            rows=[
                (
                    i,
                    n["name"],
                    n["channel"].lower(),
                    n["externalId"],
                    n["memberCount"],
                    (n["ward"] or {}).get("name"),
                    (n["ward"] or {}).get("code"),
                )
                for i, n in zip(ids, nodes, strict=True)
            ],
        )

    return Target("graphql", send, parse)


def bare_target(base: str) -> Target:
    def send(client: httpx.AsyncClient, after: str | None) -> Any:
        return client.get(f"{base}/groups", params={"after": after} if after else None)

    def parse(response: httpx.Response) -> PageSeen:
        if response.status_code != 200:
            raise BadResponse(f"HTTP {response.status_code}: {response.text[:200]}")
        payload = orjson.loads(response.content)
        items = payload["groups"]
        return PageSeen(
            total=payload["totalCount"],
            ids=[g["id"] for g in items],
            end_cursor=payload["endCursor"],
            has_next=payload["hasNextPage"],
            rows=[
                (
                    g["id"],
                    g["name"],
                    g["channel"].lower(),
                    g["externalId"],
                    g["memberCount"],
                    g["ward"]["name"],
                    g["ward"]["code"],
                )
                for g in items
            ],
        )

    return Target("bare", send, parse)


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    sent: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    @property
    def server_cpu_ms_per_request(self) -> float:
        """Server CPU time per successful request: steadier than req/s on a busy machine."""
        if not self.ok or "server" not in self.cpu:
            return float("nan")
        return self.cpu["server"] / 100 * self.seconds * 1000 / self.ok

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def drive(
    target: Target,
    *,
    concurrency: int,
    warmup: float,
    seconds: float,
    pages: int,
    server_pid: int,
) -> Result:
    """`concurrency` keep-alive clients walk pages (first, then follow the cursor up to `pages`
    pages, then start again) for `warmup` + `seconds`; only completions inside the measured
    window count."""
    result = Result(target.name, seconds)
    started = time.perf_counter()
    measure_from = started + warmup
    measure_to = measure_from + seconds
    cpu_before: CpuSample | None = None

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
            after: str | None = None
            offset = walked = 0
            while (
                time.perf_counter() < measure_to
                and result.sent < MAX_REQUESTS
                and not Stop.requested
            ):
                result.sent += 1
                t0 = time.perf_counter()
                page: PageSeen | None = None
                error: Exception | None = None
                try:
                    page = target.parse(await target.send(client, after))
                    expected = min(PAGE, page.total - offset)
                    if len(page.ids) != expected:
                        raise BadResponse(f"{len(page.ids)} items, expected {expected}")
                except (httpx.HTTPError, BadResponse, KeyError, TypeError, ValueError) as e:
                    error, page = e, None
                t1 = time.perf_counter()
                if measure_from <= t1 < measure_to:
                    if error is None:
                        result.latencies_ms.append((t1 - t0) * 1000)
                    else:
                        kind = type(error).__name__
                        result.errors[kind] += 1
                        if len(result.error_samples) < 5:
                            result.error_samples.append(f"{kind}: {error}")
                walked += 1
                if page is not None and page.has_next and walked < pages:
                    after, offset = page.end_cursor, offset + PAGE
                else:
                    after, offset, walked = None, 0, 0
                    if error is not None:
                        await asyncio.sleep(0.01)  # don't spin on a dead server

    async def sample_cpu() -> None:
        nonlocal cpu_before
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before = CpuSample.take(server_pid)
        await asyncio.sleep(max(0.0, measure_to - time.perf_counter()))
        result.cpu = cpu_percent(cpu_before, CpuSample.take(server_pid), seconds)

    await asyncio.gather(sample_cpu(), *(worker() for _ in range(concurrency)))
    return result


async def first_page(target: Target, base: str) -> PageSeen:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
        return target.parse(await target.send(client, None))


# --------------------------------------------------------------------------------------------
# Report.


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def report(results: list[Result], args: argparse.Namespace, same_rows: str | None) -> None:
    print()
    print(
        f"groups(first: {PAGE}) walk of up to {args.pages} pages; {args.concurrency} clients, "
        f"warm-up {args.warmup:g} s, measured window {args.seconds:g} s, "
        f"{os.cpu_count()} cores (load generator, server and PostgreSQL share them)"
    )
    header = (
        f"{'server':<8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'ok':>7} {'errors':>6} {'srv cpu ms/req':>14}   "
        f"{'cpu: server':>11} {'client':>6} {'pg':>5} {'machine':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cpu = r.cpu
        print(
            f"{r.name:<8} {r.rps:>8.0f} {r.percentile(50):>8.1f} {r.percentile(90):>8.1f} "
            f"{r.percentile(99):>8.1f} {max(r.latencies_ms, default=float('nan')):>8.1f} "
            f"{r.ok:>7} {r.failed:>6} {r.server_cpu_ms_per_request:>14.2f}   "
            f"{_pct(cpu.get('server')):>11} {_pct(cpu.get('client')):>6} "
            f"{_pct(cpu.get('postgres')):>5} {_pct(cpu.get('machine')):>7}"
        )
    for r in results:
        for sample in r.error_samples:
            print(f"  {r.name} error: {sample}")
    by_name = {r.name: r for r in results}
    if "graphql" in by_name and "bare" in by_name:
        g, b = by_name["graphql"], by_name["bare"]
        print(
            f"graphql/bare: throughput {g.rps / b.rps if b.rps else float('nan'):.2f}x, "
            f"p50 latency {g.percentile(50) / b.percentile(50):.1f}x, "
            f"p99 latency {g.percentile(99) / b.percentile(99):.1f}x, "
            f"server CPU per request {g.server_cpu_ms_per_request / b.server_cpu_ms_per_request:.1f}x"
        )
    if same_rows:
        print(same_rows)


def compare_first_pages(seen: dict[str, PageSeen]) -> str | None:
    if "graphql" not in seen or "bare" not in seen:
        return None
    g, b = seen["graphql"], seen["bare"]
    if g.total == b.total and g.rows == b.rows:
        return f"first page identical on both servers ({len(g.rows)} rows of {g.total})"
    diffs = sum(1 for x, y in zip(g.rows, b.rows, strict=False) if x != y)
    return (
        f"WARNING: first pages differ: totals {g.total} vs {b.total}, "
        f"{diffs} differing rows; e.g. {g.rows[:1]} vs {b.rows[:1]}"
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
    member_id = await prepare(bench_url, vacuum=not args.no_vacuum)
    os.environ["GANDAN_BENCH_DSN"] = bench_url
    os.environ["GANDAN_BENCH_MEMBER"] = str(member_id)
    token = await mint_token(member_id)
    print(f"district admin {member_id}; token minted", file=sys.stderr)

    var_dir = Path(os.environ["GANDAN_VAR_DIR"])
    results: list[Result] = []
    seen: dict[str, PageSeen] = {}
    for kind in args.only or ("graphql", "bare"):
        profile = args.profile if kind == "graphql" else None
        server = await start_server(kind, var_dir, profile, args.default_gc)
        try:
            target = (
                graphql_target(server.base, token)
                if kind == "graphql"
                else bare_target(server.base)
            )
            seen[kind] = await first_page(target, server.base)
            print(
                f"{kind}: pid {server.process.pid} on {server.base}, "
                f"{seen[kind].total} groups visible; running {args.warmup:g}+{args.seconds:g} s",
                file=sys.stderr,
            )
            result = await drive(
                target,
                concurrency=args.concurrency,
                warmup=args.warmup,
                seconds=args.seconds,
                pages=args.pages,
                server_pid=server.process.pid,
            )
            Stop.check()
            if server.process.returncode is not None:
                result.errors["ServerExited"] += 1
                result.error_samples.append(
                    f"server exited with code {server.process.returncode}; see its log:\n"
                    + server.log.read_text(errors="replace")[-2000:]
                )
                result.cpu.pop("server", None)
            results.append(result)
        finally:
            await stop_server(server)
        if profile:
            print(f"graphql profile written to {profile}", file=sys.stderr)
    report(results, args, compare_first_pages(seen))
    return 1 if any(r.failed for r in results) else 0


async def run_until_signal(args: argparse.Namespace) -> int:
    """`run`; the first Ctrl-C or SIGTERM stops it cleanly (servers stopped), a second at once."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if Stop.requested:
            kill_leftovers(reap=False)  # the second one: no patience for a graceful stop
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up, not measured (2)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--pages", type=int, default=3, help="pages per walk before restart (3)")
    add_database_arguments(parser)
    parser.add_argument(
        "--only", action="append", choices=("graphql", "bare"), help="run only this server"
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip VACUUM ANALYZE after loading"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the GraphQL server into FILE (pstats)"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="run the servers with CPython's default GC settings, not those of `gandan serve`",
    )
    parser.add_argument("--serve", choices=("graphql", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 3600 or not 0 <= args.warmup <= 600:
        parser.error("--seconds must be in (0, 3600] and --warmup in [0, 600]")
    if not 1 <= args.concurrency <= 1000 or not 1 <= args.pages <= 100:
        parser.error("--concurrency must be in [1, 1000] and --pages in [1, 100]")
    if make_url(args.pg).get_backend_name() != "postgresql":
        parser.error("--pg must be a postgresql:// URL")
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    return args


def _run_loop(main: Any) -> int:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        _die_with_parent()
        if args.serve == "graphql":
            serve_graphql(args.port, args.profile, args.default_gc)
        else:
            serve_bare(args.port, args.default_gc)
        return 0

    # The servers and the token signer must read the same settings: drop any GANDAN_* the
    # caller's shell has, then set the bench's (a fresh var dir holds the dev signing key).
    for key in [k for k in os.environ if k.startswith("GANDAN_")]:
        del os.environ[key]
    var_dir = Path(tempfile.mkdtemp(prefix="gandan-bench-"))
    os.environ.update(
        GANDAN_DATABASE_URL=plain_pg_url(args.pg, args.database),
        GANDAN_VAR_DIR=str(var_dir),
        GANDAN_ENV="development",
        GANDAN_DEMO="false",
        GANDAN_AUTO_MIGRATE="false",
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
