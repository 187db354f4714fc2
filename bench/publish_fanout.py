"""Fan-out of one bulletin to every group of the demo district, through the real delivery worker.

    uv run python bench/publish_fanout.py [--pg URL] [--latency-ms 50] [--fail-rate 0.10]
        [--concurrency 16]

Uses (or creates) the database `gandan_bench` with the demo district, as groups_connection.py
does, and points every group at a credentials ref configured for fake channel servers: one Zalo
app account for all Zalo groups and OAs, one token per Facebook page, one YouTube account and one
WordPress site for the portal sections. The four fakes (tests/fakes) run in one child process on
127.0.0.1, each behind a middleware that adds --latency-ms to every response and, in the failure
scenario, answers a seeded random --fail-rate share of the publishing calls with 503.

For each scenario the bulletin tables are emptied, then the district admin writes a bulletin with
a small video for the district unit HM and all its wards (530 groups), submits it, a commander of
HM approves it (530 deliveries written in that transaction), and the DeliveryService built by
api.bootstrap runs `run_once` in a loop until every delivery is sent or dead. A baseline sends the
same number of bare httpx POSTs to the same fakes, with the same concurrency and latency.

See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from groups_connection import (
    Interrupted,
    Stop,
    _die_with_parent,
    _machine_ticks,
    _run_loop,
    _ticks,
    add_database_arguments,
    ensure_database,
    plain_pg_url,
    prepare,
)
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakes

FAKES = ("zalo", "facebook", "youtube", "wordpress")
READY_TIMEOUT = 30.0
MAX_LOOPS = 200_000  # run_once calls per scenario, whatever the time: a hard bound
GRAPH_VERSION = "v25.0"
VIETNAM = timezone(timedelta(hours=7), "ICT")
BENCH_REFS = {
    "zalo": "bench/zalo",
    "youtube": "bench/youtube",
    "portal": "bench/portal",
}
ZALO_APP_ID = "4242424242"
ZALO_SECRET = "bench-zalo-secret"
ZALO_ACCESS = "bench-zalo-access-token"
ZALO_REFRESH = "bench-zalo-refresh-token"
YT_CLIENT_ID = "bench.apps.googleusercontent.com"
YT_CLIENT_SECRET = "GOCSPX-bench-secret"
YT_REFRESH = "1//bench-refresh-token"
YT_ACCESS = "ya29.bench-access-token"
WP_USER = "gandan"
WP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"


# --------------------------------------------------------------------------------------------
# The fake channel servers, in a child process (`--serve-fakes SPEC.json`).


def _label(fake: str, method: str, path: str) -> str:
    """Which channel an HTTP call serves (the Zalo host serves both Zalo channels)."""
    if fake == "zalo":
        if path.endswith("/group/message"):
            return "zalo_group"
        if "/article/" in path or path.endswith("/oa/message"):
            return "zalo_oa"
        return "zalo_oauth" if "access_token" in path else "zalo_other"
    if fake == "facebook":
        return "facebook_page"
    if fake == "youtube":
        return "youtube_token" if path == "/token" else "youtube_channel"
    return "portal"


def _publishing(method: str, label: str) -> bool:
    """The calls that may be failed on purpose: writes to the platform, not token refreshes."""
    return method in ("POST", "PUT") and label not in ("zalo_oauth", "youtube_token")


class BenchFake:
    """ASGI wrapper around one fake: latency, injected 503s, counters and a control API.

    GET /__bench/stats      counters and what the fake accepted
    POST /__bench/reset     ?fail_rate=&seed=: a fresh fake, fresh counters
    POST /__bench/noop      the baseline's target: the latency, then 200 {}
    """

    def __init__(self, name: str, factory: Callable[[], Any], latency: float) -> None:
        self.name = name
        self._factory = factory
        self.latency = latency
        self.fail_rate = 0.0
        self.rng = random.Random(0)
        self.fake = factory()
        self.calls: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.fake.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/__bench/stats":
            await _answer(send, 200, self.stats())
            return
        if path == "/__bench/reset":
            query = dict(
                pair.split("=", 1)
                for pair in scope.get("query_string", b"").decode().split("&")
                if "=" in pair
            )
            self.fail_rate = float(query.get("fail_rate", 0))
            self.rng = random.Random(int(query.get("seed", 0)))
            self.fake = self._factory()
            self.calls.clear()
            self.failed.clear()
            await _drain(receive)
            await _answer(send, 200, {"ok": True})
            return
        await asyncio.sleep(self.latency)
        if path == "/__bench/noop":
            await _drain(receive)
            self.calls["noop"] += 1
            await _answer(send, 200, {})
            return
        label = _label(self.name, method, path)
        self.calls[label] += 1
        if self.fail_rate and _publishing(method, label) and self.rng.random() < self.fail_rate:
            self.failed[label] += 1
            await _drain(receive)
            await _answer(send, 503, {"error": "bench: injected 503"})
            return
        await self.fake.app(scope, receive, send)

    def stats(self) -> dict[str, Any]:
        fake = self.fake
        accepted: dict[str, int] = {}
        if self.name == "zalo":
            accepted = {"zalo_group": len(fake.group_messages), "zalo_oa": len(fake.broadcasts)}
        elif self.name == "facebook":
            accepted = {"facebook_page": len(fake.posts)}
        elif self.name == "youtube":
            accepted = {"youtube_channel": len(fake.videos)}
        else:
            accepted = {"portal": len(fake.created)}
        return {"calls": dict(self.calls), "failed": dict(self.failed), "accepted": accepted}


async def _drain(receive: Any) -> None:
    for _ in range(100_000):  # bounded: a request body arrives in far fewer pieces
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _answer(send: Any, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _factories(spec: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    from tests.fakes.facebook_server import FakeGraphApi
    from tests.fakes.wordpress_server import WordPressFake
    from tests.fakes.youtube_server import FakeYouTube
    from tests.fakes.zalo_server import FakeZalo

    def zalo() -> FakeZalo:
        fake = FakeZalo(app_id=ZALO_APP_ID, secret_key=ZALO_SECRET)
        fake.groups = set(spec["zalo_groups"])
        fake.access_tokens[ZALO_ACCESS] = True
        fake.refresh_tokens.add(ZALO_REFRESH)
        return fake

    def facebook() -> FakeGraphApi:
        return FakeGraphApi(spec["facebook_pages"])

    def youtube() -> FakeYouTube:
        fake = FakeYouTube(
            client_id=YT_CLIENT_ID, client_secret=YT_CLIENT_SECRET, refresh_token=YT_REFRESH
        )
        fake.valid_tokens.add(YT_ACCESS)
        return fake

    def wordpress() -> WordPressFake:
        return WordPressFake(username=WP_USER, application_password=WP_PASSWORD)

    return {"zalo": zalo, "facebook": facebook, "youtube": youtube, "wordpress": wordpress}


async def _serve_fakes(spec: dict[str, Any]) -> None:
    import uvicorn

    latency = spec["latency_ms"] / 1000
    servers: list[uvicorn.Server] = []
    sockets: list[socket.socket] = []
    ports: dict[str, int] = {}
    for name, factory in _factories(spec).items():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports[name] = sock.getsockname()[1]
        config = uvicorn.Config(
            BenchFake(name, factory, latency),
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
        )
        servers.append(uvicorn.Server(config))
    loop = asyncio.get_running_loop()
    tasks = [
        asyncio.create_task(s.serve(sockets=[k])) for s, k in zip(servers, sockets, strict=True)
    ]
    for _ in range(int(READY_TIMEOUT / 0.01)):
        if all(s.started for s in servers) or any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.01)
    print(json.dumps({"ports": ports}), flush=True)
    # The parent closes our stdin to stop us; a server that stops on its own stops the rest.
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([*tasks, stdin_closed], return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    for sock in sockets:
        sock.close()
    os._exit(0)  # the executor thread still blocks on stdin when a signal stopped us


_children: set[int] = set()


def kill_children() -> None:
    """Last resort (an exception, a second Ctrl-C): kill the child we started, by pid."""
    for pid in list(_children):
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
        _children.discard(pid)


@dataclass
class Fakes:
    process: asyncio.subprocess.Process
    ports: dict[str, int]
    log: Path

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


async def start_fakes(var_dir: Path, spec: dict[str, Any]) -> Fakes:
    spec_path = var_dir / "fakes.json"
    spec_path.write_text(json.dumps(spec))
    log = var_dir / "fakes.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            "--serve-fakes",
            str(spec_path),
            cwd=str(ROOT),
            env={**os.environ, "GANDAN_BENCH_PARENT": str(os.getpid())},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
            start_new_session=True,  # Ctrl-C reaches the bench only, which stops the fakes
        )
    _children.add(process.pid)
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT)
        ports = json.loads(line)["ports"]
    except (TimeoutError, ValueError, KeyError):
        await stop_fakes_process(process)
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"the fake servers did not start; their log ends with:\n{tail}"
        ) from None
    return Fakes(process, ports, log)


async def stop_fakes_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None and process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
    _children.discard(process.pid)


async def control(fakes: Fakes, path: str, **params: Any) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        answers = {}
        for name in FAKES:
            method = "GET" if path.endswith("stats") else "POST"
            response = await client.request(
                method, f"{fakes.base(name)}/__bench/{path}", params=params or None
            )
            response.raise_for_status()
            answers[name] = response.json()
        return answers


def merge_stats(answers: dict[str, dict[str, Any]]) -> dict[str, Counter[str]]:
    merged: dict[str, Counter[str]] = {
        "calls": Counter(),
        "failed": Counter(),
        "accepted": Counter(),
    }
    for answer in answers.values():
        for key, counter in merged.items():
            counter.update(answer.get(key, {}))
    return merged


# --------------------------------------------------------------------------------------------
# CPU accounting: this process (bench and worker), the fakes, PostgreSQL, the machine.


def _postgres_ticks() -> int:
    """CPU of every PostgreSQL process, including backends that exited: the SQLAlchemy pool
    closes its overflow connections during a run, and their time then shows up only in the
    postmaster's cutime/cstime (children it has reaped)."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if (entry / "comm").read_text().strip() == "postgres":
                    stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    total = 0
    for fields in stats.values():
        total += int(fields[11]) + int(fields[12])  # utime + stime
        if int(fields[1]) not in stats:  # the postmaster: its parent is not PostgreSQL
            total += int(fields[13]) + int(fields[14])  # cutime + cstime
    return total


