"""Answering residents' questions from the knowledge base, on SQLite and on PostgreSQL.

    uv run python bench/inquiry_matching.py [--seconds 5] [--concurrency 8]
        [--engines sqlite,postgresql] [--pg postgresql://postgres@127.0.0.1:5432/test]

For each engine the bench migrates a database (a SQLite file in a temporary directory, or the
database `gandan_bench` on the --pg server, created if missing, as groups_connection.py does),
builds the real container with `api.bootstrap.bootstrap`, seeds the 23 articles of
`adapters.knowledge.seed_procedures.SEED` and creates one ward to ask in. It then cycles through
the labelled questions of tests/data/inquiry_questions.tsv, in-process, one scenario after the
other, each with a warm-up and a measured window:

- direct:     `BM25Matcher.rank(question)` over the same articles, no database (the baseline,
              measured again beside each engine's rows);
- rank:       `ProcedureService.rank(question)` from the container: the fingerprint query that
              keeps the index fresh, then the same matcher;
- ask seq:    `InquiryService.ask(None, Ask(ward, question, APP))`, one at a time: rank, decide
              (auto-answer or route), store the inquiry and its history in one transaction;
- ask conc:   the same with --concurrency asyncio tasks sharing the container.

Afterwards it ranks every labelled question through each engine's ProcedureService and checks
that the answers (codes and confidences) are the same on both engines and as the direct matcher's,
and that every answered ask stored one inquiry. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from groups_connection import _run_loop, add_database_arguments, ensure_database, plain_pg_url
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
LABELLED = ROOT / "tests" / "data" / "inquiry_questions.tsv"
ENGINES = ("sqlite", "postgresql")
# The one ward this bench asks in. Top level, so the demo district's completeness counts (which
# other benches rely on in `gandan_bench`) never see it; its inquiries are deleted at the end.
BENCH_WARD = "BENCH-INQUIRY"
MAX_CALLS = 5_000_000  # per window, whatever the duration: a hard bound on every loop
ERROR_SAMPLES = 3

Answers = list[
    tuple[tuple[str, float], ...]
]  # per labelled question: (code, confidence), best first


@dataclass
class Figures:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else float("nan")

    def percentile(self, q: float) -> float:
        """Nearest rank, as the other benches compute it."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    def failed(self, error: BaseException) -> None:
        self.errors[type(error).__name__] += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(f"{type(error).__name__}: {error}"[:300])


@dataclass
class EngineRun:
    engine: str
    about: str
    rows: list[Figures]
    answers: Answers
    top1: int
    on_topic: int
    off_topic_auto: int
    off_topic: int
    outcomes: Counter[str]
    asked: int
    stored: int
    setup_seconds: float


def load_labelled() -> list[tuple[str, str]]:
    with LABELLED.open(encoding="utf-8") as f:
        return [(r["question"], r["expected"]) for r in csv.DictReader(f, delimiter="\t")]


def direct_matcher() -> Any:
    """The baseline: the matcher over SEED, built in-process, in the order the database lists
    the articles (by code), so that even its float sums match the service's."""
    from datetime import UTC, datetime

    from adapters.knowledge.matcher import BM25Matcher
    from adapters.knowledge.seed_procedures import SEED
    from domain.procedure import Procedure

    now = datetime(2026, 3, 15, tzinfo=UTC)
    matcher = BM25Matcher()
    articles = sorted(SEED, key=lambda article: article[0])
    matcher.build(
        [Procedure.draft(code, c, actor_id=None, now=now) for code, c in articles], "seed"
    )
    return matcher


# --------------------------------------------------------------------------------------------
# Measuring.


def measure_direct(
    matcher: Any, questions: Sequence[str], seconds: float, warmup: float
) -> Figures:
    """Plain calls in a loop: no event loop, no database."""
    figures = Figures("direct matcher (baseline)")
    cycle = itertools.cycle(questions)
    for duration, measured in ((warmup, False), (seconds, True)):
        if duration <= 0:
            continue
        started = time.perf_counter()
        end = started + duration
        for _ in range(MAX_CALLS):
            question = next(cycle)
            t0 = time.perf_counter()
            matcher.rank(question)
            t1 = time.perf_counter()
            if measured:
                figures.latencies_ms.append((t1 - t0) * 1000)
            if t1 >= end:
                break
        if measured:
            figures.seconds = time.perf_counter() - started
    return figures


