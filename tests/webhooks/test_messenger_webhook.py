"""GET+POST /webhooks/messenger: the subscription handshake, X-Hub-Signature-256 over the raw
body, batched deliveries, freshness, idempotent storage, and the tip a signed message becomes,
acknowledged through the (fake) Send API."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from domain.reporter import TipSource
from domain.tip import TipCategory
from tests.webhooks.conftest import (
    FB_APP_SECRET,
    PAGE_ID,
    VERIFY_TOKEN,
    all_tips,
    inbox_rows,
    post_messenger,
    tip_count,
)

REPORT = "Em muốn báo: có đối tượng trộm xe máy ở chợ Tân Mai sáng nay, em có ảnh biển số"


def delivery(messenger, clock, *texts: str, psid: str | None = None) -> tuple[bytes, list[str]]:
    psid = psid or messenger.add_user(PAGE_ID)
    events = [messenger.message_event(PAGE_ID, psid, t, at=clock.now()) for t in texts]
    return messenger.delivery(PAGE_ID, events, at=clock.now()), [
        e["message"]["mid"] for e in events
    ]


async def test_the_subscription_handshake_echoes_the_challenge(client):
    ok = await client.get(
        "/webhooks/messenger",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        assert (await client.get("/webhooks/messenger", params=params)).status_code == 403


async def test_a_signed_message_becomes_a_tip_of_the_pages_ward_acknowledged_by_responses(
    client, container, district, messenger, clock, db
):
    psid = messenger.add_user(PAGE_ID)
    body, (mid,) = delivery(messenger, clock, REPORT, psid=psid)

    response = await post_messenger(client, body, messenger.sign(body))

    assert response.status_code == 200
    (row,) = await inbox_rows(db)
    assert (row.channel, row.external_id, row.payload) == ("messenger", mid, body.decode())
    assert await container.inbound.run_once() == 1

    (tip,) = await all_tips(container)
    assert (tip.ward_id, tip.group_id) == (district.a.id, district.page.id)
    assert tip.source is TipSource.MESSENGER
    assert tip.category is TipCategory.HINH_SU
    (ack,) = messenger.sent
    assert (ack.page_id, ack.psid, ack.messaging_type, ack.tag) == (PAGE_ID, psid, "RESPONSE", None)
    assert tip.tracking_code in ack.text


async def test_a_batched_delivery_stores_every_message_once(
    client, container, district, messenger, clock, db
):
    first, _ = delivery(messenger, clock, REPORT)
    second_psid = messenger.add_user(PAGE_ID)
    events = [
        *json.loads(first)["entry"][0]["messaging"],
        messenger.message_event(PAGE_ID, second_psid, "Có cháy ở kho gỗ ngõ 4", at=clock.now()),
        # Not messages: a delivery receipt, a read, an echo of the page's own message.
        {
            "sender": {"id": second_psid},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "delivery": {"mids": ["m_1"], "watermark": 1},
        },
        {
            "sender": {"id": second_psid},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "read": {"watermark": 1},
        },
        messenger.message_event(PAGE_ID, second_psid, "Cảm ơn", at=clock.now(), echo=True),
    ]
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {"id": PAGE_ID, "time": 1, "messaging": events[:2]},
                {"id": PAGE_ID, "time": 1, "messaging": events[2:]},
            ],
        }
    ).encode()

    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200

    rows = await inbox_rows(db)
    assert len(rows) == 2
    assert await container.inbound.run_once() == 2
    assert await tip_count(db) == 2


@pytest.mark.parametrize("forge", ["wrong_secret", "sha1_header", "tampered", "reserialised"])
async def test_forged_deliveries_are_403_and_store_nothing(
    client, container, district, messenger, clock, db, forge
):
    body, _ = delivery(messenger, clock, "Báo tin: cướp giật điện thoại ở phố Tân Mai")
    signature = messenger.sign(body)
    if forge == "wrong_secret":
        signature = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    elif forge == "sha1_header":
        signature = "sha1=" + hmac.new(FB_APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    elif forge == "tampered":
        body = body.replace(b"T\\u00e2n Mai", b"T\\u01b0\\u01a1ng Mai")
    else:
        # Meta signs its own escaped bytes; the same JSON written another way is not what it signed.
        body = json.dumps(json.loads(body), ensure_ascii=False).encode()

    response = await post_messenger(client, body, signature)

    assert response.status_code == 403
    assert await inbox_rows(db) == []
    await container.inbound.run_once()
    assert await tip_count(db) == 0


async def test_a_missing_signature_is_401(client, district, messenger, clock, db):
    body, _ = delivery(messenger, clock, REPORT)
    assert (await post_messenger(client, body, None)).status_code == 401
    assert await inbox_rows(db) == []


async def test_stale_messages_are_refused(client, district, messenger, clock, db):
    psid = messenger.add_user(PAGE_ID)
    old = messenger.message_event(PAGE_ID, psid, REPORT, at=clock.now() - timedelta(minutes=10))
    body = messenger.delivery(PAGE_ID, [old], at=clock.now() - timedelta(minutes=10))

    response = await post_messenger(client, body, messenger.sign(body))

    assert (response.status_code, response.json()) == (400, {"error": "stale"})
    assert await inbox_rows(db) == []


async def test_in_a_mixed_delivery_only_the_fresh_messages_are_stored(
    client, district, messenger, clock, db
):
    psid = messenger.add_user(PAGE_ID)
    old = messenger.message_event(PAGE_ID, psid, "cũ", at=clock.now() - timedelta(hours=1))
    new = messenger.message_event(PAGE_ID, psid, REPORT, at=clock.now())
    body = messenger.delivery(PAGE_ID, [old, new], at=clock.now())

    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    assert [r.external_id for r in await inbox_rows(db)] == [new["message"]["mid"]]


async def test_a_replayed_delivery_has_no_second_effect(
    client, container, district, messenger, clock, db
):
    body, _ = delivery(messenger, clock, REPORT)
    for _ in range(3):
        assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
        await container.inbound.run_once()
    assert len(await inbox_rows(db)) == 1
    assert await tip_count(db) == 1
    assert len(messenger.sent) == 1


async def test_deliveries_with_no_message_are_acknowledged_and_not_stored(
    client, district, messenger, clock, db
):
    for body in (
        json.dumps({"object": "page", "entry": []}).encode(),
        json.dumps({"object": "instagram", "entry": [{"id": "1", "messaging": []}]}).encode(),
    ):
        assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    assert await inbox_rows(db) == []


async def test_a_signed_body_that_is_not_json_is_400(client, district, messenger, db):
    body = b"\xff\xfe not json"
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 400
    assert await inbox_rows(db) == []
