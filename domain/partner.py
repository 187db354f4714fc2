"""Integration partners: OAuth2 clients that follow tip updates, their webhooks and the deliveries
of those webhooks (an outbox the worker sends from, retries and lets a partner replay).

A partner sees tips of its wards only, and of each tip only what `PartnerTipView` holds: never who
reported it, never what the report says (the text itself may name or identify the reporter).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType
from urllib.parse import urlsplit

from domain.access import Scope
from domain.errors import DomainError, ErrorCode, invalid_transition
from domain.ids import MemberId, TipId, WardId, new_id
from domain.text import clean, required_text
from domain.tip import TipCategory, TipStatus

PartnerClientId = NewType("PartnerClientId", uuid.UUID)
PartnerWebhookId = NewType("PartnerWebhookId", uuid.UUID)
WebhookDeliveryId = NewType("WebhookDeliveryId", uuid.UUID)

NAME_MAX = 200
URL_MAX = 2000
MAX_WARDS = 500
MAX_WEBHOOKS_PER_CLIENT = 10
CLIENT_ID_PREFIX = "gdp_"
CLIENT_SECRET_PREFIX = "gds_"
WEBHOOK_SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # 256 bits: a client secret cannot be guessed, only stolen
MAX_PAYLOAD_BYTES = 20_000  # Standard Webhooks: keep payloads under 20 kB


class PartnerScope(StrEnum):
    """What a partner's token may be used for. A fixed set: a new one is a code change."""

    TIPS_READ = "tips:read"


def parse_scopes(raw: Iterable[str], field_: tuple[str, ...] = ("scopes",)) -> frozenset[str]:
    """Known scopes, at least one; an unknown one is refused rather than silently dropped."""
    scopes = {clean(s) for s in raw if clean(s)}
    known = {s.value for s in PartnerScope}
    unknown = sorted(scopes - known)
    if unknown:
        raise DomainError.one(
            ErrorCode.INVALID,
            f"Phạm vi không hợp lệ: {', '.join(unknown)}.",
            f"Unknown scope: {', '.join(unknown)}.",
            field_,
        )
    if not scopes:
        raise DomainError.one(
            ErrorCode.REQUIRED,
            "Cần ít nhất một phạm vi truy cập.",
            "At least one scope is required.",
            field_,
        )
    return frozenset(scopes)


# Client secrets are stored as scrypt hashes. The secrets are 256-bit random strings, so the
# work factor is not what protects them; it keeps a stolen table useless all the same, at about
# 30 ms per token request.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 1024 * 1024
    )


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison of `secret` with a stored hash; False for any malformed input."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or len(secret) > 256:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when a client id is unknown, so that a wrong id and a wrong secret take the
# same time and the token endpoint does not tell which client ids exist.
DUMMY_SECRET_HASH = hash_secret("unknown client", salt=b"\0" * 16)


def _token(rand: Callable[[int], bytes], n: int) -> str:
    return base64.urlsafe_b64encode(rand(n)).decode().rstrip("=")