async def measure(
    name: str,
    call: Callable[[str], Awaitable[object]],
    questions: Sequence[str],
    *,
    seconds: float,
    warmup: float,
    concurrency: int = 1,
) -> Figures:
    """`concurrency` tasks call `call` with the next question until the window closes; each
    call's latency is what its task waited. Errors are counted, in the warm-up too."""
    figures = Figures(name)
    cycle = itertools.cycle(questions)  # shared: the tasks take turns through the questions

    async def task(end: float, measured: bool) -> None:
        for _ in range(MAX_CALLS):
            question = next(cycle)
            t0 = time.perf_counter()
            try:
                await call(question)
            except Exception as error:
                figures.failed(error)
                t1 = time.perf_counter()
            else:
                t1 = time.perf_counter()
                if measured:
                    figures.latencies_ms.append((t1 - t0) * 1000)
            if t1 >= end:
                return

    for duration, measured in ((warmup, False), (seconds, True)):
        if duration <= 0:
            continue
        started = time.perf_counter()
        await asyncio.gather(*(task(started + duration, measured) for _ in range(concurrency)))
        if measured:
            figures.seconds = time.perf_counter() - started
    return figures


# --------------------------------------------------------------------------------------------
# One engine.


async def database_for(engine_name: str, args: argparse.Namespace, tmp: Path) -> tuple[str, str]:
    """(URL, description) of a migrated database for the engine."""
    from adapters.persistence.migrate import upgrade_async

    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'gandan.db'}"
        await upgrade_async(url)
        return url, f"SQLite {sqlite3.sqlite_version}, file in {tmp}, WAL, synchronous=NORMAL"
    try:
        created = await ensure_database(args.pg, args.database)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        where = make_url(args.pg).render_as_string(hide_password=True)
        raise SystemExit(f"cannot use PostgreSQL at {where}: {error}") from None
    url = plain_pg_url(args.pg, args.database)
    await upgrade_async(url)
    conn = await asyncpg.connect(url, timeout=10)
    try:
        version = await conn.fetchval("SHOW server_version")
        fsync = await conn.fetchval("SHOW fsync")
        sync_commit = await conn.fetchval("SHOW synchronous_commit")
    finally:
        await conn.close()
    parsed = make_url(url)
    about = (
        f"PostgreSQL {version.split()[0]} at {parsed.host}:{parsed.port or 5432}, database "
        f"{args.database} ({'created' if created else 'reused'}), fsync={fsync}, "
        f"synchronous_commit={sync_commit}"
    )
    return url, about


async def bench_ward(container: Any) -> Any:
    """The bench's ward: created once, reused (emptied of inquiries) after an interrupted run."""
    from domain.access import Actor
    from domain.services.organisation import WardCreate

    async with container.uow() as uow:
        ward = await uow.wards.by_code(BENCH_WARD)
    if ward is not None:
        await delete_bench_rows(container.engine, ward.id, ward_too=False)
        return ward
    return await container.organisation.create_ward(
        Actor.system_actor(), WardCreate(code=BENCH_WARD, name="Phường đo hiệu năng hỏi đáp")
    )


async def delete_bench_rows(engine: Any, ward_id: Any, *, ward_too: bool) -> None:
    from adapters.persistence.tables import metadata

    inquiry = metadata.tables["inquiry"]
    transition = metadata.tables["inquiry_transition"]
    ward = metadata.tables["ward"]
    mine = sa.select(inquiry.c.id).where(inquiry.c.ward_id == ward_id)
    async with engine.begin() as conn:
        await conn.execute(sa.delete(transition).where(transition.c.inquiry_id.in_(mine)))
        await conn.execute(sa.delete(inquiry).where(inquiry.c.ward_id == ward_id))
        if ward_too:
            await conn.execute(sa.delete(ward).where(ward.c.id == ward_id))


async def stored_inquiries(engine: Any, ward_id: Any) -> int:
    from adapters.persistence.tables import metadata

    inquiry = metadata.tables["inquiry"]
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(inquiry).where(inquiry.c.ward_id == ward_id)
        return int((await conn.execute(query)).scalar_one())


async def check_knowledge_base(container: Any) -> None:
    """The published articles must be SEED exactly, or the engines would not answer alike (an
    admin may have edited an article in a reused `gandan_bench`)."""
    from adapters.knowledge.seed_procedures import SEED

    published = {p.code: p.content for p in await container.procedures.listed(None)}
    if published != dict(SEED):
        extra = sorted(set(published) - dict(SEED).keys())
        changed = sorted(c for c, content in SEED if published.get(c) != content)
        raise SystemExit(
            "the published knowledge base is not SEED: "
            f"{len(changed)} articles missing or edited ({', '.join(changed[:5])}), "
            f"{len(extra)} others published ({', '.join(extra[:5])})"
        )


