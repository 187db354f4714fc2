"""API fixtures: the real ASGI app over httpx, on the session's database, with minted tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.auth.tokens import DevTokens
from adapters.clock import SystemClock
from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.config import Settings
from tests.fakes.servers import LiveServer, serve_app


class Api:
    """A GraphQL client for tests: `await api.gql(QUERY, variables, as_=member_id)`."""

    def __init__(self, client: httpx.AsyncClient, container: Container) -> None:
        self.client = client
        self.container = container

    def token_for(self, member_id: Any) -> str:
        assert self.container.dev_tokens is not None
        return self.container.dev_tokens.issue(str(member_id))

    def headers(self, as_: Any = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(as_)}"} if as_ is not None else {}

    async def post(
        self, query: str, variables: dict | None = None, *, as_: Any = None
    ) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers(as_),
        )

    async def gql(self, query: str, variables: dict | None = None, *, as_: Any = None) -> dict:
        """The `data` of a successful GraphQL response; fails the test on HTTP or GraphQL errors."""
        response = await self.post(query, variables, as_=as_)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def errors(
        self, query: str, variables: dict | None = None, *, as_: Any = None
    ) -> list[dict]:
        response = await self.post(query, variables, as_=as_)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("errors"), body
        return body["errors"]


@pytest.fixture
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=Path(tmp_path_factory.getbasetemp()) / "var",
        log_json=False,
    )


@pytest.fixture
async def container(settings: Settings, db: AsyncEngine, clock) -> AsyncIterator[Container]:
    container = bootstrap(settings, engine=db, clock=clock)
    yield container


@pytest.fixture
async def api(container: Container) -> AsyncIterator[Api]:
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, container)


@pytest.fixture(scope="class")
async def shared_api(
    database_url: str, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    """An `api` whose database is emptied only when its test class (or module) ends.

    For matrices over one arranged world, and for tests that arrange their own wards and so do not
    need an empty database. Tests relying on data kept across tests must not use `db` or `api`,
    which empty the database after every test.
    """
    import sqlalchemy as sa

    from adapters.clock import SystemClock
    from adapters.persistence.tables import metadata

    settings = Settings(
        database_url=database_url,
        var_dir=Path(tmp_path_factory.getbasetemp()) / "var",
        log_json=False,
    )
    container = bootstrap(settings, engine=engine, clock=SystemClock())
    transport = httpx.ASGITransport(app=create_app(container=container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, container)
    finally:
        async with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(sa.delete(table))


@pytest.fixture
def real_token(settings: Settings):
    """Tokens for the live server, which checks them against the real clock (not the FakeClock)."""
    tokens = DevTokens(
        settings.dev_key_file,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=SystemClock(),
    )
    return lambda member_id: tokens.issue(str(member_id))


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings.model_copy(update={"worker_embedded": False}))
    with serve_app(app, lifespan="on", ws="websockets-sansio") as server:
        yield server
