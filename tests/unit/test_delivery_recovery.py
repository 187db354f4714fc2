"""A worker that dies mid-send: its lease runs out, another takes the delivery back, and the
attempt it used stays counted, so a delivery that keeps killing workers ends dead."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.channels import ChannelKind
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import DomainError, ErrorCode
from domain.events import DeliveryFailed
from domain.ids import BulletinId, GroupId

S = DeliveryStatus
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def new_delivery(max_attempts: int = 6) -> Delivery:
    return Delivery.create(
        bulletin_id=BulletinId(uuid.uuid4()),
        group_id=GroupId(uuid.uuid4()),
        channel=ChannelKind.FACEBOOK_PAGE,
        now=T0,
        max_attempts=max_attempts,
    )


def claimed(now: datetime = T0, lease: timedelta = LEASE) -> Delivery:
    d = new_delivery()
    d.claim(now, lease)
    return d


def test_claim_takes_a_lease() -> None:
    d = claimed(lease=timedelta(seconds=90))
    assert d.status is S.SENDING
    assert d.lease_expires_at == T0 + timedelta(seconds=90)
    assert d.attempts == 1


def test_a_delivery_is_abandoned_once_its_lease_has_run_out() -> None:
    d = claimed()
    assert not d.abandoned(T0)
    assert not d.abandoned(T0 + LEASE - timedelta(microseconds=1))
    assert d.abandoned(T0 + LEASE)
    assert d.abandoned(T0 + LEASE * 100)


@pytest.mark.parametrize("status", [S.PENDING, S.FAILED, S.SENT, S.DEAD])
def test_only_a_sending_delivery_can_be_abandoned(status: DeliveryStatus) -> None:
    d = claimed()
    if status is S.PENDING:
        d.release(T0)
    elif status is S.SENT:
        d.succeed(external_post_id="p", external_url=None, now=T0)
    elif status is not S.SENDING:
        d.fail("HTTP 503", retryable=status is S.FAILED, retry_after=None, now=T0, rand=lambda: 0)
    assert d.status is status
    assert d.lease_expires_at is None
    assert not d.abandoned(T0 + LEASE * 100)
    with pytest.raises(DomainError) as info:
        d.recover(T0 + LEASE * 100)
    assert info.value.code is ErrorCode.INVALID_TRANSITION


def test_recover_before_the_lease_ends_is_refused() -> None:
    d = claimed()
    with pytest.raises(DomainError) as info:
        d.recover(T0 + LEASE - timedelta(seconds=1))
    assert info.value.code is ErrorCode.INVALID_TRANSITION
    assert d.status is S.SENDING


def test_recover_makes_it_due_again_and_keeps_the_attempt() -> None:
    d = claimed()
    later = T0 + LEASE + timedelta(seconds=5)
    d.recover(later)
    assert d.status is S.FAILED
    assert d.attempts == 1
    assert d.next_attempt_at == later
    assert d.lease_expires_at is None
    assert d.last_error and "stopped before recording an outcome" in d.last_error
    step = d.history[-1]
    assert (step.from_status, step.to_status, step.actor_id, step.at, step.comment) == (
        S.SENDING,
        S.FAILED,
        None,
        later,
        "worker lost",
    )
    assert d.events == []  # not final: nobody needs to hear about it
    assert d.due(later)
    d.claim(later, LEASE)
    assert d.attempts == 2


def test_a_delivery_that_keeps_losing_its_worker_ends_dead() -> None:
    d = new_delivery(max_attempts=3)
    now = T0
    for attempt in range(1, 4):
        d.claim(now, LEASE)
        assert d.attempts == attempt
        now += LEASE
        d.recover(now)
    assert d.status is S.DEAD
    assert d.next_attempt_at is None
    assert not d.due(now + timedelta(days=365))
    assert d.events == [DeliveryFailed(d.id, d.bulletin_id, True)]
    assert [step.to_status for step in d.history] == [
        S.SENDING,
        S.FAILED,
        S.SENDING,
        S.FAILED,
        S.SENDING,
        S.DEAD,
    ]


def test_a_dead_recovered_delivery_can_be_retried_by_hand() -> None:
    d = new_delivery(max_attempts=1)
    d.claim(T0, LEASE)
    d.recover(T0 + LEASE)
    assert d.status is S.DEAD
    d.retry_by_hand(actor_id=None, now=T0 + LEASE * 2)
    assert (d.status, d.attempts) == (S.PENDING, 0)
    assert d.due(T0 + LEASE * 2)


def test_release_gives_the_attempt_back_but_recover_does_not() -> None:
    released, recovered = claimed(), claimed()
    released.release(T0 + timedelta(seconds=1))
    recovered.recover(T0 + LEASE)
    assert (released.status, released.attempts) == (S.PENDING, 0)
    assert (recovered.status, recovered.attempts) == (S.FAILED, 1)


def test_an_outcome_after_recovery_and_a_new_claim_uses_the_new_lease() -> None:
    d = claimed()
    d.recover(T0 + LEASE)
    d.claim(T0 + LEASE, LEASE)
    assert d.lease_expires_at == T0 + LEASE * 2
    d.succeed(external_post_id="sandbox:k", external_url=None, now=T0 + LEASE, sandbox=True)
    assert (d.status, d.sandbox, d.lease_expires_at, d.last_error) == (S.SENT, True, None, None)
