"""POST /webhooks/zalo: X-ZEvent-Signature over the raw body, freshness, idempotent storage, and
the tip a signed message becomes, acknowledged through the (fake) Zalo OA API."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.channels.zalo.webhook import ZaloWebhook, account_of, expected_mac, message_event
from api.app import create_app
from api.bootstrap import bootstrap
from domain.channels import ChannelKind
from domain.ports import WebhookRejected
from domain.reporter import TipSource
from domain.tip import TipCategory
from tests.webhooks.conftest import (
    APP_ID,
    GMF_GROUP,
    OA_A,
    OA_B,
    OA_SECRET,
    all_tips,
    inbox_rows,
    post_zalo,
    tip_count,
    webhook_settings,
)

REPORT = "Báo công an: có nhóm thanh niên bán ma túy ở ngõ 12 Tân Mai, tối nào cũng tụ tập"


def signed(zalo: Any, body: bytes, oa: str = OA_A) -> str:
    return zalo.webhook_signature(body, OA_SECRET[oa])


async def test_a_signed_message_becomes_a_tip_of_the_oas_ward_acknowledged_on_zalo(
    client, container, district, zalo, clock, db
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(user, REPORT, at=clock.now(), oa_id=OA_B)

    response = await post_zalo(client, body, signed(zalo, body, OA_B))

    assert response.status_code == 200
    (row,) = await inbox_rows(db)
    assert (row.channel, row.payload, row.processed_at) == ("zalo", body.decode(), None)
    assert json.loads(row.headers) == {"x-zevent-signature": signed(zalo, body, OA_B)}
    assert await tip_count(db) == 0  # stored first; acted on by the worker

    assert await container.inbound.run_once() == 1

    (tip,) = await all_tips(container)
    assert tip.ward_id == district.b.id  # the ward of the OA it was sent to
    assert tip.group_id == district.oa_b.id
    assert tip.source is TipSource.ZALO
    assert tip.category is TipCategory.MA_TUY
    assert user not in repr(tip)  # the user id is in the vault, not on the tip
    (ack,) = zalo.cs_messages
    assert ack["user_id"] == user
    assert tip.tracking_code in ack["message"]["text"]
    (row,) = await inbox_rows(db)
    assert (row.outcome, row.payload, row.purged) == ("tip", None, True)
    assert row.processed_at is not None


async def test_a_message_in_a_gmf_group_becomes_a_tip_of_the_groups_ward(
    client, container, district, zalo, clock, db
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(
        user,
        "Cháy ở tầng 3 nhà số 5 ngõ 8, khói bốc lên nhiều, gọi cứu hỏa giúp",
        at=clock.now(),
        event_name="user_send_group_text",
        group_id=GMF_GROUP,
        oa_id=OA_A,
    )

    assert (await post_zalo(client, body, signed(zalo, body, OA_A))).status_code == 200
    await container.inbound.run_once()

    (tip,) = await all_tips(container)
    assert (tip.ward_id, tip.group_id) == (district.a.id, district.gmf.id)
    assert [m["user_id"] for m in zalo.cs_messages] == [
        user
    ]  # answered privately, not in the group


@pytest.mark.parametrize(
    "forge",
    ["another_oas_secret", "app_secret", "tampered_body", "garbage", "sha256_of_body_only"],
)
async def test_forged_webhooks_are_refused_and_store_nothing(
    client, container, district, zalo, clock, db, forge
):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now(), oa_id=OA_B)
    signature = {
        "another_oas_secret": zalo.webhook_signature(body, OA_SECRET[OA_A]),
        "app_secret": zalo.webhook_signature(body, zalo.secret_key),
        "tampered_body": signed(zalo, body, OA_B),
        "garbage": "mac=" + "0" * 64,
        "sha256_of_body_only": "mac=" + hashlib.sha256(body).hexdigest(),
    }[forge]
    if forge == "tampered_body":
        body = body.replace("ngõ 12".encode(), "ngõ 21".encode())

    response = await post_zalo(client, body, signature)

    assert response.status_code == 403
    assert await inbox_rows(db) == []
    await container.inbound.run_once()
    assert await tip_count(db) == 0


async def test_a_missing_signature_is_401(client, district, zalo, clock, db):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now())
    assert (await post_zalo(client, body, None)).status_code == 401
    assert (await post_zalo(client, body, "")).status_code == 401
    assert await inbox_rows(db) == []


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-2)]
)
async def test_stale_or_future_timestamps_are_refused(
    client, container, district, zalo, clock, db, offset
):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now() + offset)

    response = await post_zalo(client, body, signed(zalo, body))

    assert response.status_code == 400
    assert response.json() == {"error": "stale"}
    assert await inbox_rows(db) == []


async def test_a_timestamp_within_five_minutes_is_accepted(client, district, zalo, clock, db):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now() - timedelta(minutes=4))
    assert (await post_zalo(client, body, signed(zalo, body))).status_code == 200
    assert len(await inbox_rows(db)) == 1


async def test_a_replayed_event_is_acknowledged_with_no_second_effect(
    client, container, district, zalo, clock, db
):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now())
    signature = signed(zalo, body)

    first = await post_zalo(client, body, signature)
    again = await post_zalo(client, body, signature)
    assert (first.status_code, again.status_code) == (200, 200)
    assert len(await inbox_rows(db)) == 1

    assert await container.inbound.run_once() == 1
    clock.advance(seconds=30)  # Zalo retries with the same msg_id (and timestamp)
    assert (await post_zalo(client, body, signature)).status_code == 200
    assert await container.inbound.run_once() == 0

    assert len(await inbox_rows(db)) == 1
    assert await tip_count(db) == 1
    assert len(zalo.cs_messages) == 1


async def test_events_that_are_not_messages_are_acknowledged_and_not_stored(
    client, district, zalo, clock, db
):
    follow = {
        "app_id": APP_ID,
        "oa_id": OA_A,
        "event_name": "follow",
        "timestamp": str(int(clock.now().timestamp() * 1000)),
        "source": "oa_profile",
        "follower": {"id": zalo.new_user_id()},
    }
    echo = json.loads(zalo.webhook_body(zalo.new_user_id(), "Cảm ơn bạn", at=clock.now()))
    echo |= {"event_name": "oa_send_text", "sender": {"id": OA_A}, "recipient": {"id": "1"}}
    for event in (follow, echo):
        body = json.dumps(event).encode()
        assert (await post_zalo(client, body, signed(zalo, body))).status_code == 200
    assert await inbox_rows(db) == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"app_id": "1"}', b'{"timestamp": "1", "event_name": "user_send_text"}'],
)
async def test_malformed_bodies_are_400(client, district, db, body):
    response = await post_zalo(client, body, "mac=" + "a" * 64)
    assert response.status_code == 400
    assert await inbox_rows(db) == []


async def test_a_body_over_the_limit_is_413(client, district, zalo, clock, db):
    body = zalo.webhook_body(zalo.new_user_id(), "x" * (1024 * 1024), at=clock.now())
    assert (await post_zalo(client, body, signed(zalo, body))).status_code == 413
    assert await inbox_rows(db) == []


@contextlib.asynccontextmanager
async def _client_with(
    settings: Any, db: Any, clock: Any, endpoints: Any, credentials: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app with other settings, on the same database (which the `db` fixture empties)."""
    container = bootstrap(
        settings, engine=db, clock=clock, endpoints=endpoints, channel_credentials=credentials
    )
    transport = httpx.ASGITransport(app=create_app(container=container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield container, client
    finally:
        for close in reversed(container._closers):
            await close()


async def test_without_an_app_id_zalo_webhooks_are_503_and_store_nothing(
    tmp_path_factory, database_url, db, clock, endpoints, credentials, district, zalo
):
    settings = webhook_settings(tmp_path_factory, database_url, zalo_app_id="")
    async with _client_with(settings, db, clock, endpoints, credentials) as (_, client):
        body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now())
        response = await post_zalo(client, body, signed(zalo, body))
    assert (response.status_code, response.json()) == (503, {"error": "not_configured"})
    assert await inbox_rows(db) == []


async def test_the_secret_can_be_the_app_secret(
    tmp_path_factory, database_url, db, clock, endpoints, credentials, district, zalo
):
    settings = webhook_settings(tmp_path_factory, database_url, zalo_webhook_secret_source="app")
    async with _client_with(settings, db, clock, endpoints, credentials) as (_, client):
        body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now())
        with_oa_secret = await post_zalo(client, body, signed(zalo, body))
        with_app_secret = await post_zalo(
            client, body, zalo.webhook_signature(body, zalo.secret_key)
        )
    assert (with_oa_secret.status_code, with_app_secret.status_code) == (403, 200)
    assert len(await inbox_rows(db)) == 1


