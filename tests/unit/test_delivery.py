import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.channels import ChannelKind
from domain.delivery import BACKOFF_CAP, Delivery, DeliveryStatus, backoff_seconds
from domain.errors import DomainError, ErrorCode
from domain.events import DeliveryFailed, DeliverySent
from domain.history import Transition
from domain.ids import BulletinId, GroupId, MemberId

S = DeliveryStatus
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=30)  # later than any backoff
OFFICER = MemberId(uuid.uuid4())


def half() -> float:
    return 0.5


def new_delivery(**overrides) -> Delivery:
    fields = dict(
        bulletin_id=BulletinId(uuid.uuid4()),
        group_id=GroupId(uuid.uuid4()),
        channel=ChannelKind.ZALO_GROUP,
        now=T0,
    )
    return Delivery.create(**(fields | overrides))


def fail(d: Delivery, now: datetime = T0, *, retryable: bool = True, **kw) -> None:
    d.fail("HTTP 503", retryable=retryable, retry_after=kw.get("retry_after"), now=now, rand=half)


def in_status(status: DeliveryStatus) -> Delivery:
    d = new_delivery()
    if status is not S.PENDING:
        d.claim(T0)
        if status is S.SENT:
            d.succeed(external_post_id="p1", external_url=None, now=T0)
        elif status is S.FAILED:
            fail(d)
        elif status is S.DEAD:
            fail(d, retryable=False)
    assert d.status is status
    d.events.clear()
    return d


ACTIONS: dict[str, Callable[[Delivery], object]] = {
    "claim": lambda d: d.claim(FAR),
    "release": lambda d: d.release(FAR),
    "succeed": lambda d: d.succeed(external_post_id="p", external_url="https://x", now=FAR),
    "fail": lambda d: fail(d, FAR),
    "retry_by_hand": lambda d: d.retry_by_hand(actor_id=OFFICER, now=FAR),
}
LEGAL = {
    "claim": {S.PENDING, S.FAILED},
    "release": {S.SENDING},
    "succeed": {S.SENDING},
    "fail": {S.SENDING},
    "retry_by_hand": {S.DEAD},
}


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        (S.PENDING, "claim", S.SENDING),
        (S.FAILED, "claim", S.SENDING),
        (S.SENDING, "release", S.PENDING),
        (S.SENDING, "succeed", S.SENT),
        (S.SENDING, "fail", S.FAILED),
        (S.DEAD, "retry_by_hand", S.PENDING),
    ],
)
def test_legal_transition(start: DeliveryStatus, action: str, expected: DeliveryStatus) -> None:
    d = in_status(start)
    history = len(d.history)
    ACTIONS[action](d)
    assert d.status is expected
    assert len(d.history) == history + 1
    assert (d.history[-1].from_status, d.history[-1].to_status, d.history[-1].at) == (
        start,
        expected,
        FAR,
    )


@pytest.mark.parametrize(
    ("start", "action"),
    [(s, a) for a in ACTIONS for s in DeliveryStatus if s not in LEGAL[a]],
)
def test_illegal_transition(start: DeliveryStatus, action: str) -> None:
    d = in_status(start)
    before = (list(d.history), d.attempts, d.next_attempt_at)
    with pytest.raises(DomainError) as err:
        ACTIONS[action](d)
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert d.status is start
    assert (d.history, d.attempts, d.next_attempt_at) == before
    assert d.events == []


def test_new_delivery_is_pending_and_due_now() -> None:
    d = new_delivery()
    assert (d.status, d.attempts, d.max_attempts, d.next_attempt_at) == (S.PENDING, 0, 6, T0)
    assert d.due(T0)


def test_idempotency_key_is_stable_across_retries_and_unique_per_delivery() -> None:
    d = new_delivery()
    key = d.idempotency_key
    d.claim(T0)
    fail(d)
    d.claim(FAR)
    assert d.idempotency_key == key
    assert new_delivery().idempotency_key != key


def test_a_delivery_held_for_a_schedule_cannot_be_claimed_early() -> None:
    d = new_delivery(not_before=T0 + timedelta(hours=2))
    assert not d.due(T0 + timedelta(hours=1))
    with pytest.raises(DomainError) as err:
        d.claim(T0 + timedelta(hours=1))
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    d.claim(T0 + timedelta(hours=2))
    assert d.status is S.SENDING


def test_a_failed_delivery_cannot_be_claimed_before_its_next_attempt() -> None:
    d = in_status(S.FAILED)
    assert d.next_attempt_at is not None
    with pytest.raises(DomainError) as err:
        d.claim(d.next_attempt_at - timedelta(seconds=1))
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    d.claim(d.next_attempt_at)
    assert (d.status, d.attempts) == (S.SENDING, 2)


