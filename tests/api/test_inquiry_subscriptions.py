"""inquiryUpdates over graphql-transport-ws against a live server: an officer's queue moves live,
and only with the inquiries of their own units."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from adapters.knowledge.seed_procedures import SEED
from tests.api.org import build_world, ward_gid
from tests.api.test_subscriptions import _init, _ws_url

SUBSCRIBE = """subscription ($f: InquiryUpdatesFilter) {
  inquiryUpdates(filter: $f) { question status department ward { code } } }"""
ASK = """mutation ($input: InquiryAskInput!) { inquiryAsk(input: $input) { answered } }"""


async def _ask(live, ward, question: str) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": ASK,
                "variables": {"input": {"question": question, "wardId": ward_gid(ward)}},
            },
        )
    assert "errors" not in response.json(), response.text


async def test_officers_see_their_units_questions_arrive(container, live, real_token) -> None:
    world = await build_world(container.organisation)
    await container.procedures.seed(SEED)
    officer = world.actors["officer_a"]
    async with websockets.connect(_ws_url(live), subprotocols=["graphql-transport-ws"]) as ws:
        assert (await _init(ws, real_token(officer.id)))["type"] == "connection_ack"
        subscribe = {"query": SUBSCRIBE, "variables": {"f": {"statuses": ["ROUTED"]}}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        await asyncio.sleep(0.2)
        await _ask(live, world.wards["B"], "Bao giờ khu B có nước sạch?")  # another unit's
        await _ask(live, world.wards["A"], "Gia hạn tạm trú cần gì?")  # answered: not ROUTED
        await _ask(live, world.wards["A"], "Bao giờ khu A có nước sạch?")
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["type"] == "next", message
        update = message["payload"]["data"]["inquiryUpdates"]
        assert update == {
            "question": "Bao giờ khu A có nước sạch?",
            "status": "ROUTED",
            "department": "WARD",
            "ward": {"code": "A"},
        }
        try:
            extra = await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            extra = None
        assert extra is None
