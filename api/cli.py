"""The `gandan` command: serve, worker-free setup (migrate, demo), tokens and the schema file."""

from __future__ import annotations

import asyncio
import gc
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.config import Settings
from api.logs import configure_logging

if TYPE_CHECKING:
    from domain.services.membership_sync import SyncReport

SCHEMA_FILE = Path("schema.graphql")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None


@click.group(help="Gần Dân: one GraphQL API for ward police on every channel residents use.")
def main() -> None:
    pass


@main.command(help="Apply database migrations up to a revision (default: the latest).")
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    from adapters.persistence.migrate import upgrade

    settings = _settings()
    _ensure_var(settings)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")
    if revision == "head":
        asyncio.run(_seed_knowledge_base(settings))


async def _seed_knowledge_base(settings: Settings) -> None:
    """The procedure articles shipped with the product, added once; admins' edits are kept."""
    from adapters.knowledge.seed_procedures import SEED
    from api.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        added = await container.procedures.seed(SEED)
    finally:
        await container.aclose()
    if added:
        click.echo(f"knowledge base: {added} procedures added", err=True)


@main.command(help="Load the Hoàng Mai demo district (idempotent).")
def demo() -> None:
    settings = _settings()
    _ensure_var(settings)
    from adapters.persistence.migrate import upgrade

    upgrade(settings.database_url)
    asyncio.run(_seed_knowledge_base(settings))
    asyncio.run(_load_demo(settings))


async def _load_demo(settings: Settings) -> None:
    from adapters.demo.district import load_demo_district
    from adapters.persistence.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        with click.progressbar(
            length=100, label="Loading the Hoàng Mai demo district", file=sys.stderr
        ) as bar:
            shown = 0

            def progress(done: int, total: int) -> None:
                nonlocal shown
                target = int(done * 100 / max(total, 1))
                if target > shown:
                    bar.update(target - shown)
                    shown = target

            summary = await load_demo_district(engine, progress=progress)
    finally:
        await engine.dispose()
    if summary.skipped:
        click.echo("demo district already loaded", err=True)
    else:
        click.echo(
            f"demo district: {summary.wards} units, {summary.groups} groups, {summary.members} households",
            err=True,
        )


@main.command(help="Serve the API (GraphiQL at /graphql in development).")
@click.option("--host", default=None, help="Overrides GANDAN_HOST.")
@click.option("--port", default=None, type=int, help="Overrides GANDAN_PORT.")
def serve(host: str | None, port: int | None) -> None:
    import uvicorn

    from adapters.persistence.migrate import upgrade
    from api.app import create_app

    settings = _settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    if not settings.production:
        _ensure_var(settings)
        if settings.auto_migrate:
            upgrade(settings.database_url)
            asyncio.run(_seed_knowledge_base(settings))
        if settings.demo:
            asyncio.run(_load_demo(settings))
        _print_token_help(host or settings.host, port or settings.port)
    app = create_app(settings)
    tune_gc()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
    )