@dataclass(frozen=True)
class CpuSample:
    fakes: int | None
    postgres: int
    bench: float
    busy: int
    total: int

    @classmethod
    def take(cls, fakes_pid: int) -> CpuSample:
        busy, total = _machine_ticks()
        return cls(_ticks(fakes_pid), _postgres_ticks(), time.process_time(), busy, total)


def cpu_percent(before: CpuSample, after: CpuSample, seconds: float) -> dict[str, float]:
    """Shares of one core (machine: of all cores) between the two samples."""
    hz = os.sysconf("SC_CLK_TCK")
    found = {
        "bench": 100 * (after.bench - before.bench) / seconds,
        "postgres": 100 * (after.postgres - before.postgres) / hz / seconds,
        "machine": 100 * (after.busy - before.busy) / max(after.total - before.total, 1),
    }
    if before.fakes is not None and after.fakes is not None:
        found["fakes"] = 100 * (after.fakes - before.fakes) / hz / seconds
    return found


# --------------------------------------------------------------------------------------------
# The district: groups, credentials, the author and the approver.


@dataclass
class District:
    hm_id: uuid.UUID
    ward_ids: list[uuid.UUID]  # HM and every unit below it
    groups: dict[str, int]  # channel -> groups
    accounts: dict[str, Counter[str]]  # channel -> credentials ref -> groups
    zalo_groups: list[str]
    facebook_pages: dict[str, str]  # page id -> token
    admin_id: uuid.UUID
    commander_id: uuid.UUID | None