@dataclass(slots=True)
class PartnerClient:
    """An integration partner's OAuth2 client (client-credentials grant)."""

    id: PartnerClientId
    client_id: str
    name: str
    scopes: frozenset[str]
    ward_ids: tuple[WardId, ...]
    secret_hash: str
    created_at: datetime
    created_by: MemberId | None = None
    revoked_at: datetime | None = None
    revoked_by: MemberId | None = None

    @classmethod
    def register(
        cls,
        *,
        name: str,
        scopes: Iterable[str],
        ward_ids: Iterable[WardId],
        created_by: MemberId | None,
        now: datetime,
        rand: Callable[[int], bytes] = os.urandom,
    ) -> tuple[PartnerClient, str]:
        """A new client and its secret. The secret exists only in the return value: what is
        stored is its hash, so it is shown once and can never be read back."""
        wards = tuple(sorted(dict.fromkeys(ward_ids), key=str))
        if not wards:
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần ít nhất một đơn vị.",
                "At least one unit is required.",
                ("wardIds",),
            )
        if len(wards) > MAX_WARDS:
            raise DomainError.one(
                ErrorCode.OUT_OF_RANGE,
                f"Tối đa {MAX_WARDS} đơn vị.",
                f"At most {MAX_WARDS} units.",
                ("wardIds",),
            )
        secret = CLIENT_SECRET_PREFIX + _token(rand, SECRET_BYTES)
        client = cls(
            id=PartnerClientId(new_id()),
            client_id=CLIENT_ID_PREFIX + _token(rand, 15),
            name=required_text(name, "name", max_len=NAME_MAX, label_vi="Tên", label_en="Name"),
            scopes=parse_scopes(scopes),
            ward_ids=wards,
            secret_hash=hash_secret(secret),
            created_at=now,
            created_by=created_by,
        )
        return client, secret

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def check_secret(self, secret: str) -> bool:
        return verify_secret(secret, self.secret_hash)

    def revoke(self, *, actor_id: MemberId | None, now: datetime) -> None:
        if not self.active:
            raise invalid_transition(
                "ứng dụng đối tác", "partner client", "revoked", "thu hồi", action_en="revoke"
            )
        self.revoked_at = now
        self.revoked_by = actor_id

    def granted_scopes(self, requested: Iterable[str] | None) -> frozenset[str] | None:
        """The scopes a token may carry: all of the client's when none are asked for, the ones
        asked for when the client holds them all, else None (RFC 6749 invalid_scope)."""
        if requested is None:
            return self.scopes
        wanted = frozenset(requested)
        if not wanted or not wanted <= self.scopes:
            return None
        return wanted


@dataclass(frozen=True, slots=True)
class PartnerPrincipal:
    """A partner calling with a valid access token of an active client."""

    client: PartnerClientId
    client_id: str
    name: str
    scopes: frozenset[str]
    ward_ids: frozenset[WardId]

    def has(self, scope: PartnerScope) -> bool:
        return scope.value in self.scopes

    def scope(self) -> Scope:
        return Scope(wards=self.ward_ids)

    def require(self, scope: PartnerScope) -> None:
        if not self.has(scope):
            raise DomainError.one(
                ErrorCode.FORBIDDEN,
                f"Mã truy cập thiếu phạm vi {scope.value}.",
                f"The access token lacks the {scope.value} scope.",
            )


class WebhookEventType(StrEnum):
    TIP_CREATED = "tip.created"
    TIP_UPDATED = "tip.updated"


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # the endpoint answered 410 Gone
    DELETED = "deleted"  # removed by the partner or an admin; kept for the delivery log


