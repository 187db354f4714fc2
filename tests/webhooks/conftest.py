"""A district whose wards receive tips on Zalo, Messenger and the portal, with the real app, the
real worker-side processor, and fake Zalo and Messenger platforms on 127.0.0.1.

Ward A (code "A") has a Zalo OA, a GMF group and a Facebook page; ward B (code "B") has another
Zalo OA, on the same Zalo app. Each OA signs its webhooks with its own OA secret key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.channels.base import Endpoints
from adapters.channels.portal.webhook import sign as portal_sign
from adapters.persistence.inbox_tables import InboxEventRow
from adapters.persistence.tip_tables import TipMessageRow, TipRow
from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.config import Settings
from domain.access import Scope
from domain.channels import ChannelKind
from domain.group import Group
from domain.ports import TipFilter
from domain.tip import Tip, TipMessage
from domain.ward import Ward
from tests.builders import make_group, make_ward
from tests.fakes.messenger_server import FakeMessenger
from tests.fakes.servers import LiveServer, serve_app
from tests.fakes.zalo_server import FakeZalo

APP_ID = "4318561027719305123"
OA_A, OA_B = "579745863508352884", "579745863508352999"
OA_SECRET = {OA_A: "oa-secret-tan-mai-Zx81", OA_B: "oa-secret-tuong-mai-Qy27"}
GMF_GROUP = "g-7788990011"
PAGE_ID = "104857600123456"
PAGE_TOKEN = "EAAB-page-token-tan-mai"
FB_APP_SECRET = "fb-app-secret-3c1a9e"
VERIFY_TOKEN = "verify-me-7f2"
PORTAL_SECRET = "whsec_" + base64.b64encode(b"portal-signing-key-0123456789ab").decode()
PORTAL_KEY = base64.b64decode(PORTAL_SECRET.removeprefix("whsec_"))


@pytest.fixture(scope="session")
def zalo() -> FakeZalo:
    return FakeZalo(app_id=APP_ID, oa_id=OA_A)


@pytest.fixture(scope="session")
def zalo_server(zalo: FakeZalo) -> Iterator[LiveServer]:
    with serve_app(zalo.app) as server:
        yield server


@pytest.fixture(scope="session")
def messenger() -> FakeMessenger:
    return FakeMessenger({PAGE_ID: PAGE_TOKEN}, app_secret=FB_APP_SECRET)


@pytest.fixture(scope="session")
def messenger_server(messenger: FakeMessenger) -> Iterator[LiveServer]:
    with serve_app(messenger.app) as server:
        yield server


@pytest.fixture
def platforms(zalo: FakeZalo, messenger: FakeMessenger, clock: Any) -> Iterator[None]:
    """Both fakes, emptied of what earlier tests sent, keeping time with the test's clock."""
    zalo.cs_messages.clear()
    zalo.interactions.clear()
    zalo.cs_now = clock.now
    messenger.sent.clear()
    messenger.last_wrote.clear()
    messenger.blocked.clear()
    messenger.now = clock.now
    yield


def webhook_settings(tmp_path_factory: pytest.TempPathFactory, database_url: str, **over: Any):
    values: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": Path(tmp_path_factory.getbasetemp()) / "var",
        "log_json": False,
        "zalo_app_id": APP_ID,
        "zalo_webhook_secret_source": "oa",
        "messenger_app_secret": FB_APP_SECRET,
        "messenger_verify_token": VERIFY_TOKEN,
        "portal_webhook_secret": PORTAL_SECRET,
    }
    return Settings(**(values | over))


@pytest.fixture
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return webhook_settings(tmp_path_factory, database_url)


@pytest.fixture
def credentials(zalo: FakeZalo) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {
        "fb-tan-mai": {"page_access_token": PAGE_TOKEN, "app_secret": FB_APP_SECRET},
    }
    for ref, oa in (("zalo-tan-mai", OA_A), ("zalo-tuong-mai", OA_B)):
        access, refresh = zalo.issue_tokens(oa)
        config[ref] = {
            "app_id": APP_ID,
            "secret_key": zalo.secret_key,
            "oa_secret_key": OA_SECRET[oa],
            "access_token": access,
            "refresh_token": refresh,
        }
    return config


