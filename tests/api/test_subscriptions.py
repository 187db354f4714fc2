"""bulletinDeliveryUpdates over graphql-transport-ws, against a live server on 127.0.0.1.

The server runs in its own thread and event loop with its own container; the test arranges data
through the `container` fixture and drives the change through the server's HTTP API, so the event
travels the way it does in production: mutation → service → bus → subscription.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
import websockets
from strawberry import relay

from domain.access import Actor, Scope
from domain.bulletin import BulletinKind
from domain.channels import ChannelKind
from domain.services.bulletins import BulletinDraft
from tests.api.org import build_world
from tests.fakes.servers import LiveServer

SYSTEM = Actor.system_actor()
SUBSCRIBE = """subscription ($id: ID!) {
  bulletinDeliveryUpdates(bulletinId: $id) { id status attempts group { name } }
}"""
RETRY = """mutation ($id: ID!) { deliveryRetry(input: {id: $id}) {
  delivery { status } userErrors { code } } }"""


async def _dead_delivery(container, world):
    """A bulletin of ward A approved to its group, whose delivery failed for good."""
    officer, commander = world.actors["officer_a"], world.actors["commander_a"]
    bulletins = container.bulletins
    officer_actor = await container.organisation.actor_for(officer.id)
    commander_actor = await container.organisation.actor_for(commander.id)
    draft = BulletinDraft(
        ward_id=world.wards["A"].id,
        kind=BulletinKind.SCAM_WARNING,
        title="Cảnh báo lừa đảo qua điện thoại",
        body="Không cung cấp mã OTP cho bất kỳ ai.",
        target_group_ids=(world.groups["A"].id,),
    )
    bulletin = await bulletins.create(officer_actor, draft)
    await bulletins.submit(officer_actor, bulletin.id, None)
    await bulletins.approve(commander_actor, bulletin.id, None)
    now = container.clock.now()
    async with container.uow() as uow:
        (delivery,) = await uow.deliveries.of_bulletin_for_update(bulletin.id)
        delivery.claim(now, timedelta(minutes=5))
        delivery.fail("refused", retryable=False, retry_after=None, now=now, rand=lambda: 0.5)
        await uow.commit()
    return bulletin, delivery


async def _init(ws, token: str | None) -> dict:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def _ws_url(server: LiveServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/graphql"


async def test_staff_see_each_delivery_change_live(container, live: LiveServer, real_token) -> None:
    world = await build_world(container.organisation)
    assert world.groups["A"].channel is ChannelKind.ZALO_GROUP
    bulletin, delivery = await _dead_delivery(container, world)
    officer = world.actors["officer_a"]
    async with websockets.connect(_ws_url(live), subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, real_token(officer.id)))["type"] == "connection_ack"
        variables = {"id": str(relay.GlobalID("Bulletin", str(bulletin.id)))}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": variables},
                }
            )
        )
        await asyncio.sleep(0.2)  # the subscription is listening before the change happens
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": RETRY,
                    "variables": {"id": str(relay.GlobalID("Delivery", str(delivery.id)))},
                },
                headers={"Authorization": f"Bearer {real_token(officer.id)}"},
            )
        assert response.json()["data"]["deliveryRetry"] == {
            "delivery": {"status": "PENDING"},
            "userErrors": [],
        }
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["type"] == "next", message
        update = message["payload"]["data"]["bulletinDeliveryUpdates"]
        assert update["status"] == "PENDING"
        assert update["attempts"] == 0
        assert update["group"]["name"] == world.groups["A"].name


async def test_connection_without_a_token_is_refused(live: LiveServer) -> None:
    async with websockets.connect(_ws_url(live), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_forged_token_is_refused(live: LiveServer) -> None:
    async with websockets.connect(_ws_url(live), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer x.y.z"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_another_wards_bulletin_cannot_be_watched(
    container, live: LiveServer, real_token
) -> None:
    world = await build_world(container.organisation)
    bulletin, _ = await _dead_delivery(container, world)
    stranger = world.actors["officer_b"]
    async with websockets.connect(_ws_url(live), subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, real_token(stranger.id)))["type"] == "connection_ack"
        variables = {"id": str(relay.GlobalID("Bulletin", str(bulletin.id)))}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": variables},
                }
            )
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    # An error raised while executing arrives as a result with errors, then the stream completes.
    assert message["type"] == "next", message
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert message["payload"].get("data") is None
    async with container.uow() as uow:
        assert await uow.bulletins.get(bulletin.id, scope=Scope.all()) is not None