def test_claim_counts_an_attempt_and_release_gives_it_back() -> None:
    d = new_delivery()
    d.claim(T0)
    assert d.attempts == 1
    d.release(T0)
    assert (d.status, d.attempts, d.next_attempt_at) == (S.PENDING, 0, T0)


def test_succeed_records_receipt_and_event() -> None:
    d = in_status(S.SENDING)
    d.succeed(external_post_id="9876", external_url="https://zalo.me/p/9876", now=T0)
    assert (d.external_post_id, d.external_url, d.sent_at) == ("9876", "https://zalo.me/p/9876", T0)
    assert (d.next_attempt_at, d.last_error) == (None, None)
    assert d.events == [DeliverySent(d.id, d.bulletin_id)]


def test_fail_schedules_retry_with_jittered_backoff() -> None:
    d = in_status(S.SENDING)
    fail(d)
    assert d.status is S.FAILED
    assert d.last_error == "HTTP 503"
    assert d.next_attempt_at == T0 + timedelta(seconds=15)  # half of 30 s on the first attempt
    assert d.events == [DeliveryFailed(d.id, d.bulletin_id, dead=False)]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(120.0, 120.0), (15.5, 15.5), (5.0, 15.0), (0.0, 15.0), (None, 15.0)],
)
def test_retry_after_is_a_lower_bound(retry_after: float | None, expected: float) -> None:
    d = in_status(S.SENDING)
    fail(d, retry_after=retry_after)
    assert d.next_attempt_at == T0 + timedelta(seconds=expected)


def test_a_non_retryable_error_is_dead_at_once() -> None:
    d = in_status(S.SENDING)
    fail(d, retryable=False, retry_after=60)
    assert (d.status, d.attempts, d.next_attempt_at) == (S.DEAD, 1, None)
    assert d.events == [DeliveryFailed(d.id, d.bulletin_id, dead=True)]


@pytest.mark.parametrize("max_attempts", [1, 3, 6])
def test_dead_after_the_last_attempt(max_attempts: int) -> None:
    d = new_delivery(max_attempts=max_attempts)
    now = T0
    for attempt in range(1, max_attempts + 1):
        d.claim(now)
        fail(d, now)
        assert d.attempts == attempt
        now = FAR + timedelta(days=attempt)
    assert d.status is S.DEAD
    assert d.next_attempt_at is None
    assert [e.dead for e in d.events if isinstance(e, DeliveryFailed)] == [False] * (
        max_attempts - 1
    ) + [True]


def test_retry_by_hand_resets_attempts() -> None:
    d = new_delivery(max_attempts=2)
    for now in (T0, FAR):
        d.claim(now)
        fail(d, now)
    assert d.status is S.DEAD
    d.retry_by_hand(actor_id=OFFICER, now=FAR, comment="Đã cấp lại quyền cho OA")
    assert (d.status, d.attempts, d.next_attempt_at) == (S.PENDING, 0, FAR)
    assert d.history[-1] == Transition(S.DEAD, S.PENDING, OFFICER, FAR, "Đã cấp lại quyền cho OA")
    d.claim(FAR)
    assert d.status is S.SENDING


def test_long_errors_are_truncated() -> None:
    d = in_status(S.SENDING)
    d.fail("x" * 5000, retryable=True, retry_after=None, now=T0, rand=half)
    assert d.last_error is not None
    assert len(d.last_error) == 1000


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, 3600), (9, 3600)],
)
def test_backoff_ceiling_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert backoff_seconds(attempt, lambda: 0.0) == 0.0  # full jitter reaches down to zero
    assert backoff_seconds(attempt, lambda: 1.0) == ceiling
    assert backoff_seconds(attempt, lambda: 0.25) == ceiling / 4


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 50, 10_000])
def test_backoff_stays_within_bounds(attempt: int) -> None:
    rng = random.Random(attempt)
    delays = [backoff_seconds(attempt, rng.random) for _ in range(1000)]
    assert all(0 <= d < min(BACKOFF_CAP, 30 * 2 ** (attempt - 1)) for d in delays)


def test_backoff_takes_custom_base_and_cap() -> None:
    assert backoff_seconds(3, lambda: 1.0, base=1, cap=10) == 4
    assert backoff_seconds(9, lambda: 1.0, base=1, cap=10) == 10


def test_backoff_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError):
        backoff_seconds(0, half)