async def point_groups_at_fakes(conn: asyncpg.Connection) -> District:
    """Give every group of the district a bench credentials ref (idempotent)."""
    from adapters.demo.district import DEMO_ADMIN_PHONE, DISTRICT_CODE

    hm_id = await conn.fetchval("SELECT id FROM ward WHERE code = $1", DISTRICT_CODE)
    if hm_id is None:
        raise SystemExit(f"no unit {DISTRICT_CODE} in the bench database")
    ward_ids = [
        r["id"]
        for r in await conn.fetch(
            """
            WITH RECURSIVE below(id) AS (
              SELECT id FROM ward WHERE id = $1
              UNION SELECT w.id FROM ward w JOIN below b ON w.parent_id = b.id)
            SELECT id FROM below ORDER BY id
            """,
            hm_id,
        )
    ]
    await conn.execute(
        """
        UPDATE channel_group SET credentials_ref = CASE channel
            WHEN 'zalo_group' THEN $2
            WHEN 'zalo_oa' THEN $2
            WHEN 'facebook_page' THEN 'bench/facebook/' || external_id
            WHEN 'youtube_channel' THEN $3
            WHEN 'portal' THEN $4
            ELSE credentials_ref END
        WHERE ward_id = ANY($1::uuid[]) AND archived_at IS NULL
        """,
        ward_ids,
        BENCH_REFS["zalo"],
        BENCH_REFS["youtube"],
        BENCH_REFS["portal"],
    )
    rows = await conn.fetch(
        """
        SELECT channel, external_id, credentials_ref FROM channel_group
        WHERE ward_id = ANY($1::uuid[]) AND archived_at IS NULL
        """,
        ward_ids,
    )
    groups: Counter[str] = Counter(r["channel"] for r in rows)
    accounts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        accounts[r["channel"]][r["credentials_ref"]] += 1
    admin_id = await conn.fetchval(
        """
        SELECT m.id FROM member m JOIN role_grant g ON g.member_id = m.id AND g.role = 'admin'
        WHERE m.phone = $1 AND m.removed_at IS NULL LIMIT 1
        """,
        DEMO_ADMIN_PHONE,
    )
    commander_id = await conn.fetchval(
        """
        SELECT m.id FROM member m JOIN role_grant g ON g.member_id = m.id
        WHERE g.ward_id = $1 AND g.role = 'commander' AND m.removed_at IS NULL
          AND m.id <> $2
        ORDER BY m.id LIMIT 1
        """,
        hm_id,
        admin_id,
    )
    return District(
        hm_id=hm_id,
        ward_ids=ward_ids,
        groups=dict(groups),
        accounts=dict(accounts),
        zalo_groups=sorted(r["external_id"] for r in rows if r["channel"] == "zalo_group"),
        facebook_pages={
            r["external_id"]: f"EAAbench{r['external_id']}"
            for r in rows
            if r["channel"] == "facebook_page"
        },
        admin_id=admin_id,
        commander_id=commander_id,
    )


async def _bench_commander(container: Any) -> uuid.UUID:
    """The member the bench appoints: the first commander of the first ward."""
    import sqlalchemy as sa

    from adapters.demo.district import demo_accounts
    from domain.access import Role

    phone = next(a.phone for a in demo_accounts() if a.role == Role.COMMANDER.value)
    async with container.engine.connect() as conn:
        return await conn.scalar(sa.text("SELECT id FROM member WHERE phone = :p"), {"p": phone})


async def ensure_commander(container: Any, district: District) -> uuid.UUID:
    """A commander of HM who is not the author: the demo has none, so appoint a ward commander
    (revoked again by `revoke_commander` at the end)."""
    if district.commander_id is not None:
        return district.commander_id
    from domain.access import Actor, Role
    from domain.ids import MemberId, WardId
    from domain.services.organisation import RoleChange

    member_id = await _bench_commander(container)
    await container.organisation.assign_role(
        Actor.system_actor(),
        RoleChange(MemberId(member_id), WardId(district.hm_id), Role.COMMANDER),
    )
    district.commander_id = member_id
    return member_id


async def revoke_commander(district: District) -> None:
    """Leave the demo as its loader made it: a grant more in HM makes the loader think the unit
    incomplete and load it again on every run. Only the bench's own appointee is revoked (also
    one left behind by an interrupted run); a commander someone else appointed stays."""
    if district.commander_id is None:
        return
    from api.bootstrap import bootstrap
    from api.config import Settings
    from domain.access import Actor, Role
    from domain.ids import MemberId, WardId
    from domain.services.organisation import RoleChange

    container = bootstrap(Settings())
    try:
        if district.commander_id != await _bench_commander(container):
            return
        await container.organisation.revoke_role(
            Actor.system_actor(),
            RoleChange(MemberId(district.commander_id), WardId(district.hm_id), Role.COMMANDER),
        )
    finally:
        await container.aclose()