def public_address(host: str) -> bool:
    """Whether an IP address may be reached from a webhook: a public unicast address only, never
    loopback, private, link-local (cloud metadata lives there), multicast or reserved."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain")


def check_webhook_url(url: str | None, *, allow_http: bool, allow_private: bool) -> str:
    """An absolute http(s) URL with a host, no credentials and no fragment. In production
    (neither flag) https only, and no address or name that is obviously internal; the sender
    checks again what the name resolves to, on every attempt."""
    text = clean(url or "")
    problem: tuple[str, str] | None = None
    parts = None
    if not text:
        problem = ("Cần địa chỉ URL.", "A URL is required.")
    elif len(text) > URL_MAX:
        problem = (f"URL dài quá {URL_MAX} ký tự.", f"The URL is longer than {URL_MAX} characters.")
    else:
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            parts = None
        host = (parts.hostname or "") if parts else ""
        literal = _is_ip(host)
        if parts is None or parts.scheme not in ("https", "http") or not host:
            problem = ("URL không hợp lệ.", "This is not a valid http(s) URL.")
        elif parts.scheme == "http" and not allow_http:
            problem = ("Địa chỉ webhook phải dùng https.", "Webhook URLs must use https.")
        elif parts.username is not None or parts.password is not None:
            problem = (
                "URL không được chứa tên đăng nhập hay mật khẩu.",
                "The URL must not carry a user name or password.",
            )
        elif parts.fragment:
            problem = ("URL không được có phần '#'.", "The URL must not have a '#' fragment.")
        elif not allow_private and (
            (literal and not public_address(host))
            or host.rstrip(".").lower().endswith(_LOCAL_NAMES)
            or (not literal and "." not in host)
        ):
            problem = (
                "Địa chỉ webhook phải là địa chỉ công khai trên Internet.",
                "Webhook URLs must point to a public Internet address.",
            )
    if problem:
        raise DomainError.one(ErrorCode.INVALID, problem[0], problem[1], ("url",))
    return text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class PartnerWebhook:
    """Where a partner that cannot hold a socket receives signed tip events."""

    id: PartnerWebhookId
    client: PartnerClientId
    url: str
    events: frozenset[WebhookEventType]
    secret_key_id: str
    secret_sealed: bytes
    created_at: datetime
    status: WebhookStatus = WebhookStatus.ACTIVE
    status_reason: str | None = None
    status_changed_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        webhook_id: PartnerWebhookId,
        client: PartnerClientId,
        url: str,
        events: Iterable[WebhookEventType] | None,
        secret_key_id: str,
        secret_sealed: bytes,
        now: datetime,
    ) -> PartnerWebhook:
        chosen = frozenset(events) if events is not None else frozenset(WebhookEventType)
        if not chosen:
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần ít nhất một loại sự kiện.",
                "At least one event type is required.",
                ("events",),
            )
        return cls(
            id=webhook_id,
            client=client,
            url=url,
            events=chosen,
            secret_key_id=secret_key_id,
            secret_sealed=secret_sealed,
            created_at=now,
        )

    @property
    def active(self) -> bool:
        return self.status is WebhookStatus.ACTIVE

    def disable(self, reason: str, now: datetime) -> None:
        if self.status is WebhookStatus.ACTIVE:
            self.status = WebhookStatus.DISABLED
            self.status_reason = reason[:500]
            self.status_changed_at = now

    def delete(self, now: datetime) -> None:
        if self.status is WebhookStatus.DELETED:
            raise invalid_transition("webhook", "webhook", self.status, "xoá", action_en="delete")
        self.status = WebhookStatus.DELETED
        self.status_reason = None
        self.status_changed_at = now


@dataclass(frozen=True, slots=True)
class PartnerTipView:
    """A tip as a partner sees it: where, what kind, how far along. Nothing about who reported it
    and not the report's text, which may itself identify the reporter."""

    tip_id: TipId
    ward_id: WardId
    ward_code: str
    ward_name: str
    category: TipCategory
    status: TipStatus
    received_at: datetime
    updated_at: datetime
    overdue: bool

    def data(self, ref: str) -> dict[str, object]:
        """The webhook's `data`: the fields of the GraphQL PartnerTipUpdate, named and spelled the
        same way (enum values as GraphQL names them), `ref` being the tip's global id."""
        return {
            "id": ref,
            "ward": {"code": self.ward_code, "name": self.ward_name},
            "category": self.category.name,
            "status": self.status.name,
            "receivedAt": self.received_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "overdue": self.overdue,
        }


def webhook_payload(
    event_type: WebhookEventType, view: PartnerTipView, ref: str, now: datetime
) -> str:
    """The body of a Standard Webhooks message, as sent (and signed) on every attempt."""
    message = {"type": event_type.value, "timestamp": now.isoformat(), "data": view.data(ref)}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def classify_status(status_code: int) -> AttemptResult:
    """What an endpoint's answer means for the delivery (Standard Webhooks' guidance)."""
    if 200 <= status_code < 300:
        return AttemptResult.SENT
    if status_code == 410:
        return AttemptResult.GONE
    if status_code in (408, 429) or status_code >= 500:
        return AttemptResult.TRANSIENT
    # Redirects are failures too: following them would let an endpoint point us anywhere.
    return AttemptResult.REJECTED