async def test_an_oa_without_a_secret_of_its_own_uses_the_configured_one(
    tmp_path_factory, database_url, db, clock, endpoints, credentials, district, zalo
):
    """An OA no group is registered for yet: verified with GANDAN_ZALO_WEBHOOK_SECRET, stored,
    and kept for retries (no ward to give it) rather than dropped."""
    settings = webhook_settings(tmp_path_factory, database_url, zalo_webhook_secret="global-s3")
    unknown_oa = "579745863508350000"
    async with _client_with(settings, db, clock, endpoints, credentials) as (container, client):
        body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now(), oa_id=unknown_oa)
        response = await post_zalo(client, body, zalo.webhook_signature(body, "global-s3"))
        assert response.status_code == 200
        assert await container.inbound.run_once() == 1
    (row,) = await inbox_rows(db)
    assert (row.processed_at, row.attempts, row.payload is not None) == (None, 1, True)
    assert "no zalo_oa account" in row.last_error
    assert await tip_count(db) == 0


async def test_without_any_secret_for_the_oa_the_webhook_is_503(client, district, zalo, clock, db):
    body = zalo.webhook_body(zalo.new_user_id(), REPORT, at=clock.now(), oa_id="579745863508350000")
    response = await post_zalo(client, body, zalo.webhook_signature(body, "anything"))
    assert response.status_code == 503
    assert await inbox_rows(db) == []