def credentials_config(fakes: Fakes, district: District) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {
        BENCH_REFS["zalo"]: {
            "app_id": ZALO_APP_ID,
            "secret_key": ZALO_SECRET,
            "access_token": ZALO_ACCESS,
            "refresh_token": ZALO_REFRESH,
            "default_cover_url": "http://127.0.0.1:8000/static/cover.png",
        },
        BENCH_REFS["youtube"]: {
            "client_id": YT_CLIENT_ID,
            "client_secret": YT_CLIENT_SECRET,
            "refresh_token": YT_REFRESH,
            "access_token": YT_ACCESS,
        },
        BENCH_REFS["portal"]: {
            "wordpress_url": fakes.base("wordpress"),
            "username": WP_USER,
            "application_password": WP_PASSWORD,
        },
    }
    for page, token in district.facebook_pages.items():
        config[f"bench/facebook/{page}"] = {"page_access_token": token}
    return config


def endpoints(fakes: Fakes) -> Any:
    from adapters.channels.base import Endpoints

    yt = fakes.base("youtube")
    return Endpoints(
        zalo_api=fakes.base("zalo"),
        zalo_oauth=fakes.base("zalo"),
        facebook_graph=f"{fakes.base('facebook')}/{GRAPH_VERSION}",
        google_oauth_token=f"{yt}/token",
        youtube_upload=f"{yt}/upload/youtube/v3",
        youtube_api=f"{yt}/youtube/v3",
        public_base_url="http://127.0.0.1:8000",
    )


