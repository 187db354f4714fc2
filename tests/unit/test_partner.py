"""Partner clients, webhook URLs and the webhook delivery state machine (domain only)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorCode
from domain.ids import TipId, WardId
from domain.partner import (
    CLIENT_ID_PREFIX,
    CLIENT_SECRET_PREFIX,
    MAX_ATTEMPTS,
    MAX_PAYLOAD_BYTES,
    REJECTED_MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    AttemptResult,
    PartnerClient,
    PartnerClientId,
    PartnerTipView,
    PartnerWebhook,
    PartnerWebhookId,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEventType,
    check_webhook_url,
    classify_status,
    public_address,
    verify_secret,
    webhook_payload,
)
from domain.tip import TipCategory, TipStatus

S = WebhookDeliveryStatus
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WARD = WardId(uuid.uuid4())
LEASE = timedelta(minutes=2)


def half() -> float:
    return 0.5


def new_client(**overrides) -> tuple[PartnerClient, str]:
    fields = dict(
        name="Báo Hà Nội Mới", scopes=["tips:read"], ward_ids=[WARD], created_by=None, now=T0
    )
    return PartnerClient.register(**(fields | overrides))


def new_webhook() -> PartnerWebhook:
    return PartnerWebhook.create(
        webhook_id=PartnerWebhookId(uuid.uuid4()),
        client=PartnerClientId(uuid.uuid4()),
        url="https://partner.example/hooks",
        events=None,
        secret_key_id="k1",
        secret_sealed=b"sealed",
        now=T0,
    )


def view(**overrides) -> PartnerTipView:
    fields = dict(
        tip_id=TipId(uuid.uuid4()),
        ward_id=WARD,
        ward_code="HM-TANMAI",
        ward_name="Phường Tân Mai",
        category=TipCategory.MA_TUY,
        status=TipStatus.TRIAGED,
        received_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        overdue=False,
    )
    return PartnerTipView(**(fields | overrides))


def new_delivery() -> WebhookDelivery:
    v = view()
    return WebhookDelivery.create(
        webhook=new_webhook(),
        ward_id=v.ward_id,
        tip_id=v.tip_id,
        event_type=WebhookEventType.TIP_UPDATED,
        payload=webhook_payload(WebhookEventType.TIP_UPDATED, v, "VGlwOjE=", T0),
        now=T0,
    )


def fail(d: WebhookDelivery, result: AttemptResult, now: datetime, **kw) -> None:
    d.fail(
        result,
        status_code=kw.get("status", 500),
        error="HTTP 500",
        retry_after=kw.get("retry_after"),
        duration_ms=12,
        now=now,
        rand=kw.get("rand", half),
    )


# clients


def test_a_client_gets_a_secret_once_and_keeps_only_its_hash() -> None:
    client, secret = new_client()
    assert client.client_id.startswith(CLIENT_ID_PREFIX)
    assert secret.startswith(CLIENT_SECRET_PREFIX) and len(secret) > 40
    assert secret not in client.secret_hash and client.secret_hash.startswith("scrypt$")
    assert client.check_secret(secret)
    assert not client.check_secret(secret + "x")
    assert not client.check_secret("")
    other, other_secret = new_client()
    assert other.client_id != client.client_id and other_secret != secret


@pytest.mark.parametrize("stored", ["", "scrypt$1$2", "md5$a$b$c$d$e", "scrypt$x$8$1$AA==$AA=="])
def test_a_malformed_stored_hash_never_verifies(stored: str) -> None:
    assert verify_secret("anything", stored) is False


def test_a_client_needs_known_scopes_units_and_a_name() -> None:
    with pytest.raises(DomainError) as unknown:
        new_client(scopes=["tips:read", "tips:write"])
    assert unknown.value.code is ErrorCode.INVALID and unknown.value.problems[0].field == (
        "scopes",
    )
    with pytest.raises(DomainError) as none:
        new_client(scopes=[])
    assert none.value.code is ErrorCode.REQUIRED
    with pytest.raises(DomainError) as no_wards:
        new_client(ward_ids=[])
    assert no_wards.value.problems[0].field == ("wardIds",)
    with pytest.raises(DomainError) as no_name:
        new_client(name="  ")
    assert no_name.value.problems[0].field == ("name",)


def test_a_token_is_granted_a_subset_of_the_clients_scopes() -> None:
    client, _ = new_client()
    assert client.granted_scopes(None) == frozenset({"tips:read"})
    assert client.granted_scopes(["tips:read"]) == frozenset({"tips:read"})
    assert client.granted_scopes(["tips:write"]) is None
    assert client.granted_scopes(["tips:read", "admin"]) is None
    assert client.granted_scopes([]) is None


def test_a_client_is_revoked_once() -> None:
    client, _ = new_client()
    client.revoke(actor_id=None, now=T0)
    assert not client.active and client.revoked_at == T0
    with pytest.raises(DomainError) as again:
        client.revoke(actor_id=None, now=T0)
    assert again.value.code is ErrorCode.INVALID_TRANSITION


# webhook URLs


PRODUCTION = {"allow_http": False, "allow_private": False}
DEVELOPMENT = {"allow_http": True, "allow_private": True}


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example/hooks",
        "https://partner.example:8443/a/b?c=d",
        "https://8.8.8.8/hook",
    ],
)
def test_public_https_urls_are_accepted_in_production(url: str) -> None:
    assert check_webhook_url(url, **PRODUCTION) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/hooks",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://10.0.0.5/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/hook",
        "https://[::ffff:192.168.1.1]/hook",
        "https://localhost/hook",
        "https://db.internal/hook",
        "https://intranet/hook",  # a bare name resolves inside the network
        "https://user:pass@partner.example/hook",
        "https://partner.example/hook#frag",
        "ftp://partner.example/hook",
        "https:///nohost",
        "https://partner.example:99999/",
        "",
        "https://partner.example/" + "a" * 2000,
    ],
)
def test_internal_insecure_or_malformed_urls_are_refused_in_production(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_webhook_url(url, **PRODUCTION)
    assert refused.value.problems[0].field == ("url",)


def test_development_may_use_plain_http_on_loopback() -> None:
    url = "http://127.0.0.1:8765/hooks/gandan"
    assert check_webhook_url(url, **DEVELOPMENT) == url


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("not an address", False),
    ],
)
def test_only_public_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert public_address(address) is public


# the delivery state machine


def test_a_delivery_is_pending_then_sent() -> None:
    d = new_delivery()
    assert d.status is S.PENDING and d.due(T0) and d.message_id == f"msg_{d.id.hex}"
    d.claim(T0, LEASE)
    assert d.status is S.SENDING and d.attempts == 1 and d.lease_expires_at == T0 + LEASE
    d.succeed(status_code=204, duration_ms=30, now=T0)
    assert d.status is S.SENT and d.sent_at == T0 and d.next_attempt_at is None
    assert [(a.status_code, a.error) for a in d.log] == [(204, None)]


def test_transient_failures_follow_the_schedule_until_dead() -> None:
    d = new_delivery()
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        d.claim(now, LEASE)
        fail(d, AttemptResult.TRANSIENT, now)
        if attempt < MAX_ATTEMPTS:
            assert d.status is S.FAILED
            # rand() = 0.5 sits in the middle of the jitter: exactly the scheduled step.
            assert d.next_attempt_at - now == RETRY_SCHEDULE[attempt - 1]
            now = d.next_attempt_at
    assert d.status is S.DEAD and d.attempts == MAX_ATTEMPTS and d.next_attempt_at is None
    assert len(d.log) == MAX_ATTEMPTS


@pytest.mark.parametrize("rand", [0.0, 0.999])
def test_jitter_stays_within_ten_percent(rand: float) -> None:
    d = new_delivery()
    d.claim(T0, LEASE)
    fail(d, AttemptResult.TRANSIENT, T0, rand=lambda: rand)
    wait = (d.next_attempt_at - T0).total_seconds()
    assert 4.5 <= wait <= 5.5


def test_retry_after_is_honoured_but_capped_at_a_day() -> None:
    d = new_delivery()
    d.claim(T0, LEASE)
    fail(d, AttemptResult.TRANSIENT, T0, status=429, retry_after=120)
    assert d.next_attempt_at == T0 + timedelta(seconds=120)
    d.claim(d.next_attempt_at, LEASE)
    later = d.next_attempt_at
    fail(d, AttemptResult.TRANSIENT, later, status=429, retry_after=10 * 86400)
    assert d.next_attempt_at == later + timedelta(days=1)


def test_rejections_are_retried_a_few_times_then_dead() -> None:
    d = new_delivery()
    now = T0
    for _ in range(REJECTED_MAX_ATTEMPTS):
        d.claim(now, LEASE)
        fail(d, AttemptResult.REJECTED, now, status=400)
        now = d.next_attempt_at or now
    assert d.status is S.DEAD and d.attempts == REJECTED_MAX_ATTEMPTS


def test_gone_is_dead_at_once() -> None:
    d = new_delivery()
    d.claim(T0, LEASE)
    fail(d, AttemptResult.GONE, T0, status=410)
    assert d.status is S.DEAD and d.last_status_code == 410


def test_replay_sends_again_with_the_same_id_and_body() -> None:
    d = new_delivery()
    message_id, body = d.message_id, d.payload
    d.claim(T0, LEASE)
    d.succeed(status_code=200, duration_ms=1, now=T0)
    d.replay(T0 + timedelta(hours=1))
    assert d.status is S.PENDING and d.attempts == 0 and d.replays == 1
    assert d.due(T0 + timedelta(hours=1))
    d.claim(T0 + timedelta(hours=1), LEASE)
    d.succeed(status_code=200, duration_ms=1, now=T0 + timedelta(hours=1))
    assert (d.message_id, d.payload) == (message_id, body)
    assert [a.replay for a in d.log] == [False, True]


@pytest.mark.parametrize("status", [S.PENDING, S.SENDING])
def test_what_is_still_on_its_way_cannot_be_replayed(status: WebhookDeliveryStatus) -> None:
    d = new_delivery()
    if status is S.SENDING:
        d.claim(T0, LEASE)
    with pytest.raises(DomainError) as refused:
        d.replay(T0)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION


def test_an_abandoned_delivery_is_recovered_and_keeps_its_attempt() -> None:
    d = new_delivery()
    d.claim(T0, LEASE)
    assert not d.abandoned(T0 + timedelta(minutes=1))
    assert d.abandoned(T0 + LEASE)
    d.recover(T0 + LEASE)
    assert d.status is S.FAILED and d.attempts == 1 and d.lease_expires_at is None


def test_a_release_gives_the_attempt_back() -> None:
    d = new_delivery()
    d.claim(T0, LEASE)
    d.release(T0)
    assert d.status is S.PENDING and d.attempts == 0


def test_giving_up_stops_a_delivery_for_good() -> None:
    d = new_delivery()
    d.give_up("the webhook was disabled or deleted", T0)
    assert d.status is S.DEAD and not d.due(T0 + timedelta(days=9))
    assert d.log[-1].error == "the webhook was disabled or deleted"


@pytest.mark.parametrize(
    ("code", "result"),
    [
        (200, AttemptResult.SENT),
        (204, AttemptResult.SENT),
        (301, AttemptResult.REJECTED),
        (400, AttemptResult.REJECTED),
        (401, AttemptResult.REJECTED),
        (404, AttemptResult.REJECTED),
        (408, AttemptResult.TRANSIENT),
        (410, AttemptResult.GONE),
        (429, AttemptResult.TRANSIENT),
        (500, AttemptResult.TRANSIENT),
        (502, AttemptResult.TRANSIENT),
        (504, AttemptResult.TRANSIENT),
    ],
)
def test_answers_are_classified_as_standard_webhooks_says(code: int, result: AttemptResult) -> None:
    assert classify_status(code) is result


# the payload


def test_the_payload_says_what_changed_and_nothing_of_the_report() -> None:
    v = view()
    body = webhook_payload(WebhookEventType.TIP_UPDATED, v, "VGlwOjE=", T0)
    assert len(body.encode()) < MAX_PAYLOAD_BYTES
    message = json.loads(body)
    assert message == {
        "type": "tip.updated",
        "timestamp": T0.isoformat(),
        "data": {
            "id": "VGlwOjE=",
            "ward": {"code": "HM-TANMAI", "name": "Phường Tân Mai"},
            "category": "MA_TUY",
            "status": "TRIAGED",
            "receivedAt": T0.isoformat(),
            "updatedAt": (T0 + timedelta(minutes=5)).isoformat(),
            "overdue": False,
        },
    }
