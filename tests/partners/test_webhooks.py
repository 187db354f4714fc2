"""Signed partner webhooks (Standard Webhooks v1), on both engines, against a fake partner endpoint
on 127.0.0.1 that verifies every signature itself (tests/fakes/partner_receiver.py).

Tips change through the TipService; the deliveries are written in the same transaction; the
worker's job (`PartnerService.run_once`) sends them; the clock is moved by hand for retries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from strawberry import relay

from adapters.partners.webhooks import (
    RefusedDestination,
    StandardWebhookSender,
    decode_secret,
    sign,
    verify,
)
from adapters.persistence.partner_tables import PartnerWebhookDeliveryRow
from domain.access import Actor, Scope
from domain.partner import AttemptResult
from domain.reporter import TipSource
from domain.tip import Tip, TipCategory, new_tracking_code
from tests.api.org import build_world
from tests.fakes.partner_receiver import Answer, PartnerReceiver
from tests.fakes.servers import LiveServer, free_port, serve_app
from tests.partners.support import (
    REPORTER_NAME,
    REPORTER_PHONE,
    TIP_BODY,
    make_partner,
    partner_gql,
    partner_token,
    submit_tip,
)

CREATE = """mutation ($url: String!, $events: [WebhookEventType!]) {
  partnerWebhookCreate(input: {url: $url, events: $events}) {
    webhook { id url events status } secret userErrors { code field message }
  }
}"""
DELIVERIES = """query ($f: WebhookDeliveryFilter) {
  partnerWebhookDeliveries(filter: $f, first: 50) {
    totalCount
    nodes { id webhookId eventType status attempts nextAttemptAt lastStatusCode replays payload
            attemptLog { statusCode replay } webhook { id status } }
  }
}"""
REPLAY = """mutation ($id: ID!) {
  partnerWebhookReplay(input: {deliveryId: $id}) {
    delivery { webhookId status replays } userErrors { code }
  }
}"""
VIEWER_HOOKS = "{ partnerViewer { webhooks { id status statusReason } } }"


@pytest.fixture
def receiver() -> PartnerReceiver:
    return PartnerReceiver()


@pytest.fixture
def endpoint(receiver: PartnerReceiver) -> Iterator[LiveServer]:
    with serve_app(receiver.app()) as server:
        yield server


class Partner:
    """A partner of ward A with a webhook to the fake endpoint, and its access token."""

    def __init__(self, client, secret: str, token: str, webhook: dict) -> None:
        self.client, self.secret, self.token, self.webhook = client, secret, token, webhook


async def _hooked(api, container, ward, receiver, endpoint, events=None) -> Partner:
    client, secret = await make_partner(container, ward)
    token = await partner_token(api.client, client, secret)
    body = await partner_gql(
        api.client, token, CREATE, {"url": endpoint.url("/hooks/gandan"), "events": events}
    )
    created = body["data"]["partnerWebhookCreate"]
    assert created["userErrors"] == [], created
    assert created["secret"].startswith("whsec_")
    receiver.set_secret(created["secret"])
    return Partner(client, secret, token, created["webhook"])


async def _log(api, token: str) -> list[dict]:
    body = await partner_gql(api.client, token, DELIVERIES)
    assert body.get("errors") is None, body
    return body["data"]["partnerWebhookDeliveries"]["nodes"]


@pytest.fixture
async def world(container):
    return await build_world(container.organisation)


async def _officer(container, world, key: str = "officer_a") -> Actor:
    return await container.organisation.actor_for(world.actors[key].id)


def _assert_no_identity(raw: bytes | str) -> None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    for secret in (REPORTER_NAME, REPORTER_PHONE, "0987654321", TIP_BODY[:20]):
        assert secret not in text, f"{secret!r} left in a webhook: {text}"


async def test_tip_events_arrive_signed_and_without_identity(
    api, container, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint)
    tip = await submit_tip(container, world.wards["A"])
    await container.tips.triage(await _officer(container, world), tip.id, TipCategory.MA_TUY)
    assert await container.partners.run_once() == 2
    assert [r.verified for r in receiver.received] == [True, True]
    # Both are sent in the same batch, concurrently: they may arrive in either order.
    created, triaged = sorted((r.json for r in receiver.received), key=lambda b: b["type"])
    tip_gid = str(relay.GlobalID("Tip", str(tip.id)))
    assert created["type"] == "tip.created" and triaged["type"] == "tip.updated"
    assert created["data"]["id"] == triaged["data"]["id"] == tip_gid
    assert created["data"]["ward"] == {
        "code": world.wards["A"].code,
        "name": world.wards["A"].name,
    }
    assert (created["data"]["status"], triaged["data"]["status"]) == ("RECEIVED", "TRIAGED")
    assert triaged["data"]["category"] == "MA_TUY"
    assert set(triaged["data"]) == {
        "id",
        "ward",
        "category",
        "status",
        "receivedAt",
        "updatedAt",
        "overdue",
    }
    for received in receiver.received:
        assert received.headers["content-type"] == "application/json"
        assert received.signature.startswith("v1,")
        assert len(received.body) < 20_000
        _assert_no_identity(received.body)
    log = await _log(api, partner.token)
    assert {d["status"] for d in log} == {"SENT"}
    assert {d["webhookId"] for d in log} == {r.webhook_id for r in receiver.received}
    assert {d["eventType"] for d in log} == {"TIP_CREATED", "TIP_UPDATED"}
    # The log shows the body exactly as signed.
    assert {d["payload"].encode() for d in log} == {r.body for r in receiver.received}


async def test_a_500_is_retried_with_backoff_under_the_same_webhook_id(
    api, container, clock, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint, ["TIP_CREATED"])
    receiver.script(500)
    await submit_tip(container, world.wards["A"])
    assert await container.partners.run_once() == 1
    (failed,) = await _log(api, partner.token)
    assert (failed["status"], failed["attempts"], failed["lastStatusCode"]) == ("FAILED", 1, 500)
    wait = datetime.fromisoformat(failed["nextAttemptAt"]) - clock.now()
    assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)  # 5 s, with jitter
    assert await container.partners.run_once() == 0  # not due yet
    clock.advance(seconds=6)
    assert await container.partners.run_once() == 1
    (sent,) = await _log(api, partner.token)
    assert (sent["status"], sent["attempts"]) == ("SENT", 2)
    assert [a["statusCode"] for a in sent["attemptLog"]] == [500, 200]
    first, second = receiver.received
    assert first.verified and second.verified
    assert first.webhook_id == second.webhook_id == sent["webhookId"]
    assert first.body == second.body
    assert second.timestamp - first.timestamp == 6


async def test_retry_after_is_honoured(api, container, clock, world, receiver, endpoint) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint, ["TIP_CREATED"])
    receiver.script(Answer(429, {"Retry-After": "20"}))
    await submit_tip(container, world.wards["A"])
    await container.partners.run_once()
    (throttled,) = await _log(api, partner.token)
    wait = datetime.fromisoformat(throttled["nextAttemptAt"]) - clock.now()
    assert timedelta(seconds=20) <= wait <= timedelta(seconds=21)
    clock.advance(seconds=10)
    assert await container.partners.run_once() == 0
    clock.advance(seconds=11)
    assert await container.partners.run_once() == 1
    assert [r.answered for r in receiver.received] == [429, 200]


async def test_redirects_and_other_4xx_are_retried_a_few_times_then_dead(
    api, container, clock, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint, ["TIP_CREATED"])
    receiver.script(Answer(302, {"Location": "http://127.0.0.1:1/elsewhere"}), 400, 404)
    receiver.tolerance = 3600  # this test's clock runs minutes ahead
    await submit_tip(container, world.wards["A"])
    for _ in range(3):
        assert await container.partners.run_once() == 1
        clock.advance(minutes=6)
    (dead,) = await _log(api, partner.token)
    assert (dead["status"], dead["attempts"], dead["lastStatusCode"]) == ("DEAD", 3, 404)
    assert [r.answered for r in receiver.received] == [302, 400, 404]
    clock.advance(days=4)
    assert await container.partners.run_once() == 0


async def test_410_disables_the_webhook(api, container, world, receiver, endpoint) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint)
    receiver.script(410)
    await submit_tip(container, world.wards["A"])
    assert await container.partners.run_once() == 1
    (gone,) = await _log(api, partner.token)
    assert (gone["status"], gone["lastStatusCode"]) == ("DEAD", 410)
    assert gone["webhook"]["status"] == "DISABLED"
    viewer = await partner_gql(api.client, partner.token, VIEWER_HOOKS)
    (hook,) = viewer["data"]["partnerViewer"]["webhooks"]
    assert hook["status"] == "DISABLED" and "410" in hook["statusReason"]
    # Nothing more is written for it, nor sent.
    await submit_tip(container, world.wards["A"])
    assert len(await _log(api, partner.token)) == 1
    assert await container.partners.run_once() == 0
    assert len(receiver.received) == 1
    # And a dead delivery of a disabled webhook cannot be replayed to it.
    replay = await partner_gql(api.client, partner.token, REPLAY, {"id": gone["id"]})
    assert replay["data"]["partnerWebhookReplay"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]


async def test_replay_resends_with_the_same_webhook_id_and_a_new_timestamp(
    api, container, clock, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint, ["TIP_CREATED"])
    await submit_tip(container, world.wards["A"])
    await container.partners.run_once()
    (sent,) = await _log(api, partner.token)
    clock.advance(seconds=3)
    replayed = await partner_gql(api.client, partner.token, REPLAY, {"id": sent["id"]})
    assert replayed["data"]["partnerWebhookReplay"] == {
        "delivery": {"webhookId": sent["webhookId"], "status": "PENDING", "replays": 1},
        "userErrors": [],
    }
    assert await container.partners.run_once() == 1
    # An admin of the tip's unit may replay it too.
    clock.advance(seconds=3)
    by_admin = await api.gql(REPLAY, {"id": sent["id"]}, as_=world.actors["admin_d"].id)
    assert by_admin["partnerWebhookReplay"]["userErrors"] == []
    assert await container.partners.run_once() == 1
    original, again, third = receiver.received
    assert all(r.verified for r in receiver.received)
    assert original.webhook_id == again.webhook_id == third.webhook_id == sent["webhookId"]
    assert original.body == again.body == third.body
    assert (again.timestamp - original.timestamp, third.timestamp - again.timestamp) == (3, 3)
    assert original.signature != again.signature
    (log,) = await _log(api, partner.token)
    assert (log["status"], log["replays"]) == ("SENT", 2)
    assert [a["replay"] for a in log["attemptLog"]] == [False, True, True]


async def test_another_wards_tip_never_produces_a_delivery(
    api, container, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint)
    other, other_secret = await make_partner(container, world.wards["B"], name="Báo Tương Mai")
    tip_b = await submit_tip(container, world.wards["B"])
    await container.tips.triage(
        await _officer(container, world, "officer_b"), tip_b.id, TipCategory.HINH_SU
    )
    assert await container.partners.run_once() == 0
    assert receiver.received == []
    assert await _log(api, partner.token) == []
    async with container.engine.connect() as conn:
        rows = await conn.scalar(
            sa.select(sa.func.count()).select_from(PartnerWebhookDeliveryRow.__table__)
        )
    assert rows == 0
    # Nor can another partner, or a non-admin, read or replay this partner's deliveries.
    await submit_tip(container, world.wards["A"])
    await container.partners.run_once()
    (mine,) = await _log(api, partner.token)
    other_token = await partner_token(api.client, other, other_secret)
    assert await _log(api, other_token) == []
    refused = await partner_gql(api.client, other_token, REPLAY, {"id": mine["id"]})
    assert refused["data"]["partnerWebhookReplay"]["userErrors"] == [{"code": "NOT_FOUND"}]
    officer = await api.gql(DELIVERIES, as_=world.actors["commander_a"].id)
    assert officer["partnerWebhookDeliveries"]["totalCount"] == 0
    admin = await api.gql(DELIVERIES, as_=world.actors["admin_d"].id)
    assert admin["partnerWebhookDeliveries"]["totalCount"] == 1


async def test_deliveries_are_written_with_the_tip_change_or_not_at_all(
    api, container, clock, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint)

    def new_tip() -> Tip:
        return Tip.receive(
            ward_id=world.wards["A"].id,
            tracking_code=new_tracking_code(os.urandom(8)),
            source=TipSource.APP,
            body="Một tin báo",
            anonymous=True,
            reporter_id=None,
            now=clock.now(),
        )

    async with container.uow() as uow:
        uow.tips.add(new_tip())
        # Left without commit: rolled back, and its delivery with it.
    assert await _log(api, partner.token) == []
    async with container.uow() as uow:
        tip = new_tip()
        uow.tips.add(tip)
        await uow.commit()
        # Visible in the same transaction's aftermath, before anyone published anything.
    (written,) = await _log(api, partner.token)
    assert (written["status"], written["eventType"]) == ("PENDING", "TIP_CREATED")
    async with container.uow() as uow:
        stored = await uow.tips.get(tip.id, scope=Scope.all())
        assert stored is not None


async def test_a_partner_or_admin_manages_webhooks_and_a_stranger_cannot(
    api, container, world, receiver, endpoint
) -> None:
    partner = await _hooked(api, container, world.wards["A"], receiver, endpoint)
    delete = """mutation ($id: ID!) { partnerWebhookDelete(input: {id: $id}) {
                  webhook { status } userErrors { code } } }"""
    other, other_secret = await make_partner(container, world.wards["B"], name="Khác")
    other_token = await partner_token(api.client, other, other_secret)
    refused = await partner_gql(api.client, other_token, delete, {"id": partner.webhook["id"]})
    assert refused["data"]["partnerWebhookDelete"]["userErrors"] == [{"code": "NOT_FOUND"}]
    stranger = await api.gql(
        delete, {"id": partner.webhook["id"]}, as_=world.actors["officer_b"].id
    )
    assert stranger["partnerWebhookDelete"]["userErrors"] == [{"code": "NOT_FOUND"}]
    deleted = await partner_gql(api.client, partner.token, delete, {"id": partner.webhook["id"]})
    assert deleted["data"]["partnerWebhookDelete"] == {
        "webhook": {"status": "DELETED"},
        "userErrors": [],
    }
    await submit_tip(container, world.wards["A"])
    assert await container.partners.run_once() == 0
    # An admin creates one for the client; production-only rules aside, a bad URL is refused.
    client_gid = str(relay.GlobalID("PartnerClient", str(partner.client.id)))
    by_admin = """mutation ($c: ID!, $url: String!) {
      partnerWebhookCreate(input: {clientId: $c, url: $url}) {
        webhook { events status } secret userErrors { code field } } }"""
    bad = await api.gql(
        by_admin,
        {"c": client_gid, "url": "ftp://example.org/x"},
        as_=world.actors["admin_d"].id,
    )
    assert bad["partnerWebhookCreate"]["userErrors"] == [{"code": "INVALID", "field": ["url"]}]
    made = await api.gql(
        by_admin,
        {"c": client_gid, "url": endpoint.url("/hooks/gandan")},
        as_=world.actors["admin_d"].id,
    )
    created = made["partnerWebhookCreate"]
    assert created["webhook"] == {"events": ["TIP_CREATED", "TIP_UPDATED"], "status": "ACTIVE"}
    assert created["secret"].startswith("whsec_")
    not_admin = await api.gql(
        by_admin,
        {"c": client_gid, "url": endpoint.url("/hooks/gandan")},
        as_=world.actors["commander_a"].id,
    )
    assert not_admin["partnerWebhookCreate"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["clientId"]}
    ]


# The signer and the sender, without a database


def test_the_signature_matches_the_specifications_example() -> None:
    secret = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bm9wZQ== {signature}",
    }
    assert verify(secret, headers, body, now=1614265330 + 60) == "msg_p5jXN8AQM9LWM0D4loKWxJek"


async def _resolving_to(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://partner.example/hook", ["93.184.216.34"]),  # not https
        ("https://partner.example/hook", ["127.0.0.1"]),  # resolves to loopback
        ("https://partner.example/hook", ["93.184.216.34", "10.0.0.8"]),  # one private answer
        ("https://partner.example/hook", ["169.254.169.254"]),  # cloud metadata
        ("https://partner.example/hook", []),
    ],
)
async def test_production_refuses_internal_destinations(url: str, addresses: list[str]) -> None:
    sender = StandardWebhookSender(allow_private=False, resolver=await _resolving_to(*addresses))
    try:
        with pytest.raises(RefusedDestination):
            await sender._destination(url, {})
        result = await sender.send(
            url, message_id="msg_1", timestamp=datetime.now(), body=b"{}", secret=b"k" * 32
        )
        assert result.result is AttemptResult.REJECTED and "refused" in (result.error or "")
    finally:
        await sender.aclose()


async def test_production_connects_to_the_address_it_checked() -> None:
    sender = StandardWebhookSender(
        allow_private=False, resolver=await _resolving_to("93.184.216.34")
    )
    try:
        headers: dict[str, str] = {}
        target, extensions = await sender._destination(
            "https://partner.example:8443/hooks?x=1", headers
        )
    finally:
        await sender.aclose()
    assert target == "https://93.184.216.34:8443/hooks?x=1"
    assert headers["host"] == "partner.example:8443"
    assert extensions == {"sni_hostname": "partner.example"}


async def test_an_unreachable_endpoint_is_a_transient_failure() -> None:
    sender = StandardWebhookSender(allow_private=True, timeout=2)
    try:
        result = await sender.send(
            f"http://127.0.0.1:{free_port()}/hook",
            message_id="msg_1",
            timestamp=datetime.now(),
            body=b"{}",
            secret=b"k" * 32,
        )
    finally:
        await sender.aclose()
    assert result.result is AttemptResult.TRANSIENT and result.status_code is None