def small_mp4(payload: int = 96 * 1024) -> bytes:
    """An ISO base media file: `ftyp` (isom, mp41) then an `mdat` of `payload` bytes."""
    brands = b"isom" + (512).to_bytes(4, "big") + b"isommp41"
    ftyp = (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands
    data = random.Random(7).randbytes(payload)
    return ftyp + (8 + payload).to_bytes(4, "big") + b"mdat" + data


# --------------------------------------------------------------------------------------------
# The run of one scenario.


class BenchClock:
    """A fixed daytime moment (10:00 in Vietnam today) plus real elapsed time plus any jumps."""

    def __init__(self) -> None:
        today = datetime.now(VIETNAM).date()
        self.base = datetime.combine(today, clock_time(10, 0), VIETNAM).astimezone(UTC)
        self._t0 = time.perf_counter()
        self.jumped = 0.0

    def now(self) -> datetime:
        return self.base + timedelta(seconds=time.perf_counter() - self._t0 + self.jumped)

    def jump(self, seconds: float) -> None:
        self.jumped += max(0.0, seconds)


@dataclass
class Attempt:
    channel: str
    ok: bool
    seconds: float
    ended: float  # perf_counter


class TimedChannels:
    """Times every gateway.publish the worker makes (wraps the registry's `get`)."""

    def __init__(self, registry: Any) -> None:
        self._get = registry.get
        self.attempts: list[Attempt] = []
        self._wrapped: dict[Any, Any] = {}
        registry.get = self.get  # the DeliveryService holds this registry object

    def get(self, kind: Any) -> Any:
        if kind not in self._wrapped:
            self._wrapped[kind] = _TimedGateway(self._get(kind), kind.value, self.attempts)
        return self._wrapped[kind]


class _TimedGateway:
    def __init__(self, inner: Any, channel: str, attempts: list[Attempt]) -> None:
        self._inner = inner
        self.kind = inner.kind
        self._channel = channel
        self._attempts = attempts

    async def publish(self, target: Any, message: Any, *, idempotency_key: str) -> Any:
        started = time.perf_counter()
        ok = False
        try:
            receipt = await self._inner.publish(target, message, idempotency_key=idempotency_key)
            ok = True
            return receipt
        finally:
            ended = time.perf_counter()
            self._attempts.append(Attempt(self._channel, ok, ended - started, ended))

    async def reach(self, target: Any, external_id: str) -> Any:
        return await self._inner.reach(target, external_id)


@dataclass
class ChannelResult:
    channel: str
    deliveries: int = 0
    sent: int = 0
    dead: int = 0
    attempts: int = 0
    sandbox: int = 0
    calls: int = 0
    failed_calls: int = 0
    accepted: int = 0
    done_wall: float = float("nan")  # s from approval to the channel's last success
    done_clock: float = float("nan")
    limiter_floor: float = 0.0
    publish_ms: list[float] = field(default_factory=list)


@dataclass
class ScenarioResult:
    name: str
    fail_rate: float
    deliveries: int = 0
    approve_ms: float = float("nan")
    wall: float = float("nan")
    clock: float = float("nan")
    sent: int = 0
    dead: int = 0
    attempts: int = 0
    calls: int = 0
    failed_calls: int = 0
    accepted: int = 0
    sandbox: int = 0
    loops: int = 0
    worker_errors: int = 0
    timed_out: bool = False
    row_updates: int = -1  # UPDATEd delivery rows (pg_stat_user_tables), approval to the end
    publish_ms: list[float] = field(default_factory=list)
    e2e_s: list[float] = field(default_factory=list)
    channels: dict[str, ChannelResult] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    status: str = ""
    loop_started: float = 0.0  # perf_counter when the worker loop began (just after approval)
    delivery_rows: list[Any] = field(default_factory=list, repr=False)
    approved_at: datetime | None = None
    fake_stats: dict[str, Counter[str]] = field(default_factory=dict, repr=False)

    @property
    def rate(self) -> float:
        return self.sent / self.wall if self.wall > 0 else float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


RESET_SQL = """
DELETE FROM delivery_reach;
DELETE FROM delivery;
DELETE FROM bulletin_attachment;
DELETE FROM bulletin_target_group;
DELETE FROM bulletin_target_ward;
DELETE FROM bulletin_transition;
DELETE FROM bulletin;
DELETE FROM channel_token;
DELETE FROM channel_state;
"""
VACUUM_SQL = (
    "VACUUM (ANALYZE) delivery, delivery_reach, bulletin, bulletin_attachment, "
    "bulletin_target_group, bulletin_target_ward, bulletin_transition, channel_token, "
    "channel_state"
)
ROW_UPDATES_SQL = "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'delivery'"
PROGRESS_SQL = """
SELECT count(*) FILTER (WHERE status NOT IN ('sent', 'dead')) AS open,
       min(next_attempt_at) FILTER (WHERE status IN ('pending', 'failed')) AS next_due,
       min(lease_expires_at) FILTER (WHERE status = 'sending') AS lease
FROM delivery WHERE bulletin_id = $1
"""


async def delivery_row_updates(bench_url: str) -> int:
    """The table's UPDATE counter, once the backends that wrote have reported (they flush their
    statistics when they exit, a moment after the client closed the connection)."""
    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        seen = await conn.fetchval(ROW_UPDATES_SQL)
        for _ in range(20):
            await asyncio.sleep(0.25)
            now = await conn.fetchval(ROW_UPDATES_SQL)
            if now == seen:
                break
            seen = now
        return int(seen or 0)
    finally:
        await conn.close()


def limiter_floor(attempts_per_account: Counter[str], rate: float, burst: float) -> float:
    """The least time the per-account token buckets allow for these calls (from a full bucket)."""
    return max((max(0.0, (n - burst) / rate) for n in attempts_per_account.values()), default=0.0)


async def run_scenario(
    name: str,
    *,
    fail_rate: float,
    jump: bool,
    unlimited: bool,
    args: argparse.Namespace,
    bench_url: str,
    fakes: Fakes,
    district: District,
    var_dir: Path,
) -> ScenarioResult:
    from adapters.blobs import LocalBlobStore
    from api import bootstrap as bootstrap_module
    from api.config import Settings
    from domain.bulletin import Attachment, BulletinKind, MediaType
    from domain.ids import MemberId, WardId
    from domain.services.bulletins import BulletinDraft

    result = ScenarioResult(name, fail_rate)
    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        await conn.execute(RESET_SQL)
        await conn.execute(VACUUM_SQL)
    finally:
        await conn.close()
    await control(fakes, "reset", fail_rate=fail_rate, seed=args.seed)
    random.seed(args.seed)  # the worker's backoff jitter and YouTube's resume jitter

    saved_limits = dict(bootstrap_module.ACCOUNT_LIMITS)
    if unlimited:
        for kind in bootstrap_module.ACCOUNT_LIMITS:
            bootstrap_module.ACCOUNT_LIMITS[kind] = (1e9, 1e9)
    clock = BenchClock()
    blobs = LocalBlobStore(var_dir / "blobs")
    try:
        container = bootstrap_module.bootstrap(
            Settings(),
            clock=clock,
            endpoints=endpoints(fakes),
            channel_credentials=credentials_config(fakes, district),
            blobs=blobs,
        )
    finally:
        bootstrap_module.ACCOUNT_LIMITS.update(saved_limits)
    timed = TimedChannels(container.channels)
    try:
        commander_id = await ensure_commander(container, district)
        author = await container.organisation.actor_for(MemberId(district.admin_id))
        approver = await container.organisation.actor_for(MemberId(commander_id))
        video = small_mp4()
        key = await blobs.put(video, content_type="video/mp4", filename="canh-bao-lua-dao.mp4")
        draft = BulletinDraft(
            ward_id=WardId(district.hm_id),
            kind=BulletinKind.SCAM_WARNING,
            title=f"Cảnh báo thủ đoạn lừa đảo qua điện thoại ({name})",
            body=(
                "Gần đây xuất hiện các cuộc gọi giả danh cơ quan công an yêu cầu chuyển tiền "
                "để 'xác minh tài khoản'.\n"
                "Công an không bao giờ yêu cầu người dân chuyển tiền qua điện thoại. Khi nhận "
                "được cuộc gọi như vậy, hãy báo ngay cho công an phường."
            ),
            attachments=(
                Attachment(key, MediaType.VIDEO, "canh-bao-lua-dao.mp4", len(video), "video/mp4"),
            ),
            target_ward_ids=tuple(WardId(w) for w in district.ward_ids),
        )
        bulletin = await container.bulletins.create(author, draft)
        await container.bulletins.submit(author, bulletin.id, None)
        updates_before = await delivery_row_updates(bench_url)
        started = time.perf_counter()
        approved = await container.bulletins.approve(approver, bulletin.id, "bench")
        result.approve_ms = (time.perf_counter() - started) * 1000
        await drive_worker(container, clock, approved.id, result, args, jump, fakes)
        await collect(container, approved.id, result, timed, fakes)
    finally:
        await container.aclose()
    if result.approved_at is not None:
        result.row_updates = await delivery_row_updates(bench_url) - updates_before
    result.channels = per_channel(result, timed, district)
    return result


async def drive_worker(
    container: Any,
    clock: BenchClock,
    bulletin_id: Any,
    result: ScenarioResult,
    args: argparse.Namespace,
    jump: bool,
    fakes: Fakes,
) -> None:
    """run_once until every delivery is sent or dead: sleep (or jump the clock) when nothing is
    due, as a worker that polls exactly when the next delivery is due would."""
    log = logging.getLogger("bench")
    service = container.deliveries
    probe = await asyncpg.connect(plain_pg_url(args.pg, args.database), timeout=10)
    started = result.loop_started = time.perf_counter()
    deadline = started + args.timeout
    last_progress = started
    cpu_before = CpuSample.take(fakes.process.pid)
    try:
        for loop in range(MAX_LOOPS):
            Stop.check()
            result.loops = loop + 1
            if time.perf_counter() > deadline:
                result.timed_out = True
                break
            try:
                handled = await service.run_once(args.batch)
            except Exception:  # as the real worker: log, keep going
                log.exception("run_once failed")
                result.worker_errors += 1
                handled = 0
                await asyncio.sleep(0.1)
            if handled:
                last_progress = time.perf_counter()
                continue
            row = await probe.fetchrow(PROGRESS_SQL, bulletin_id)
            if row["open"] == 0:
                break
            now = clock.now()
            due = row["next_due"] or row["lease"]
            if due is None:
                await asyncio.sleep(0.01)
                continue
            wait = (due - now).total_seconds()
            if wait <= 0:
                continue  # due now: the last claim looked only at rows it had to postpone
            if jump:
                clock.jump(wait)
            else:
                await asyncio.sleep(min(wait, 1.0, max(0.0, deadline - time.perf_counter())))
    finally:
        elapsed = max(time.perf_counter() - started, 1e-9)
        result.cpu = cpu_percent(cpu_before, CpuSample.take(fakes.process.pid), elapsed)
        await probe.close()
    result.wall = last_progress - started
    result.clock = result.wall + (clock.jumped if jump else 0.0)


async def collect(
    container: Any,
    bulletin_id: Any,
    result: ScenarioResult,
    timed: TimedChannels,
    fakes: Fakes,
) -> None:
    from domain.access import Scope
    from domain.delivery import DeliveryStatus

    async with container.uow() as uow:
        bulletin = await uow.bulletins.get(bulletin_id, scope=Scope.all())
        (deliveries,) = await uow.deliveries.of_bulletins([bulletin_id], scope=Scope.all())
    assert bulletin is not None and bulletin.approved_at is not None
    result.status = bulletin.status.value
    result.deliveries = len(deliveries)
    result.sent = sum(d.status is DeliveryStatus.SENT for d in deliveries)
    result.dead = sum(d.status is DeliveryStatus.DEAD for d in deliveries)
    result.attempts = sum(d.attempts for d in deliveries)
    result.sandbox = sum(d.sandbox for d in deliveries)
    result.e2e_s = [
        (d.sent_at - bulletin.approved_at).total_seconds() for d in deliveries if d.sent_at
    ]
    result.publish_ms = [a.seconds * 1000 for a in timed.attempts if a.ok]
    stats = merge_stats(await control(fakes, "stats"))
    result.calls = sum(v for k, v in stats["calls"].items() if k != "noop")
    result.failed_calls = sum(stats["failed"].values())
    result.accepted = sum(stats["accepted"].values())
    result.delivery_rows = deliveries
    result.approved_at = bulletin.approved_at
    result.fake_stats = stats


def per_channel(
    result: ScenarioResult, timed: TimedChannels, district: District
) -> dict[str, ChannelResult]:
    from api.bootstrap import ACCOUNT_LIMITS
    from domain.channels import ChannelKind
    from domain.delivery import DeliveryStatus

    deliveries, approved_at = result.delivery_rows, result.approved_at
    stats = result.fake_stats or {"calls": Counter(), "failed": Counter(), "accepted": Counter()}
    channels: dict[str, ChannelResult] = {}
    for kind in ChannelKind:
        c = ChannelResult(kind.value)
        mine = [d for d in deliveries if d.channel is kind]
        if not mine:
            continue
        c.deliveries = len(mine)
        c.sent = sum(d.status is DeliveryStatus.SENT for d in mine)
        c.dead = sum(d.status is DeliveryStatus.DEAD for d in mine)
        c.attempts = sum(d.attempts for d in mine)
        c.sandbox = sum(d.sandbox for d in mine)
        c.calls = stats["calls"].get(kind.value, 0)
        c.failed_calls = stats["failed"].get(kind.value, 0)
        c.accepted = stats["accepted"].get(kind.value, 0)
        ok = [a for a in timed.attempts if a.channel == kind.value and a.ok]
        c.publish_ms = [a.seconds * 1000 for a in ok]
        if ok and c.sent == c.deliveries:
            c.done_wall = max(a.ended for a in ok) - result.loop_started
        sent_at = [d.sent_at for d in mine if d.sent_at]
        if approved_at and sent_at and c.sent == c.deliveries:
            c.done_clock = (max(sent_at) - approved_at).total_seconds()
        rate, burst = ACCOUNT_LIMITS[kind]
        # Attempts per account: every try takes a token, retries included.
        per_account: Counter[str] = Counter()
        by_group = {d.group_id: d.attempts for d in mine}
        refs = district.accounts.get(kind.value, Counter())
        if len(refs) == 1:
            per_account[next(iter(refs))] = sum(by_group.values())
        else:  # one account per group (Facebook pages)
            per_account.update({str(g): n for g, n in by_group.items()})
        c.limiter_floor = limiter_floor(per_account, rate, burst)
        channels[kind.value] = c
    return channels


# --------------------------------------------------------------------------------------------
# The baseline: bare POSTs, same count, same concurrency, same fakes and latency.


@dataclass
class Baseline:
    posts: int
    wall: float
    latencies_ms: list[float]
    errors: int


async def run_baseline(
    fakes: Fakes, district: District, concurrency: int, time_limit: float
) -> Baseline:
    await control(fakes, "reset", fail_rate=0, seed=0)
    # The same mix of hosts as the deliveries: Zalo for Zalo groups and OAs, and so on.
    host_of = {
        "zalo_group": "zalo",
        "zalo_oa": "zalo",
        "facebook_page": "facebook",
        "youtube_channel": "youtube",
        "portal": "wordpress",
    }
    targets = [
        f"{fakes.base(host_of[channel])}/__bench/noop"
        for channel, n in sorted(district.groups.items())
        for _ in range(n)
    ]
    random.Random(1).shuffle(targets)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in targets:
        queue.put_nowait(url)
    latencies: list[float] = []
    errors = 0
    body = json.dumps({"text": "x" * 400}).encode()
    deadline = time.perf_counter() + time_limit

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty() and time.perf_counter() < deadline and not Stop.requested:
            url = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                response = await client.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                if response.status_code != 200:
                    errors += 1
                    continue
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)

    # One shared client, as the worker has (bootstrap's httpx.AsyncClient defaults).
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return Baseline(len(targets), wall, latencies, errors)