def tune_gc() -> None:
    """Garbage collection for a long-running server, once the app is built.

    A GraphQL request allocates thousands of container objects: with CPython's default first
    threshold (700) that is several collections per request, and every full collection walks the
    ~140,000 objects that imports, the schema and the ORM left behind. Freezing those and raising
    the first threshold cut the collector from about a third of each request's CPU to about a
    tenth (bench/groups_connection.py). Only garbage in reference cycles waits a little longer;
    everything else is still freed at once by reference counting.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _print_token_help(host: str, port: int) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lines = [
        f"GraphiQL: http://{shown}:{port}/graphql",
        "Get a development token, then send it as 'Authorization: Bearer <token>':",
        "  uv run gandan token --member +84900000001      (district admin of the demo)",
    ]
    try:
        from adapters.demo.district import demo_accounts

        for role, ward, name, phone in demo_accounts()[1:3]:
            lines.append(f"  uv run gandan token --member {phone}      ({role}, {ward}, {name})")
    except ImportError:
        pass
    click.echo("\n".join(lines), err=True)


@main.command(help="Run the delivery worker: publish approved bulletins to their channels.")
def worker() -> None:
    import signal

    from api.bootstrap import bootstrap
    from api.worker import DeliveryWorker

    settings = _settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)

    async def run() -> None:
        container = bootstrap(settings)
        loop = DeliveryWorker(container)
        running = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(sig, loop.stop)
        try:
            await loop.run()
        finally:
            await container.aclose()

    asyncio.run(run())


@main.command(
    "sync-members",
    help="List the members of every Zalo group and OA once and link them to members by Zalo id.",
)
@click.option("--verbose", "-v", is_flag=True, help="Also list the groups that were skipped.")
def sync_members(verbose: bool) -> None:
    settings = _settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    reports = asyncio.run(_sync_members(settings))
    for report in reports:
        head = f"{report.group_name} ({report.channel.value}, {report.group_id})"
        counts = (
            f"seen {report.seen}, linked {report.linked}, created {report.created}, "
            f"left {report.left}"
        )
        if report.skipped:
            if verbose:
                click.echo(f"{head}: skipped, {report.skipped}")
        elif report.error:
            click.echo(f"{head}: {counts}; FAILED: {report.error}")
        elif not report.complete:
            click.echo(f"{head}: {counts}; listed only in part, nobody removed")
        else:
            click.echo(f"{head}: {counts}")
    failed = sum(1 for r in reports if r.error)
    skipped = sum(1 for r in reports if r.skipped)
    click.echo(
        f"{len(reports) - failed - skipped} groups synced, {failed} failed, {skipped} skipped"
        + (" (-v lists them with the reason)" if skipped and not verbose else "")
    )
    if failed:
        raise click.ClickException(f"{failed} of {len(reports)} groups failed to sync")


async def _sync_members(settings: Settings) -> list[SyncReport]:
    from api.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        return await container.membership.sync_all()
    finally:
        await container.aclose()


@main.command(help="Mint a development token for a member (by id or phone). Refused in production.")
@click.option("--member", "member_ref", required=True, help="Member id (UUID) or phone number.")
@click.option(
    "--hours",
    default=None,
    type=int,
    help="Lifetime in hours (default GANDAN_DEV_TOKEN_TTL_HOURS).",
)
def token(member_ref: str, hours: int | None) -> None:
    settings = _settings()
    if settings.production:
        raise click.ClickException("tokens are issued by the identity provider in production")
    click.echo(asyncio.run(_mint(settings, member_ref, hours or settings.dev_token_ttl_hours)))


async def _mint(settings: Settings, member_ref: str, hours: int) -> str:
    from api.bootstrap import bootstrap
    from domain.access import Scope
    from domain.errors import DomainError
    from domain.phone import normalise_phone
    from domain.ports import MemberFilter

    container = bootstrap(settings)
    try:
        async with container.uow() as uow:
            try:
                member = await uow.members.get(uuid.UUID(member_ref), scope=Scope.all())
                matches = [member] if member and not member.removed else []
            except ValueError:
                try:
                    phone = normalise_phone(member_ref)
                except DomainError as error:
                    raise click.ClickException(error.problems[0].message.en) from None
                page = await uow.members.page(
                    MemberFilter(phone=phone), scope=Scope.all(), after=None, first=10
                )
                matches = page.items
        if not matches:
            raise click.ClickException(f"no member {member_ref}")
        if len(matches) > 1:
            ids = ", ".join(str(m.id) for m in matches)
            raise click.ClickException(
                f"{member_ref} belongs to several members; pass one id: {ids}"
            )
        assert container.dev_tokens is not None
        return container.dev_tokens.issue(str(matches[0].id), ttl=timedelta(hours=hours))
    finally:
        await container.aclose()


@main.group("partner-client", help="Integration partners' OAuth2 clients (bootstrapping, ops).")
def partner_client() -> None:
    pass


@partner_client.command(
    "create",
    help="Register a partner for some units and print its client id and secret (shown once).",
)
@click.option("--name", required=True, help="The partner's name.")
@click.option(
    "--wards", required=True, help="Codes of the units it follows, comma-separated (HM-TANMAI,…)."
)
@click.option(
    "--scopes", default="tips:read", show_default=True, help="OAuth2 scopes, comma-separated."
)
def partner_client_create(name: str, wards: str, scopes: str) -> None:
    settings = _settings()
    codes = [c.strip() for c in wards.split(",") if c.strip()]
    wanted = [s.strip() for s in scopes.replace(" ", ",").split(",") if s.strip()]
    client_id, secret = asyncio.run(_create_partner_client(settings, name, codes, wanted))
    click.echo(f"client_id:     {client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo(
        "The secret is shown this once; only its hash is kept. Exchange both for an access"
        f" token at {settings.public_base_url.rstrip('/')}/oauth/token"
        " (grant_type=client_credentials).",
        err=True,
    )


async def _create_partner_client(
    settings: Settings, name: str, codes: list[str], scopes: list[str]
) -> tuple[str, str]:
    from api.bootstrap import bootstrap
    from domain.access import Actor
    from domain.errors import DomainError
    from domain.services.partners import PartnerClientCreate

    container = bootstrap(settings)
    try:
        ward_ids = []
        async with container.uow() as uow:
            for code in codes:
                ward = await uow.wards.by_code(code)
                if ward is None:
                    raise click.ClickException(f"no unit with code {code!r}")
                ward_ids.append(ward.id)
        try:
            client, secret = await container.partners.create_client(
                Actor.system_actor(),
                PartnerClientCreate(name=name, ward_ids=tuple(ward_ids), scopes=tuple(scopes)),
            )
        except DomainError as error:
            raise click.ClickException(error.problems[0].message.en) from None
        return client.client_id, secret
    finally:
        await container.aclose()


@partner_client.command("revoke", help="Revoke a partner client: its tokens stop working at once.")
@click.argument("client_id")
def partner_client_revoke(client_id: str) -> None:
    settings = _settings()
    asyncio.run(_revoke_partner_client(settings, client_id))
    click.echo(f"{client_id} revoked")


async def _revoke_partner_client(settings: Settings, client_id: str) -> None:
    from api.bootstrap import bootstrap
    from domain.access import Actor
    from domain.errors import DomainError

    container = bootstrap(settings)
    try:
        client = await container.partners.find_client(client_id)
        if client is None:
            raise click.ClickException(f"no partner client {client_id!r}")
        try:
            await container.partners.revoke_client(Actor.system_actor(), client.id)
        except DomainError as error:
            raise click.ClickException(error.problems[0].message.en) from None
    finally:
        await container.aclose()


@main.command("export-schema", help="Write the GraphQL SDL to schema.graphql (or --path).")
@click.option("--path", type=click.Path(path_type=Path), default=SCHEMA_FILE, show_default=True)
def export_schema(path: Path) -> None:
    from api.graphql.schema import build_schema

    path.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    click.echo(f"wrote {path}")


def _ensure_var(settings: Settings) -> None:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