# What the worker does after an attempt, by what the endpoint answered.
class AttemptResult(StrEnum):
    SENT = "sent"  # 2xx
    TRANSIENT = "transient"  # 429, 5xx, timeout, connection error: retried on the full schedule
    REJECTED = "rejected"  # 3xx, other 4xx: retried a few times in case it was a blip
    GONE = "gone"  # 410: the partner asked us to stop; the webhook is disabled


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


# Standard Webhooks' example schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
# 20 h and 24 h later (about three days in all).
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
REJECTED_MAX_ATTEMPTS = 3
MAX_RETRY_AFTER = timedelta(hours=24)
JITTER = 0.2  # each wait is stretched or shrunk by up to 10 %
MAX_LOGGED_ATTEMPTS = 30


def retry_delay(attempt: int, rand: Callable[[], float], retry_after: float | None) -> timedelta:
    """The wait after failed attempt number `attempt` (from 1): the schedule's step with jitter,
    never shorter than the endpoint's Retry-After (itself capped at a day)."""
    step = RETRY_SCHEDULE[min(max(attempt, 1), len(RETRY_SCHEDULE)) - 1]
    delay = step * (1 - JITTER / 2 + JITTER * rand())
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None
    replay: bool = False


@dataclass(slots=True)
class WebhookDelivery:
    """One event for one webhook. Its id is the `webhook-id` header: the same on every retry and
    every replay, so the partner can drop what it has already seen."""

    id: WebhookDeliveryId
    webhook: PartnerWebhookId
    client: PartnerClientId
    ward_id: WardId
    tip_id: TipId
    event_type: WebhookEventType
    payload: str
    created_at: datetime
    status: WebhookDeliveryStatus = WebhookDeliveryStatus.PENDING
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    next_attempt_at: datetime | None = None
    lease_expires_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    replays: int = 0
    log: list[DeliveryAttempt] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        webhook: PartnerWebhook,
        ward_id: WardId,
        tip_id: TipId,
        event_type: WebhookEventType,
        payload: str,
        now: datetime,
    ) -> WebhookDelivery:
        if len(payload.encode("utf-8")) >= MAX_PAYLOAD_BYTES:
            raise ValueError("a webhook payload must stay under 20 kB")
        return cls(
            id=WebhookDeliveryId(new_id()),
            webhook=webhook.id,
            client=webhook.client,
            ward_id=ward_id,
            tip_id=tip_id,
            event_type=event_type,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )

    @property
    def message_id(self) -> str:
        """The `webhook-id` header."""
        return f"msg_{self.id.hex}"

    def due(self, now: datetime) -> bool:
        return self.status in (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.FAILED) and (
            self.next_attempt_at is None or self.next_attempt_at <= now
        )

    def abandoned(self, now: datetime) -> bool:
        return (
            self.status is WebhookDeliveryStatus.SENDING
            and self.lease_expires_at is not None
            and self.lease_expires_at <= now
        )

    def claim(self, now: datetime, lease: timedelta) -> None:
        self._require({WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.FAILED}, "gửi", "send")
        if not self.due(now):
            raise DomainError.one(
                ErrorCode.INVALID_TRANSITION,
                "Lượt gửi chưa đến giờ gửi.",
                "This delivery is not due yet.",
                ("nextAttemptAt",),
            )
        # Counted when claimed: a worker that dies mid-send still uses up an attempt.
        self.attempts += 1
        self.status = WebhookDeliveryStatus.SENDING
        self.lease_expires_at = now + lease

    def release(self, now: datetime) -> None:
        """Give a claimed delivery back untried (graceful shutdown)."""
        self._require({WebhookDeliveryStatus.SENDING}, "trả lại", "release")
        self.attempts -= 1
        self.status = WebhookDeliveryStatus.PENDING
        self.next_attempt_at = now
        self.lease_expires_at = None

    def recover(self, now: datetime) -> None:
        """Take back a delivery whose worker died mid-send; the attempt stays counted."""
        if not self.abandoned(now):
            raise invalid_transition(
                "lượt gửi webhook", "webhook delivery", self.status, "thu hồi", action_en="recover"
            )
        self._record(now, None, "the worker sending this delivery stopped", None)
        self._after_failure(AttemptResult.TRANSIENT, None, now, lambda: 0.5)

    def succeed(self, *, status_code: int, duration_ms: int | None, now: datetime) -> None:
        self._require({WebhookDeliveryStatus.SENDING}, "ghi nhận đã gửi", "mark as sent")
        self._record(now, status_code, None, duration_ms)
        self.status = WebhookDeliveryStatus.SENT
        self.sent_at = now
        self.next_attempt_at = None
        self.lease_expires_at = None
        self.last_error = None

    def fail(
        self,
        result: AttemptResult,
        *,
        status_code: int | None,
        error: str,
        retry_after: float | None,
        duration_ms: int | None,
        now: datetime,
        rand: Callable[[], float],
    ) -> None:
        self._require({WebhookDeliveryStatus.SENDING}, "ghi nhận lỗi", "record a failure for")
        if result is AttemptResult.SENT:
            raise ValueError("a success is recorded with succeed()")
        self._record(now, status_code, error, duration_ms)
        self._after_failure(result, retry_after, now, rand)

    def give_up(self, reason: str, now: datetime) -> None:
        """Stop for good without sending: the webhook was disabled or deleted, the client revoked."""
        self._require(
            {
                WebhookDeliveryStatus.PENDING,
                WebhookDeliveryStatus.FAILED,
                WebhookDeliveryStatus.SENDING,
            },
            "dừng",
            "stop",
        )
        self._record(now, None, reason, None)
        self.status = WebhookDeliveryStatus.DEAD
        self.next_attempt_at = None
        self.lease_expires_at = None

    def replay(self, now: datetime) -> None:
        """Send a past delivery again, at once and with a fresh budget of attempts. The body and
        the webhook-id stay the same; only webhook-timestamp (and so the signature) changes."""
        self._require(
            {WebhookDeliveryStatus.SENT, WebhookDeliveryStatus.DEAD, WebhookDeliveryStatus.FAILED},
            "gửi lại",
            "replay",
        )
        self.status = WebhookDeliveryStatus.PENDING
        self.attempts = 0
        self.replays += 1
        self.next_attempt_at = now
        self.lease_expires_at = None

    def _after_failure(
        self,
        result: AttemptResult,
        retry_after: float | None,
        now: datetime,
        rand: Callable[[], float],
    ) -> None:
        self.lease_expires_at = None
        limit = self.max_attempts if result is AttemptResult.TRANSIENT else REJECTED_MAX_ATTEMPTS
        if result is AttemptResult.GONE or self.attempts >= limit:
            self.status = WebhookDeliveryStatus.DEAD
            self.next_attempt_at = None
            return
        self.status = WebhookDeliveryStatus.FAILED
        self.next_attempt_at = now + retry_delay(self.attempts, rand, retry_after)

    def _record(
        self, now: datetime, status_code: int | None, error: str | None, duration_ms: int | None
    ) -> None:
        self.last_status_code = status_code
        self.last_error = error[:1000] if error else None
        attempt = DeliveryAttempt(now, status_code, self.last_error, duration_ms, self.replays > 0)
        self.log = [*self.log, attempt][-MAX_LOGGED_ATTEMPTS:]

    def _require(self, allowed: set[WebhookDeliveryStatus], vi: str, en: str) -> None:
        if self.status not in allowed:
            raise invalid_transition(
                "lượt gửi webhook", "webhook delivery", self.status, vi, action_en=en
            )