# --------------------------------------------------------------------------------------------
# Report.


def _f(value: float, spec: str = ".2f") -> str:
    return "-" if value != value else format(value, spec)  # NaN -> "-"


def report(
    results: list[ScenarioResult], baseline: Baseline | None, args: argparse.Namespace
) -> None:
    print()
    print(
        f"Fan-out of one bulletin to {results[0].deliveries if results else '?'} groups; "
        f"latency {args.latency_ms:g} ms per response, worker concurrency {args.concurrency}, "
        f"batch {args.batch}, {os.cpu_count()} cores (worker, fakes and PostgreSQL share them)"
    )
    columns = ["baseline"] + [r.name for r in results]
    width = max(14, *(len(c) + 2 for c in columns))
    label_width = 40
    header = f"{'':<{label_width}}" + "".join(f"{c:>{width}}" for c in columns)
    print(header)
    print("-" * len(header))

    def row(label: str, base: str, values: list[str]) -> None:
        print(
            f"{label:<{label_width}}"
            + f"{base:>{width}}"
            + "".join(f"{v:>{width}}" for v in values)
        )

    b = baseline
    row(
        "deliveries (baseline: POSTs)",
        str(b.posts) if b else "-",
        [str(r.deliveries) for r in results],
    )
    row("approval: 1 tx writing the outbox, ms", "-", [_f(r.approve_ms, ".0f") for r in results])
    row("time until all sent, s (wall)", _f(b.wall) if b else "-", [_f(r.wall) for r in results])
    row("  on the bench clock, s (jumps incl.)", "-", [_f(r.clock) for r in results])
    row(
        "deliveries/s (wall)",
        _f(b.posts / b.wall, ".0f") if b else "-",
        [_f(r.rate, ".1f") for r in results],
    )
    row(
        "ratio to baseline (time)",
        "1.0x",
        [f"{r.wall / b.wall:.1f}x" if b and b.wall else "-" for r in results],
    )
    row("sent / dead", "-", [f"{r.sent} / {r.dead}" for r in results])
    row("attempts (sum over deliveries)", "-", [str(r.attempts) for r in results])
    row(
        "delivery rows UPDATEd (pg_stat)",
        "-",
        [str(r.row_updates) if r.row_updates >= 0 else "-" for r in results],
    )
    row(
        "HTTP calls to the fakes (503 injected)",
        str(b.posts) if b else "-",
        [f"{r.calls} ({r.failed_calls})" for r in results],
    )
    row("posts the fakes accepted", "-", [str(r.accepted) for r in results])
    row(
        "send latency p50 / p99, ms",
        f"{_f(pct(b.latencies_ms, 50), '.0f')} / {_f(pct(b.latencies_ms, 99), '.0f')}"
        if b
        else "-",
        [
            f"{_f(pct(r.publish_ms, 50), '.0f')} / {_f(pct(r.publish_ms, 99), '.0f')}"
            for r in results
        ],
    )
    row(
        "approval->sent p50 / p99, s (clock)",
        "-",
        [f"{_f(pct(r.e2e_s, 50), '.1f')} / {_f(pct(r.e2e_s, 99), '.1f')}" for r in results],
    )
    row("run_once calls", "-", [str(r.loops) for r in results])
    row(
        "cpu: bench+worker / fakes / pg",
        "-",
        [
            f"{_pc(r.cpu.get('bench'))}/{_pc(r.cpu.get('fakes'))}/{_pc(r.cpu.get('postgres'))}"
            for r in results
        ],
    )
    row("machine busy", "-", [_pc(r.cpu.get("machine")) for r in results])
    row("bulletin status", "-", [r.status for r in results])
    for r in results:
        problems = []
        if r.timed_out:
            problems.append(f"timed out after {args.timeout:g} s")
        if r.worker_errors:
            problems.append(f"{r.worker_errors} run_once failures (see the log above)")
        if r.sandbox:
            problems.append(f"{r.sandbox} deliveries went to the sandbox")
        if r.accepted != r.sent:
            problems.append(f"fakes accepted {r.accepted} posts for {r.sent} sent deliveries")
        if problems:
            print(f"  {r.name}: WARNING: " + "; ".join(problems))

    for r in results:
        print()
        print(f"{r.name}: per channel")
        head = (
            f"{'channel':<16}{'deliv':>6}{'sent':>6}{'dead':>5}{'tries':>6}{'calls':>6}{'503':>5}"
            f"{'done s':>8}{'clock s':>9}{'limiter floor s':>16}{'publish p50/p99 ms':>20}"
        )
        print(head)
        print("-" * len(head))
        for c in r.channels.values():
            print(
                f"{c.channel:<16}{c.deliveries:>6}{c.sent:>6}{c.dead:>5}{c.attempts:>6}"
                f"{c.calls:>6}{c.failed_calls:>5}{_f(c.done_wall):>8}{_f(c.done_clock):>9}"
                f"{_f(c.limiter_floor):>16}"
                f"{_f(pct(c.publish_ms, 50), '.0f') + ' / ' + _f(pct(c.publish_ms, 99), '.0f'):>20}"
            )


