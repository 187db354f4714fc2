"""Ops fixtures: the app on the session's database, and JSON log lines captured as dicts."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.config import Settings
from tests.fakes.logs import JsonLines


@pytest.fixture(autouse=True)
def _no_gandan_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read GANDAN_* variables; the developer's shell must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("GANDAN_") and name != "GANDAN_TEST_PG":
            monkeypatch.delenv(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, var_dir=tmp_path / "var", log_json=True)


@pytest.fixture
def container(settings: Settings, db: AsyncEngine, clock) -> Container:
    return bootstrap(settings, engine=db, clock=clock)


@pytest.fixture
def app(container: Container) -> Starlette:
    return create_app(container=container)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    handler = JsonLines()
    logger = logging.getLogger("gandan")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
