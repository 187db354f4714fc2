"""Migrations: every revision goes up, down and up again, and head matches the declared tables."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.tables import metadata

PG_ADMIN_URL = os.environ.get("GANDAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (CI requires it)")
        pytest.skip("PostgreSQL is not reachable")


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new empty database of its own, not the session's migrated one."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}"
        return
    name = f"gandan_migrate_{uuid.uuid4().hex[:12]}"
    admin = await _pg_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await _pg_admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _describe(conn: sa.Connection) -> dict[str, Any]:
    """Everything a migration can change that we care about, in a comparable shape."""
    inspector = sa.inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ),
            "pk": sorted(inspector.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"])) for ix in inspector.get_indexes(table)
            ),
            "uniques": sorted(
                tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table)
            ),
        }
    if "alembic_version" in schema:
        schema["alembic_version"]["at"] = conn.scalar(
            sa.text("SELECT version_num FROM alembic_version")
        )
    return schema


async def _schema(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_describe)
    finally:
        await engine.dispose()


async def _upgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(migrate.upgrade, url, revision)


async def _downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(migrate.downgrade, url, revision)


def _without_version(schema: dict[str, Any]) -> dict[str, Any]:
    return {table: shape for table, shape in schema.items() if table != "alembic_version"}


async def test_revisions_form_one_chain_from_0001(empty_url: str) -> None:
    revisions = migrate.revisions(empty_url)
    assert revisions[0] == "0001"
    assert len(revisions) == len(set(revisions))


async def test_stairway_up_down_up_restores_each_step(empty_url: str) -> None:
    before = await _schema(empty_url)
    assert _without_version(before) == {}
    for revision in migrate.revisions(empty_url):
        await _upgrade(empty_url, revision)
        upgraded = await _schema(empty_url)
        assert upgraded["alembic_version"]["at"] == revision
        assert _without_version(upgraded) != _without_version(before), (
            f"revision {revision} changed nothing"
        )

        await _downgrade(empty_url, "-1")
        downgraded = await _schema(empty_url)
        # Alembic leaves its (then empty) version table behind after going down to base.
        assert _without_version(downgraded) == _without_version(before), (
            f"downgrade of {revision} did not restore the previous schema"
        )
        assert downgraded.get("alembic_version", {}).get("at") == before.get(
            "alembic_version", {}
        ).get("at")

        await _upgrade(empty_url, revision)
        assert await _schema(empty_url) == upgraded, f"re-upgrade of {revision} differs"
        before = upgraded
    assert set(_without_version(before)) == set(metadata.tables)


async def test_head_matches_the_declared_tables(empty_url: str) -> None:
    await _upgrade(empty_url, "head")
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: sa.Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(context, metadata)

            diffs = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    # No dialect filter is needed: the trigram GIN index reflects back identically on PostgreSQL
    # and as a plain index on SQLite, which is what tables.py declares there.
    assert diffs == []