def _pc(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


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
    conn = await asyncpg.connect(bench_url, timeout=10)
    try:
        district = await point_groups_at_fakes(conn)
    finally:
        await conn.close()
    total = sum(district.groups.values())
    print(
        f"  {total} groups under HM: "
        + ", ".join(f"{n} {k}" for k, n in sorted(district.groups.items())),
        file=sys.stderr,
    )
    var_dir = Path(os.environ["GANDAN_VAR_DIR"])
    fakes = await start_fakes(
        var_dir,
        {
            "latency_ms": args.latency_ms,
            "zalo_groups": district.zalo_groups,
            "facebook_pages": district.facebook_pages,
        },
    )
    print(f"  fakes (pid {fakes.process.pid}) on ports {fakes.ports}", file=sys.stderr)
    results: list[ScenarioResult] = []
    baseline: Baseline | None = None
    try:
        known = {
            "a": ("A: latency", 0.0, False, False),
            "b": (f"B: +{args.fail_rate:.0%} 503", args.fail_rate, True, False),
            "u": ("U: no acct limits", 0.0, False, True),
        }
        for name, fail_rate, jump, unlimited in (known[s] for s in args.scenarios):
            print(f"scenario {name} …", file=sys.stderr)
            result = await run_scenario(
                name,
                fail_rate=fail_rate,
                jump=jump,
                unlimited=unlimited,
                args=args,
                bench_url=bench_url,
                fakes=fakes,
                district=district,
                var_dir=var_dir,
            )
            print(
                f"  {result.sent} sent, {result.dead} dead in {result.wall:.2f} s "
                f"({result.loops} run_once calls)",
                file=sys.stderr,
            )
            results.append(result)
        print("baseline …", file=sys.stderr)
        baseline = await run_baseline(fakes, district, args.concurrency, args.timeout)
    finally:
        await stop_fakes_process(fakes.process)
        await revoke_commander(district)
    report(results, baseline, args)
    bad = any(r.timed_out or r.worker_errors or r.sandbox or r.deliveries != total for r in results)
    return 1 if bad or (baseline and baseline.errors) else 0


async def run_until_signal(args: argparse.Namespace) -> int:
    """`run`; the first Ctrl-C or SIGTERM stops it cleanly (fakes stopped), a second at once."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if Stop.requested:
            kill_children()
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
    add_database_arguments(parser)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every response")
    parser.add_argument(
        "--fail-rate", type=float, default=0.10, help="share of publishing calls answered 503 in B"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="worker concurrency (16)")
    parser.add_argument("--batch", type=int, default=50, help="run_once limit (50)")
    parser.add_argument("--seed", type=int, default=20250101, help="seed of the injected 503s")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="give up a scenario after this many s"
    )
    parser.add_argument(
        "--scenarios",
        default="a,b,u",
        help="comma-separated, in order: a (latency), b (latency + --fail-rate 503s), "
        "u (as a, without the per-account rate limits: the worker's own cost); default a,b,u",
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip VACUUM ANALYZE after loading"
    )
    parser.add_argument("--serve-fakes", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 <= args.latency_ms <= 10_000 or not 0 <= args.fail_rate < 1:
        parser.error("--latency-ms must be in [0, 10000] and --fail-rate in [0, 1)")
    if not 1 <= args.concurrency <= 512 or not 1 <= args.batch <= 1000:
        parser.error("--concurrency must be in [1, 512] and --batch in [1, 1000]")
    if not 1 <= args.timeout <= 3600:
        parser.error("--timeout must be in [1, 3600]")
    if make_url(args.pg).get_backend_name() != "postgresql":
        parser.error("--pg must be a postgresql:// URL")
    args.scenarios = [s.strip().lower() for s in args.scenarios.split(",") if s.strip()]
    if not args.scenarios or not set(args.scenarios) <= {"a", "b", "u"}:
        parser.error("--scenarios takes a comma-separated list of a, b and u")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_fakes:
        _die_with_parent()
        _run_loop(_serve_fakes(json.loads(Path(args.serve_fakes).read_text())))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Settings come from the environment: drop the caller's GANDAN_*, set the bench's.
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
        GANDAN_WORKER_CONCURRENCY=str(args.concurrency),
        GANDAN_WORKER_BATCH=str(args.batch),
    )
    try:
        return _run_loop(run_until_signal(args))
    except (Interrupted, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        kill_children()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
