"""One bulletin sent to one group: the outbox row that workers claim, send and retry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.channels import ChannelKind
from domain.errors import DomainError, ErrorCode, invalid_transition
from domain.events import DeliveryFailed, DeliverySent, Event
from domain.history import Transition
from domain.ids import BulletinId, DeliveryId, GroupId, MemberId, new_id
from domain.text import optional_text

BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
MAX_ERROR_LEN = 1000


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"

    @property
    def final(self) -> bool:
        """Nothing more will happen without a person stepping in."""
        return self in (DeliveryStatus.SENT, DeliveryStatus.DEAD)


def backoff_seconds(
    attempt: int,
    rand: Callable[[], float],
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))).

    Full jitter spreads the retries of many deliveries that failed together (a channel outage)
    instead of sending them back in one wave.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    # The exponent is bounded so a large attempt number cannot build a huge integer.
    ceiling = min(cap, base * 2 ** min(attempt - 1, 32))
    return rand() * ceiling


@dataclass(slots=True)
class Delivery:
    id: DeliveryId
    bulletin_id: BulletinId
    group_id: GroupId
    channel: ChannelKind
    idempotency_key: str
    next_attempt_at: datetime | None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    max_attempts: int = 6
    last_error: str | None = None
    external_post_id: str | None = None
    external_url: str | None = None
    sent_at: datetime | None = None
    sandbox: bool = False
    lease_expires_at: datetime | None = None
    history: list[Transition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        bulletin_id: BulletinId,
        group_id: GroupId,
        channel: ChannelKind,
        now: datetime,
        not_before: datetime | None = None,
        max_attempts: int = 6,
    ) -> Delivery:
        """`not_before` holds a scheduled bulletin's deliveries until its time."""
        delivery_id = DeliveryId(new_id())
        return cls(
            id=delivery_id,
            bulletin_id=bulletin_id,
            group_id=group_id,
            channel=channel,
            # Stable across retries, so a channel that dedupes sees a crash-and-retry as one post.
            idempotency_key=f"gandan-{delivery_id.hex}",
            next_attempt_at=not_before or now,
            max_attempts=max_attempts,
        )

    def due(self, now: datetime) -> bool:
        return self.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED) and (
            self.next_attempt_at is None or self.next_attempt_at <= now
        )

    def claim(self, now: datetime, lease: timedelta = timedelta(minutes=10)) -> None:
        self._require({DeliveryStatus.PENDING, DeliveryStatus.FAILED}, "nhận gửi", "claim")
        if not self.due(now):
            raise DomainError.one(
                ErrorCode.INVALID_TRANSITION,
                "Lượt gửi chưa đến giờ gửi.",
                "This delivery is not due yet.",
                ("nextAttemptAt",),
            )
        # Counted when claimed, so a worker that dies mid-send still uses up an attempt.
        self.attempts += 1
        self._move(DeliveryStatus.SENDING, None, now)
        # Past this moment a worker is presumed dead and another may take the delivery over.
        self.lease_expires_at = now + lease

    def abandoned(self, now: datetime) -> bool:
        return (
            self.status is DeliveryStatus.SENDING
            and self.lease_expires_at is not None
            and self.lease_expires_at <= now
        )

    def recover(self, now: datetime) -> None:
        """Take back a delivery whose worker died mid-send. The attempt it used stays counted."""
        if not self.abandoned(now):
            raise invalid_transition(
                "lượt gửi", "delivery", self.status, "thu hồi", action_en="recover"
            )
        dead = self.attempts >= self.max_attempts
        self._move(DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED, None, now, "worker lost")
        self.last_error = "the worker sending this delivery stopped before recording an outcome"
        self.next_attempt_at = None if dead else now
        self.lease_expires_at = None
        if dead:
            self.events.append(DeliveryFailed(self.id, self.bulletin_id, True))

    def release(self, now: datetime) -> None:
        """Give a claimed delivery back untried, as a worker does on a graceful shutdown."""
        self._require({DeliveryStatus.SENDING}, "trả lại", "release")
        self.attempts -= 1
        self._move(DeliveryStatus.PENDING, None, now)
        self.next_attempt_at = now
        self.lease_expires_at = None

    def succeed(
        self,
        *,
        external_post_id: str | None,
        external_url: str | None,
        now: datetime,
        sandbox: bool = False,
    ) -> None:
        self._require({DeliveryStatus.SENDING}, "ghi nhận đã gửi", "mark as sent")
        self._move(DeliveryStatus.SENT, None, now)
        self.external_post_id = external_post_id
        self.external_url = external_url
        self.sent_at = now
        self.sandbox = sandbox
        self.next_attempt_at = None
        self.lease_expires_at = None
        self.last_error = None
        self.events.append(DeliverySent(self.id, self.bulletin_id))

    def fail(
        self,
        error: str,
        *,
        retryable: bool,
        retry_after: float | None,
        now: datetime,
        rand: Callable[[], float],
    ) -> None:
        self._require({DeliveryStatus.SENDING}, "ghi nhận lỗi", "record a failure for")
        dead = not retryable or self.attempts >= self.max_attempts
        self._move(DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED, None, now)
        self.last_error = error[:MAX_ERROR_LEN]
        self.lease_expires_at = None
        if dead:
            self.next_attempt_at = None
        else:
            delay = backoff_seconds(self.attempts, rand)
            # The channel knows its own rate limit better than our backoff does.
            if retry_after is not None:
                delay = max(delay, retry_after)
            self.next_attempt_at = now + timedelta(seconds=delay)
        self.events.append(DeliveryFailed(self.id, self.bulletin_id, dead))

    def retry_by_hand(
        self, *, actor_id: MemberId | None, now: datetime, comment: str | None = None
    ) -> None:
        self._require({DeliveryStatus.DEAD}, "gửi lại", "retry")
        self._move(DeliveryStatus.PENDING, actor_id, now, comment)
        self.attempts = 0
        self.next_attempt_at = now

    def _require(self, allowed: set[DeliveryStatus], action_vi: str, action_en: str) -> None:
        if self.status not in allowed:
            raise invalid_transition(
                "lượt gửi", "delivery", self.status, action_vi, action_en=action_en
            )

    def _move(
        self,
        to: DeliveryStatus,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        note = optional_text(
            comment, "comment", max_len=2000, label_vi="Ghi chú", label_en="Comment"
        )
        self.history.append(Transition(self.status, to, actor_id, now, note))
        self.status = to