@pytest.fixture
def endpoints(zalo_server: LiveServer, messenger_server: LiveServer) -> Endpoints:
    return Endpoints(
        zalo_api=zalo_server.base_url,
        zalo_oauth=zalo_server.base_url,
        facebook_graph=messenger_server.url(f"/{FakeMessenger.version}"),
    )


@pytest.fixture
async def container(
    settings: Settings,
    db: AsyncEngine,
    clock: Any,
    endpoints: Endpoints,
    credentials: dict,
    platforms: None,
) -> AsyncIterator[Container]:
    container = bootstrap(
        settings, engine=db, clock=clock, endpoints=endpoints, channel_credentials=credentials
    )
    yield container
    for close in reversed(container._closers):
        await close()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class District:
    a: Ward
    b: Ward
    oa_a: Group
    oa_b: Group
    gmf: Group
    page: Group
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
async def district(container: Container) -> District:
    uow = container.uow
    a = await make_ward(uow, code="A", name="Phường Tân Mai")
    b = await make_ward(uow, code="B", name="Phường Tương Mai")
    return District(
        a=a,
        b=b,
        oa_a=await make_group(
            uow,
            a.id,
            channel=ChannelKind.ZALO_OA,
            external_id=OA_A,
            name="Công an phường Tân Mai",
            credentials_ref="zalo-tan-mai",
        ),
        oa_b=await make_group(
            uow,
            b.id,
            channel=ChannelKind.ZALO_OA,
            external_id=OA_B,
            name="Công an phường Tương Mai",
            credentials_ref="zalo-tuong-mai",
        ),
        gmf=await make_group(
            uow,
            a.id,
            channel=ChannelKind.ZALO_GROUP,
            external_id=GMF_GROUP,
            name="Tổ dân phố 3 Tân Mai",
            credentials_ref="zalo-tan-mai",
        ),
        page=await make_group(
            uow,
            a.id,
            channel=ChannelKind.FACEBOOK_PAGE,
            external_id=PAGE_ID,
            name="Công an phường Tân Mai (Facebook)",
            credentials_ref="fb-tan-mai",
        ),
    )


# Posting what the platforms would post.


async def post_zalo(
    client: httpx.AsyncClient, body: bytes, signature: str | None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    return await client.post("/webhooks/zalo", content=body, headers=headers)


async def post_messenger(
    client: httpx.AsyncClient, body: bytes, signature: str | None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post("/webhooks/messenger", content=body, headers=headers)


def portal_form(ward_code: str = "A", message: str = "", **fields: Any) -> bytes:
    form = {"ward_code": ward_code, "message": message, **fields}
    return json.dumps(form, ensure_ascii=False).encode()


def portal_headers(body: bytes, webhook_id: str, at: datetime, key: bytes = PORTAL_KEY) -> dict:
    timestamp = str(int(at.timestamp()))
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": portal_sign(key, webhook_id, timestamp, body),
    }


# Reading back what was stored.


async def inbox_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        query = sa.select(InboxEventRow.__table__).order_by(InboxEventRow.__table__.c.received_at)
        return list((await conn.execute(query)).all())


async def count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(table.__table__))


async def tip_count(engine: AsyncEngine) -> int:
    return await count(engine, TipRow)


async def message_count(engine: AsyncEngine) -> int:
    return await count(engine, TipMessageRow)


async def all_tips(container: Container) -> list[Tip]:
    async with container.uow() as uow:
        page = await uow.tips.page(
            TipFilter(newest_first=False), scope=Scope.all(), after=None, first=100
        )
    return page.items


async def thread(container: Container, tip: Tip) -> list[TipMessage]:
    async with container.uow() as uow:
        (messages,) = await uow.tips.messages_of([tip.id], scope=Scope.all())
    return messages