async def run_engine(
    engine_name: str,
    args: argparse.Namespace,
    labelled: list[tuple[str, str]],
    matcher: Any,
    tmp: Path,
) -> EngineRun:
    from adapters.clock import SystemClock
    from adapters.knowledge.seed_procedures import SEED
    from adapters.persistence.engine import create_engine
    from api.bootstrap import bootstrap
    from api.config import Settings
    from domain.reporter import TipSource
    from domain.services.inquiries import AUTO_ANSWER_AT, Ask

    started = time.perf_counter()
    url, about = await database_for(engine_name, args, tmp)
    settings = Settings(
        database_url=url,
        var_dir=tmp / "var",
        env="development",
        demo=False,
        auto_migrate=False,
        log_level="WARNING",
        log_json=False,
    )
    engine = create_engine(url, pool_size=settings.db_pool_size)
    container = bootstrap(settings, engine=engine, clock=SystemClock())
    ward = None
    try:
        added = await container.procedures.seed(SEED)
        await check_knowledge_base(container)
        ward = await bench_ward(container)
        setup = time.perf_counter() - started
        print(
            f"{engine_name}: ready in {setup:.1f} s ({added} articles seeded, ward {ward.code})",
            file=sys.stderr,
            flush=True,
        )
        questions = [q for q, _ in labelled]
        outcomes: Counter[str] = Counter()
        asked = 0

        async def rank(question: str) -> object:
            return await container.procedures.rank(question)

        async def ask(question: str) -> object:
            nonlocal asked
            inquiry = await container.inquiries.ask(
                None, Ask(ward.id, question, source=TipSource.APP)
            )
            asked += 1
            outcomes[inquiry.status.value] += 1
            return inquiry

        window = {"seconds": args.seconds, "warmup": args.warmup}
        rows = [measure_direct(matcher, questions, **window)]
        rows.append(await measure("ProcedureService.rank", rank, questions, **window))
        rows.append(await measure("inquiryAsk sequential", ask, questions, **window))
        rows.append(
            await measure(
                f"inquiryAsk concurrent ({args.concurrency})",
                ask,
                questions,
                concurrency=args.concurrency,
                **window,
            )
        )

        answers: Answers = []
        top1 = on_topic = off_topic = off_topic_auto = 0
        for question, expected in labelled:
            ranked = await container.procedures.rank(question)
            answers.append(tuple((r.procedure.code, r.match.confidence) for r in ranked))
            if expected == "none":
                off_topic += 1
                off_topic_auto += bool(ranked) and ranked[0].match.confidence >= AUTO_ANSWER_AT
            else:
                on_topic += 1
                top1 += [r.procedure.code for r in ranked[:1]] == [expected]
        stored = await stored_inquiries(engine, ward.id)
        return EngineRun(
            engine=engine_name,
            about=about,
            rows=rows,
            answers=answers,
            top1=top1,
            on_topic=on_topic,
            off_topic_auto=off_topic_auto,
            off_topic=off_topic,
            outcomes=outcomes,
            asked=asked,
            stored=stored,
            setup_seconds=setup,
        )
    finally:
        if ward is not None:
            with contextlib.suppress(Exception):  # interrupted: leave no bench rows behind
                await delete_bench_rows(engine, ward.id, ward_too=True)
        await container.aclose()


# --------------------------------------------------------------------------------------------
# Report.


