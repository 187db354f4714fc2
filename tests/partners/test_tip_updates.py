"""tipUpdates over graphql-transport-ws, against live servers on 127.0.0.1, on both engines.

A partner connects with its access token in connection_init and subscribes; tips are reported and
moved through the servers' HTTP API (tipSubmit, tipTriage), so each event travels as in
production: mutation → service → bus → subscription. Every frame the partner receives is checked
for the reporter's name, phone and the report's text: none may ever appear.

With two servers sharing Redis (GANDAN_REDIS_URL), a change made on one reaches a partner connected
to the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import websockets
from starlette.applications import Starlette
from strawberry import relay

from api.app import create_app
from api.config import Settings
from domain.access import Actor, Scope
from domain.events import PartnerClientRevoked, TipReceived, TipUpdated
from domain.ports import TipFilter
from tests.api.org import build_world, ward_gid
from tests.fakes.servers import LiveServer, serve_app
from tests.partners.support import (
    REPORTER_NAME,
    REPORTER_PHONE,
    TIP_BODY,
    make_partner,
    partner_token,
)

REDIS_URL = os.environ.get("GANDAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
SUBSCRIBE = """subscription ($filter: PartnerTipUpdateFilter) {
  tipUpdates(filter: $filter) {
    id ward { id code name } category status receivedAt updatedAt overdue
  }
}"""
SUBMIT = """mutation ($ward: ID!, $body: String!, $name: String!, $phone: String!) {
  tipSubmit(input: {wardId: $ward, body: $body, anonymous: false,
                    reporter: {name: $name, phone: $phone}}) {
    receipt { trackingCode } userErrors { code field }
  }
}"""
TRIAGE = """mutation ($id: ID!, $category: TipCategory!) {
  tipTriage(input: {id: $id, category: $category}) { tip { status } userErrors { code } }
}"""
FORBIDDEN_TEXT = (REPORTER_NAME, REPORTER_PHONE, "0987654321", "987654321", TIP_BODY[:20])


class Replica:
    """A live server with its own container (and bus), as one API replica."""

    def __init__(self, server: LiveServer, app: Starlette) -> None:
        self.server = server
        self.app = app

    @property
    def ws_url(self) -> str:
        return self.server.base_url.replace("http://", "ws://") + "/graphql"

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server.base_url, timeout=10)

    def listening(self, count: int = 1) -> bool:
        bus = self.app.state.container.bus
        return all(
            bus.subscriber_count(topic) >= count
            for topic in (
                TipReceived.__name__,
                TipUpdated.__name__,
                PartnerClientRevoked.__name__,
            )
        )


def _replica(settings: Settings) -> Iterator[Replica]:
    app = create_app(settings.model_copy(update={"worker_embedded": False}))
    with serve_app(app, lifespan="on", ws="websockets-sansio") as server:
        yield Replica(server, app)


@pytest.fixture
def live(settings: Settings) -> Iterator[Replica]:
    yield from _replica(settings)


@pytest.fixture
def redis_settings(settings: Settings) -> Settings:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI requires it): {error}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        client.close()
    return settings.model_copy(update={"redis_url": REDIS_URL})


@pytest.fixture
def replica_1(redis_settings: Settings) -> Iterator[Replica]:
    yield from _replica(redis_settings)


@pytest.fixture
def replica_2(redis_settings: Settings) -> Iterator[Replica]:
    yield from _replica(redis_settings)


class Subscription:
    """A partner's graphql-transport-ws connection with one tipUpdates subscription."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[str] = []

    async def next(self, wait: float = 5.0) -> dict:
        raw = await asyncio.wait_for(self.ws.recv(), wait)
        text = raw.decode() if isinstance(raw, bytes) else raw
        self.frames.append(text)
        return json.loads(text)

    async def update(self, wait: float = 5.0) -> dict:
        message = await self.next(wait)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]["tipUpdates"]

    async def nothing(self, seconds: float = 0.5) -> None:
        with pytest.raises(TimeoutError):
            await self.next(seconds)


async def _connect(replica: Replica, token: str, variables: dict | None = None):
    ws = await websockets.connect(replica.ws_url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": variables or {}},
            }
        )
    )
    return ws


