"""Partner fixtures: the API fixtures of tests/api, with a webhook sender the test closes, and a
clock near real time (webhook receivers refuse timestamps more than five minutes off).

Every test here runs on SQLite and on PostgreSQL (the `api` and `container` fixtures depend on the
session's `backend`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.partners.webhooks import StandardWebhookSender
from api.bootstrap import Container, bootstrap
from api.config import Settings
from tests.api.conftest import api, settings  # noqa: F401 (fixtures)
from tests.conftest import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """Moved by hand, but starting now: signatures carry this clock's time."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def container(
    settings: Settings,  # noqa: F811 (the fixture imported above)
    db: AsyncEngine,
    clock: FakeClock,
) -> AsyncIterator[Container]:
    """The container of tests/api, whose webhook connections are closed after each test."""
    sender = StandardWebhookSender(allow_private=True)
    yield bootstrap(settings, engine=db, clock=clock, webhook_sender=sender)
    await sender.aclose()