def report(runs: list[EngineRun], direct: Answers, args: argparse.Namespace, loop: str) -> bool:
    """Print the tables and checks; True when every check passed."""
    ok = True
    print()
    print(
        f"{len(direct)} labelled questions cycled; warm-up {args.warmup:g} s and measured "
        f"{args.seconds:g} s per row; {os.cpu_count()} cores shared with the database server; "
        f"Python {sys.version.split()[0]} on {loop}, in-process (no HTTP, no GraphQL)"
    )
    for run in runs:
        baseline = run.rows[0]
        print()
        print(f"{run.engine}: {run.about}")
        header = (
            f"{'scenario':<30} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'vs baseline':>11} {'answers':>8} {'errors':>6}"
        )
        print(header)
        print("-" * len(header))
        for row in run.rows:
            ratio = row.rate / baseline.rate if baseline.rate else float("nan")
            print(
                f"{row.name:<30} {row.rate:>10,.0f} {row.percentile(50):>8.3f} "
                f"{row.percentile(99):>8.3f} {ratio:>10.3f}x {len(row.latencies_ms):>8} "
                f"{sum(row.errors.values()):>6}"
            )
        for row in run.rows:
            for sample in row.error_samples:
                print(f"  {row.name} error: {sample}")
            ok = ok and not row.errors
        p50 = baseline.percentile(50)
        rank, seq, conc = run.rows[1], run.rows[2], run.rows[3]
        print(
            f"p50 latency vs baseline: rank {rank.percentile(50) / p50:.1f}x, "
            f"ask sequential {seq.percentile(50) / p50:.1f}x, ask concurrent "
            f"{conc.percentile(50) / p50:.1f}x; concurrency gains "
            f"{conc.rate / seq.rate:.2f}x over sequential asks"
        )
        outcomes = ", ".join(f"{n} {status}" for status, n in sorted(run.outcomes.items()))
        stored_ok = run.stored == run.asked
        ok = ok and stored_ok
        print(
            f"inquiries asked (warm-ups included): {run.asked} ({outcomes}); stored "
            f"{run.stored}: {'one per ask' if stored_ok else 'MISMATCH'}"
        )
        print(
            f"top-1 accuracy: {run.top1 / run.on_topic:.3f} ({run.top1} of {run.on_topic} "
            f"on-topic questions); off-topic auto-answered: {run.off_topic_auto} of "
            f"{run.off_topic}"
        )
    print()
    for run in runs:
        differ = [i for i, (a, b) in enumerate(zip(run.answers, direct, strict=True)) if a != b]
        ok = ok and not differ
        print(
            f"{run.engine} answers as the direct matcher: "
            f"{'yes' if not differ else f'NO ({len(differ)} questions differ)'}"
        )
    if len(runs) == 2:
        first, second = runs
        differ = [
            i for i, (a, b) in enumerate(zip(first.answers, second.answers, strict=True)) if a != b
        ]
        ok = ok and not differ
        print(
            f"same answers on both engines: {'yes' if not differ else 'NO'} "
            f"(ranked codes and confidences of all {len(direct)} labelled questions)"
        )
        for i in differ[:5]:
            print(f"  {i}: {first.engine} {first.answers[i]} / {second.engine} {second.answers[i]}")
    else:
        print("same answers on both engines: not checked (one engine run)")
    return ok


# --------------------------------------------------------------------------------------------
# Main.


async def run(args: argparse.Namespace, tmp: Path) -> int:
    from api.cli import tune_gc

    labelled = load_labelled()
    matcher = direct_matcher()
    direct = [tuple((m.code, m.confidence) for m in matcher.rank(q)) for q, _ in labelled]
    tune_gc()  # as `gandan serve` does once the app is built
    runs: list[EngineRun] = []
    for engine_name in args.engines:
        engine_tmp = tmp / engine_name
        engine_tmp.mkdir()
        runs.append(await run_engine(engine_name, args, labelled, matcher, engine_tmp))
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # uvloop when installed
    return 0 if report(runs, direct, args, loop) else 1


async def run_until_signal(args: argparse.Namespace, tmp: Path) -> int:
    """`run`; the first Ctrl-C or SIGTERM stops it at the end of the current call (at worst, of
    the direct matcher's window), deleting the bench's rows; a second one exits at once."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    stopping = False

    def on_signal() -> None:
        nonlocal stopping
        if stopping:
            os._exit(130)
        stopping = True
        print("stopping…", file=sys.stderr, flush=True)
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await run(args, tmp)
    except asyncio.CancelledError:
        if stopping:
            print("interrupted", file=sys.stderr)
            return 130
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _engines(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or any(n not in ENGINES for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("a comma-separated list of sqlite, postgresql")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window per row (5)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up per row, not measured (1)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="asyncio tasks of the concurrent ask row (8)"
    )
    parser.add_argument(
        "--engines",
        type=_engines,
        default=list(ENGINES),
        help="engines to run, in this order (sqlite,postgresql)",
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--seconds must be in (0, 120] and --warmup in [0, 60]")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be in [1, 256]")
    if make_url(args.pg).get_backend_name() != "postgresql":
        parser.error("--pg must be a postgresql:// URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The container reads only the settings the bench gives it: drop any GANDAN_* of the shell.
    for key in [k for k in os.environ if k.startswith("GANDAN_")]:
        del os.environ[key]
    tmp = Path(tempfile.mkdtemp(prefix="gandan-bench-"))
    try:
        return _run_loop(run_until_signal(args, tmp))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
