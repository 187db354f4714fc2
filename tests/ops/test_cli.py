"""The `gandan` command against a throwaway SQLite database: migrate, export-schema, token."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.auth.tokens import DevTokens
from adapters.clock import SystemClock
from adapters.persistence.tables import metadata
from api.bootstrap import bootstrap
from api.cli import main
from api.config import Settings
from api.graphql.schema import build_schema
from domain.access import Actor
from domain.member import Member
from domain.services.organisation import MemberCreate, WardCreate


class Cli:
    """Runs `gandan …` with GANDAN_VAR_DIR and GANDAN_DATABASE_URL under a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.var_dir = root / "var"
        self.db_path = root / "data" / "gandan.db"
        self.db_path.parent.mkdir(parents=True)
        self.database_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.env = {"GANDAN_VAR_DIR": str(self.var_dir), "GANDAN_DATABASE_URL": self.database_url}

    def __call__(self, *args: str) -> Result:
        # catch_exceptions=False: a crash fails the test with its traceback instead of exit code 1.
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def settings(self) -> Settings:
        return Settings(database_url=self.database_url, var_dir=self.var_dir)

    def dev_tokens(self) -> DevTokens:
        return DevTokens(
            self.var_dir / "jwt-dev.key",
            issuer="gandan-dev",
            audience="gandan",
            clock=SystemClock(),
        )

    def add_members(self, *people: tuple[str, str, str]) -> list[Member]:
        """(ward code, full name, phone) → members, created through the organisation service."""

        async def create() -> list[Member]:
            container = bootstrap(self.settings())
            system = Actor.system_actor()
            wards: dict = {}
            members = []
            try:
                for code, name, phone in people:
                    if code not in wards:
                        wards[code] = await container.organisation.create_ward(
                            system, WardCreate(code=code, name=f"Phường {code}")
                        )
                    members.append(
                        await container.organisation.create_member(
                            system,
                            MemberCreate(ward_id=wards[code].id, full_name=name, phone=phone),
                        )
                    )
            finally:
                await container.aclose()
            return members

        return asyncio.run(create())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def migrated(cli: Cli) -> Cli:
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    return cli


def _tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _revision(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [rev for (rev,) in conn.execute("SELECT version_num FROM alembic_version")]


# --- migrate ------------------------------------------------------------------------------------


def test_migrate_creates_the_schema_and_is_idempotent(cli: Cli) -> None:
    first = cli("migrate")
    assert first.exit_code == 0, first.output
    assert "database at head" in first.output
    tables = _tables(cli.db_path)
    assert {"alembic_version", *metadata.tables} <= tables
    revision = _revision(cli.db_path)
    assert len(revision) == 1

    second = cli("migrate")
    assert second.exit_code == 0, second.output
    assert _tables(cli.db_path) == tables
    assert _revision(cli.db_path) == revision
    assert cli.var_dir.is_dir()


# --- export-schema ------------------------------------------------------------------------------


def test_export_schema_writes_the_sdl(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "out" / "schema.graphql"
    target.parent.mkdir()
    result = cli("export-schema", "--path", str(target))
    assert result.exit_code == 0, result.output
    assert str(target) in result.output
    sdl = target.read_text(encoding="utf-8")
    assert "type Query" in sdl
    assert "type Mutation" in sdl
    assert sdl == build_schema().as_str() + "\n"


# --- token --------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["0912345678", "+84 912 345 678", "84912345678"])
def test_token_for_a_member_by_phone(migrated: Cli, written: str) -> None:
    [member] = migrated.add_members(("TM", "Trần Văn Bảo", "0912345678"))
    result = migrated("token", "--member", written)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.count(".") == 2

    claims = asyncio.run(migrated.dev_tokens().verify(token))
    assert claims.subject == str(member.id)
    assert claims.expires_at is not None


def test_token_for_a_member_by_id_with_a_lifetime(migrated: Cli) -> None:
    [member] = migrated.add_members(("TM", "Trần Văn Bảo", "0912345678"))
    result = migrated("token", "--member", str(member.id), "--hours", "2")
    assert result.exit_code == 0, result.output
    claims = asyncio.run(migrated.dev_tokens().verify(result.output.strip()))
    assert claims.subject == str(member.id)
    lifetime = claims.expires_at - SystemClock().now()
    assert timedelta(hours=1, minutes=58) < lifetime <= timedelta(hours=2)


@pytest.mark.parametrize("ref", ["0987654321", "7d1f4a7e-9b8c-4c1e-9a55-2f1f0e6b7a10"])
def test_token_for_an_unknown_member_fails_with_a_message(migrated: Cli, ref: str) -> None:
    migrated.add_members(("TM", "Trần Văn Bảo", "0912345678"))
    result = migrated("token", "--member", ref)
    assert result.exit_code != 0
    assert f"no member {ref}" in result.output


@pytest.mark.parametrize("ref", ["12ab", "not a phone", "0000"])
def test_token_for_a_bad_phone_fails_with_a_message(migrated: Cli, ref: str) -> None:
    result = migrated("token", "--member", ref)
    assert result.exit_code != 0
    assert "not a valid phone number" in result.output
    assert ref in result.output


def test_token_for_a_phone_shared_by_several_members_asks_for_an_id(migrated: Cli) -> None:
    first, second = migrated.add_members(
        ("TM", "Trần Văn Bảo", "0912345678"), ("GL", "Trần Văn Bảo", "0912345678")
    )
    result = migrated("token", "--member", "0912345678")
    assert result.exit_code != 0
    assert "several members" in result.output
    assert str(first.id) in result.output
    assert str(second.id) in result.output


def test_token_ignores_a_random_uuid_that_is_not_a_member(migrated: Cli) -> None:
    ref = str(uuid.uuid4())
    result = migrated("token", "--member", ref)
    assert result.exit_code != 0
    assert "no member" in result.output
