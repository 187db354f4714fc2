"""Production: refuses to start half-configured, mints no tokens, trusts the identity provider."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container
from api.cli import main
from api.config import Environment, Settings
from domain.access import Actor
from domain.member import Member
from domain.services.organisation import MemberCreate, WardCreate
from tests.fakes.identity_provider import DEFAULT_AUDIENCE as AUDIENCE
from tests.fakes.identity_provider import DEFAULT_ISSUER as ISSUER
from tests.fakes.identity_provider import FakeIdentityProvider
from tests.fakes.servers import LiveServer, serve_app

ME = "{ me { fullName } }"


# --- configuration ------------------------------------------------------------------------------


SECRET_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


def test_production_without_jwks_or_issuer_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        Settings(env="production")
    message = str(caught.value)
    assert "GANDAN_JWKS_URL" in message
    assert "GANDAN_JWT_ISSUER" in message
    assert "GANDAN_JWT_AUDIENCE" not in message  # it has a default


def test_production_names_only_what_is_missing() -> None:
    with pytest.raises(ValueError) as caught:
        Settings(env="production", jwks_url="https://idp.example.test/jwks", jwt_audience="")
    message = str(caught.value)
    assert "GANDAN_JWT_ISSUER" in message
    assert "GANDAN_JWT_AUDIENCE" in message
    assert "GANDAN_JWKS_URL" not in message


def test_production_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GANDAN_ENV", "production")
    with pytest.raises(ValueError, match="GANDAN_JWKS_URL"):
        Settings()
    monkeypatch.setenv("GANDAN_JWKS_URL", "https://idp.example.test/jwks")
    monkeypatch.setenv("GANDAN_JWT_ISSUER", ISSUER)
    with pytest.raises(ValueError, match="GANDAN_SECRET_KEYS"):
        Settings()
    monkeypatch.setenv("GANDAN_SECRET_KEYS", SECRET_KEYS)
    settings = Settings()
    assert settings.production
    assert settings.jwt_issuer == ISSUER
    assert settings.jwt_audience == "gandan"
    assert not settings.graphiql_enabled


def test_development_fills_in_a_local_issuer() -> None:
    settings = Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.jwt_issuer == "gandan-dev"


# --- the token command --------------------------------------------------------------------------


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "GANDAN_ENV": "production",
        "GANDAN_VAR_DIR": str(tmp_path / "var"),
        "GANDAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gandan.db'}",
        "GANDAN_SECRET_KEYS": SECRET_KEYS,
        **extra,
    }


def test_token_command_is_refused_in_production(tmp_path: Path) -> None:
    env = _production_env(
        tmp_path, GANDAN_JWKS_URL="https://idp.example.test/jwks", GANDAN_JWT_ISSUER=ISSUER
    )
    result = CliRunner().invoke(main, ["token", "--member", "+84900000001"], env=env)
    assert result.exit_code != 0
    assert "identity provider" in result.output
    assert not (tmp_path / "var" / "jwt-dev.key").exists(), "no development key in production"


def test_token_command_reports_incomplete_production_configuration(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["token", "--member", "+84900000001"], env=_production_env(tmp_path)
    )
    assert result.exit_code != 0
    assert "configuration" in result.output
    assert "GANDAN_JWKS_URL" in result.output
    assert "Traceback" not in result.output


# --- end to end over HTTP -----------------------------------------------------------------------


@pytest.fixture
def live_idp() -> FakeIdentityProvider:
    """Mints on the real clock: the production app verifies with the system clock."""
    return FakeIdentityProvider(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def live_idp_server(live_idp: FakeIdentityProvider) -> Iterator[LiveServer]:
    with serve_app(live_idp.app) as server:
        yield server


@pytest.fixture
async def production_app(
    database_url: str,
    db: AsyncEngine,
    live_idp: FakeIdentityProvider,
    live_idp_server: LiveServer,
    tmp_path: Path,
) -> AsyncIterator[Starlette]:
    settings = Settings(
        env="production",
        database_url=database_url,
        var_dir=tmp_path / "var",
        jwks_url=live_idp_server.url(live_idp.jwks_path),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        secret_keys=SECRET_KEYS,
        log_json=False,
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        await app.state.container.aclose()


@pytest.fixture
async def client(production_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _member(container: Container) -> Member:
    system = Actor.system_actor()
    ward = await container.organisation.create_ward(
        system, WardCreate(code="PROD-TM", name="Phường Tân Mai")
    )
    return await container.organisation.create_member(
        system, MemberCreate(ward_id=ward.id, full_name="Nguyễn Thị Hoa", phone="0912345678")
    )


async def _me(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": ME}, headers=headers)


async def test_production_app_trusts_tokens_from_the_identity_provider(
    production_app: Starlette, client: httpx.AsyncClient, live_idp: FakeIdentityProvider
) -> None:
    container: Container = production_app.state.container
    assert container.dev_tokens is None
    member = await _member(container)

    response = await _me(client, live_idp.mint(str(member.id)))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"fullName": "Nguyễn Thị Hoa"}}}

    # Anonymous callers are nobody, not an error.
    response = await _me(client, None)
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}

    # The JWKS was fetched over HTTP once and then served from the cache.
    await _me(client, live_idp.mint(str(member.id)))
    assert live_idp.jwks_fetches == 1


async def test_production_app_refuses_foreign_and_development_tokens(
    production_app: Starlette,
    client: httpx.AsyncClient,
    live_idp: FakeIdentityProvider,
    tmp_path: Path,
) -> None:
    from adapters.auth.tokens import DevTokens
    from adapters.clock import SystemClock

    member = await _member(production_app.state.container)
    subject = str(member.id)
    dev = DevTokens(tmp_path / "dev.key", issuer=ISSUER, audience=AUDIENCE, clock=SystemClock())
    refused = {
        "wrong audience": live_idp.mint(subject, audience="another-app"),
        "wrong issuer": live_idp.mint(subject, issuer="https://evil.example.test"),
        "unknown member": live_idp.mint("7d1f4a7e-9b8c-4c1e-9a55-2f1f0e6b7a10"),
        "subject not a member id": live_idp.mint("alice"),
        "development HS256": dev.issue(subject),
    }
    for reason, token in refused.items():
        response = await _me(client, token)
        assert response.status_code == 401, f"{reason}: {response.text}"
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED", reason
        assert response.headers["www-authenticate"].startswith("Bearer")
