"""POST /webhooks/portal: portal form submissions signed as Standard Webhooks, stored once per
webhook-id, and received as tips of the ward the form names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from adapters.channels.portal.webhook import PortalWebhook, sign, signing_key
from domain.reporter import TipSource
from domain.tip import TipCategory
from tests.builders import make_ward
from tests.webhooks.conftest import (
    PORTAL_KEY,
    all_tips,
    inbox_rows,
    portal_form,
    portal_headers,
    tip_count,
)

REPORT = "Có người lạ thường xuyên đến khu tập thể C2 mời chào vay tiền, nghi lừa đảo"


async def test_a_signed_form_becomes_an_anonymous_tip_of_the_ward_it_names(
    client, container, district, clock, db
):
    body = portal_form("B", REPORT, anonymous=True, category="lua_dao")

    response = await client.post(
        "/webhooks/portal",
        content=body,
        headers=portal_headers(body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", clock.now()),
    )

    assert response.status_code == 200
    (row,) = await inbox_rows(db)
    assert (row.channel, row.external_id) == ("portal", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    assert set(json.loads(row.headers)) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert await container.inbound.run_once() == 1
    (tip,) = await all_tips(container)
    assert (tip.ward_id, tip.source, tip.anonymous) == (district.b.id, TipSource.PORTAL, True)
    assert tip.category is TipCategory.LUA_DAO
    assert tip.group_id is None


async def test_a_named_report_keeps_its_contact_in_the_vault(
    client, container, district, clock, db
):
    body = portal_form(
        "A", REPORT, anonymous=False, contact={"name": "Nguyễn Văn An", "phone": "0912345678"}
    )
    headers = portal_headers(body, "msg_named_1", clock.now())
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 200
    await container.inbound.run_once()

    (tip,) = await all_tips(container)
    assert tip.anonymous is False
    assert "0912345678" not in repr(tip) and "Nguyễn Văn An" not in repr(tip)
    async with container.uow() as uow:
        stored = await uow.tips.reporter(tip.reporter_id)
    identity = container.vault.open(stored.key_id, stored.sealed, bound_to=str(stored.id))
    assert (identity.name, identity.phone) == ("Nguyễn Văn An", "+84912345678")


async def test_signatures_rotate_one_match_is_enough(client, district, clock, db):
    body = portal_form("A", REPORT, anonymous=True)
    headers = portal_headers(body, "msg_rot", clock.now())
    old_key = base64.b64encode(b"an-older-key-that-was-rotated!!").decode()
    old = sign(base64.b64decode(old_key), "msg_rot", headers["webhook-timestamp"], body)
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize("forge", ["other_key", "other_id", "tampered", "v1a", "bare"])
async def test_forged_submissions_are_403_and_store_nothing(
    client, container, district, clock, db, forge
):
    body = portal_form("A", REPORT, anonymous=True)
    headers = portal_headers(body, "msg_forged", clock.now())
    if forge == "other_key":
        headers = portal_headers(body, "msg_forged", clock.now(), key=b"x" * 24)
    elif forge == "other_id":
        headers["webhook-id"] = "msg_other"
    elif forge == "tampered":
        body = portal_form("B", REPORT, anonymous=True)
    elif forge == "v1a":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")
    else:
        headers["webhook-signature"] = headers["webhook-signature"].removeprefix("v1,")

    response = await client.post("/webhooks/portal", content=body, headers=headers)

    assert response.status_code == 403
    assert await inbox_rows(db) == []
    await container.inbound.run_once()
    assert await tip_count(db) == 0


async def test_a_missing_signature_is_401_and_missing_ids_400(client, district, clock, db):
    body = portal_form("A", REPORT)
    headers = portal_headers(body, "msg_x", clock.now())
    no_signature = {k: v for k, v in headers.items() if k != "webhook-signature"}
    no_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    assert (
        await client.post("/webhooks/portal", content=body, headers=no_signature)
    ).status_code == 401
    assert (await client.post("/webhooks/portal", content=body, headers=no_id)).status_code == 400
    assert await inbox_rows(db) == []


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
async def test_timestamps_outside_five_minutes_are_refused(client, district, clock, db, offset):
    body = portal_form("A", REPORT)
    headers = portal_headers(body, "msg_old", clock.now() + offset)
    response = await client.post("/webhooks/portal", content=body, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": "stale"})
    assert await inbox_rows(db) == []


async def test_a_resubmitted_form_has_no_second_effect(client, container, district, clock, db):
    body = portal_form("A", REPORT, anonymous=True)
    for attempt in range(3):
        clock.advance(seconds=5 * attempt)  # retries are signed anew, with the same webhook-id
        headers = portal_headers(body, "msg_retry", clock.now())
        assert (
            await client.post("/webhooks/portal", content=body, headers=headers)
        ).status_code == 200
        await container.inbound.run_once()
    assert len(await inbox_rows(db)) == 1
    assert await tip_count(db) == 1


@pytest.mark.parametrize(
    "body",
    [
        portal_form("", REPORT),
        portal_form("A", "   "),
        json.dumps({"message": REPORT}).encode(),
        b"not json",
    ],
)
async def test_a_signed_form_without_ward_or_message_is_400(client, district, clock, db, body):
    headers = portal_headers(body, "msg_bad", clock.now())
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 400
    assert await inbox_rows(db) == []


async def test_a_standard_webhooks_envelope_is_read_too(client, container, district, clock, db):
    form = json.loads(portal_form("A", REPORT, anonymous=True))
    body = json.dumps(
        {"type": "tip.submitted", "timestamp": "2026-11-23T08:00:00Z", "data": form}
    ).encode()
    headers = portal_headers(body, "msg_env", clock.now())
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    assert tip.ward_id == district.a.id


async def test_an_unknown_ward_code_is_kept_for_retries_not_lost(
    client, container, district, clock, db
):
    body = portal_form("C9", REPORT, anonymous=True)
    headers = portal_headers(body, "msg_unknown_ward", clock.now())
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 200
    assert await container.inbound.run_once() == 1
    (row,) = await inbox_rows(db)
    assert row.processed_at is None and row.payload is not None
    assert await tip_count(db) == 0

    # An administrator creates the ward; within the hour the report becomes its tip.
    ward = await make_ward(container.uow, code="C9", name="Phường Mới")
    clock.advance(minutes=30)
    assert await container.inbound.run_once() == 0  # not due yet: retried hourly
    clock.advance(minutes=31)
    assert await container.inbound.run_once() == 1
    (tip,) = await all_tips(container)
    assert tip.ward_id == ward.id


def test_the_secret_must_be_whsec_base64():
    assert signing_key("whsec_" + base64.b64encode(b"k" * 24).decode()) == b"k" * 24
    with pytest.raises(ValueError):
        signing_key("whsec_not base64!")
    with pytest.raises(ValueError):
        PortalWebhook("whsec_" + base64.b64encode(b"short").decode())


def test_the_signature_is_v1_hmac_sha256_of_id_timestamp_and_body():
    digest = hmac.new(PORTAL_KEY, b"msg_1.1700000000.{}", hashlib.sha256).digest()
    assert (
        sign(PORTAL_KEY, "msg_1", "1700000000", b"{}") == "v1," + base64.b64encode(digest).decode()
    )
