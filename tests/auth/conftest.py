"""Auth fixtures: a fake identity provider served over loopback HTTP, and clients for it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.identity_provider import DEFAULT_AUDIENCE as AUDIENCE
from tests.fakes.identity_provider import DEFAULT_ISSUER as ISSUER
from tests.fakes.identity_provider import FakeIdentityProvider
from tests.fakes.servers import LiveServer, serve_app


@pytest.fixture
def idp(clock) -> FakeIdentityProvider:
    """Mints tokens on the test's FakeClock, so expiry is under the test's control."""
    return FakeIdentityProvider(issuer=ISSUER, audience=AUDIENCE, now=clock.now)


@pytest.fixture
def idp_server(idp: FakeIdentityProvider) -> Iterator[LiveServer]:
    with serve_app(idp.app) as server:
        yield server


@pytest.fixture
def jwks_url(idp: FakeIdentityProvider, idp_server: LiveServer) -> str:
    return idp_server.url(idp.jwks_path)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture(autouse=True)
def _no_gandan_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read GANDAN_* variables; the developer's shell must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("GANDAN_") and name != "GANDAN_TEST_PG":
            monkeypatch.delenv(name)