async def _until_listening(*replicas: Replica, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while not all(r.listening(count) for r in replicas):
        assert time.monotonic() < deadline, "the subscription never started listening"
        await asyncio.sleep(0.02)


async def _submit(http: httpx.AsyncClient, ward) -> None:
    response = await http.post(
        "/graphql",
        json={
            "query": SUBMIT,
            "variables": {
                "ward": ward_gid(ward),
                "body": TIP_BODY,
                "name": REPORTER_NAME,
                "phone": REPORTER_PHONE,
            },
        },
    )
    body = response.json()
    assert body["data"]["tipSubmit"]["userErrors"] == [], body


async def _triage(http: httpx.AsyncClient, token: str, tip_id: str, category: str) -> None:
    response = await http.post(
        "/graphql",
        json={"query": TRIAGE, "variables": {"id": tip_id, "category": category}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert body["data"]["tipTriage"] == {"tip": {"status": "TRIAGED"}, "userErrors": []}, body


def _assert_anonymous(frames: list[str]) -> None:
    for frame in frames:
        for text in FORBIDDEN_TEXT:
            assert text not in frame, f"{text!r} reached a partner: {frame}"


async def test_a_partner_sees_its_wards_tips_live_and_never_who_reported_them(
    api, container, live: Replica
) -> None:
    world = await build_world(container.organisation)
    ward_a, ward_b = world.wards["A"], world.wards["B"]
    client, secret = await make_partner(container, ward_a)
    officer_a = api.token_for(world.actors["officer_a"].id)
    officer_b = api.token_for(world.actors["officer_b"].id)
    async with live.http() as http:
        token = await partner_token(http, client, secret)
        ws = await _connect(live, token)
        try:
            sub = Subscription(ws)
            await _until_listening(live)

            await _submit(http, ward_a)
            created = await sub.update()
            assert created["ward"] == {
                "id": ward_gid(ward_a),
                "code": ward_a.code,
                "name": ward_a.name,
            }
            assert (created["status"], created["category"]) == ("RECEIVED", "KHAC")
            assert created["overdue"] is False

            # Another ward's tip, reported and triaged, never reaches this partner.
            await _submit(http, ward_b)
            async with container.uow() as uow:
                page = await uow.tips.page(
                    TipFilter(ward_ids=(ward_b.id,)), scope=Scope.all(), after=None, first=1
                )
            b_tip = str(relay.GlobalID("Tip", str(page.items[0].id)))
            await _triage(http, officer_b, b_tip, "HINH_SU")
            await sub.nothing()

            await _triage(http, officer_a, created["id"], "MA_TUY")
            updated = await sub.update()
            assert updated["id"] == created["id"]
            assert (updated["status"], updated["category"]) == ("TRIAGED", "MA_TUY")
            assert updated["receivedAt"] == created["receivedAt"]
            assert updated["updatedAt"] >= created["updatedAt"]
            await sub.nothing()
        finally:
            await ws.close()
    _assert_anonymous(sub.frames)


async def test_the_filter_narrows_to_categories_statuses_and_wards(
    api, container, live: Replica
) -> None:
    world = await build_world(container.organisation)
    ward_a, ward_b = world.wards["A"], world.wards["B"]
    client, secret = await make_partner(container, ward_a, ward_b)
    officer_a = api.token_for(world.actors["officer_a"].id)
    async with live.http() as http:
        token = await partner_token(http, client, secret)
        only_drugs = await _connect(
            live, token, {"filter": {"categories": ["MA_TUY"], "statuses": ["TRIAGED"]}}
        )
        only_b = await _connect(live, token, {"filter": {"wardCodes": [ward_b.code]}})
        all_of_it = await _connect(live, token)
        try:
            drugs, b, everything = (
                Subscription(only_drugs),
                Subscription(only_b),
                Subscription(all_of_it),
            )
            await _until_listening(live, count=3)
            await _submit(http, ward_a)
            first = await everything.update()
            await _triage(http, officer_a, first["id"], "GIAO_THONG")
            assert (await everything.update())["category"] == "GIAO_THONG"
            await _submit(http, ward_a)
            second = await everything.update()
            await _triage(http, officer_a, second["id"], "MA_TUY")
            assert (await everything.update())["category"] == "MA_TUY"
            only = await drugs.update()
            assert (only["id"], only["status"]) == (second["id"], "TRIAGED")
            await drugs.nothing()
            await b.nothing()
        finally:
            for ws in (only_drugs, only_b, all_of_it):
                await ws.close()
    _assert_anonymous(drugs.frames + b.frames + everything.frames)


async def test_members_cannot_use_tip_updates(api, container, live: Replica) -> None:
    world = await build_world(container.organisation)
    member = api.token_for(world.actors["commander_a"].id)
    ws = await _connect(live, member)
    try:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    finally:
        await ws.close()
    assert message["type"] == "next", message
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert message["payload"].get("data") is None


async def test_a_revoked_partner_cannot_connect(api, container, live: Replica) -> None:
    world = await build_world(container.organisation)
    client, secret = await make_partner(container, world.wards["A"])
    async with live.http() as http:
        token = await partner_token(http, client, secret)
    await container.partners.revoke_client(Actor.system_actor(), client.id)
    async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_revoking_a_partner_ends_its_live_subscription(api, container, live: Replica) -> None:
    world = await build_world(container.organisation)
    client, secret = await make_partner(container, world.wards["A"])
    revoke = """mutation ($id: ID!) { partnerClientRevoke(input: {id: $id}) {
                  partnerClient { active } userErrors { code } } }"""
    async with live.http() as http:
        token = await partner_token(http, client, secret)
        ws = await _connect(live, token)
        try:
            sub = Subscription(ws)
            await _until_listening(live)
            response = await http.post(
                "/graphql",
                json={
                    "query": revoke,
                    "variables": {"id": str(relay.GlobalID("PartnerClient", str(client.id)))},
                },
                headers={"Authorization": f"Bearer {api.token_for(world.actors['admin_d'].id)}"},
            )
            assert response.json()["data"]["partnerClientRevoke"]["userErrors"] == []
            ended = await sub.next()
            assert ended["type"] == "next", ended
            assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await sub.next())["type"] == "complete"
            # Nothing of the ward reaches it any more.
            await _submit(http, world.wards["A"])
            await sub.nothing()
        finally:
            await ws.close()


async def test_an_update_on_one_replica_reaches_a_partner_on_another(
    api, container, replica_1: Replica, replica_2: Replica
) -> None:
    world = await build_world(container.organisation)
    ward_a = world.wards["A"]
    client, secret = await make_partner(container, ward_a)
    officer_a = api.token_for(world.actors["officer_a"].id)
    async with replica_1.http() as http_1:
        # Issued by replica 1, accepted by replica 2: both derive the keys from the same secret.
        token = await partner_token(http_1, client, secret)
        ws = await _connect(replica_2, token)
        try:
            sub = Subscription(ws)
            await _until_listening(replica_2)
            await _submit(http_1, ward_a)
            created = await sub.update()
            assert created["status"] == "RECEIVED"
            await _triage(http_1, officer_a, created["id"], "LUA_DAO")
            updated = await sub.update()
            assert (updated["id"], updated["category"]) == (created["id"], "LUA_DAO")
        finally:
            await ws.close()
    _assert_anonymous(sub.frames)