# The adapter on its own.


def test_the_mac_is_sha256_of_app_id_body_timestamp_and_secret():
    body = b'{"timestamp":"1700000000000"}'
    raw = b"123" + body + b"1700000000000" + b"s3"
    assert (
        expected_mac("123", body, "1700000000000", "s3") == "mac=" + hashlib.sha256(raw).hexdigest()
    )


def test_a_message_event_is_read_with_its_quote_and_attachments(zalo, clock):
    user = zalo.new_user_id()
    event = json.loads(
        zalo.webhook_body(user, "Ảnh hiện trường", at=clock.now(), quote_msg_id="q1")
    )
    event["event_name"] = "user_send_image"
    event["message"]["attachments"] = [
        {"type": "image", "payload": {"url": "https://photo.zdn.vn/a.jpg"}},
        {"type": "location", "payload": {"coordinates": {"latitude": "21", "longitude": "105"}}},
        "junk",
    ]
    parsed = message_event(event)
    assert parsed is not None
    assert (parsed.channel, parsed.sender_id, parsed.account_id) == (
        ChannelKind.ZALO_OA,
        user,
        OA_A,
    )
    assert parsed.quoted_message_id == "q1"
    assert [(a.type, a.url) for a in parsed.attachments] == [
        ("image", "https://photo.zdn.vn/a.jpg"),
        ("location", None),
    ]
    assert parsed.sent_at == clock.now()


def test_the_account_of_an_event_chooses_the_secret():
    assert account_of({"event_name": "user_send_text", "recipient": {"id": OA_B}}) == (
        ChannelKind.ZALO_OA,
        OA_B,
    )
    assert account_of({"event_name": "follow", "oa_id": OA_A}) == (ChannelKind.ZALO_OA, OA_A)
    assert account_of({"event_name": "oa_send_text", "sender": {"id": OA_A}}) == (
        ChannelKind.ZALO_OA,
        OA_A,
    )
    assert account_of({"event_name": "user_send_group_text", "group_id": "g1"}) == (
        ChannelKind.ZALO_GROUP,
        "g1",
    )
    assert account_of({"event_name": "user_send_text"}) is None


async def test_an_unconfigured_adapter_refuses_before_reading(clock):
    with pytest.raises(WebhookRejected) as refused:
        await ZaloWebhook(None).accept({}, b"{}", clock.now())
    assert refused.value.reason == WebhookRejected.NOT_CONFIGURED
