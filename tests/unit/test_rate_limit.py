"""Per-account pacing: a token bucket each, and pauses a channel asks for."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.channels import ChannelKind
from domain.rate_limit import AccountLimiter

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PAGE = (ChannelKind.FACEBOOK_PAGE, "facebook:tan-mai")
OTHER = (ChannelKind.FACEBOOK_PAGE, "facebook:tuong-mai")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_burst_goes_at_once_then_calls_wait_for_the_rate() -> None:
    limiter = AccountLimiter(rate=2.0, burst=3.0)
    assert [limiter.wait_seconds(PAGE, T0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_seconds(PAGE, T0) == pytest.approx(0.5)
    # Asking does not spend: the answer stays the same until time passes.
    assert limiter.wait_seconds(PAGE, T0) == pytest.approx(0.5)
    assert limiter.wait_seconds(PAGE, at(0.25)) == pytest.approx(0.25)
    assert limiter.wait_seconds(PAGE, at(0.5)) == 0.0
    assert limiter.wait_seconds(PAGE, at(0.5)) == pytest.approx(0.5)


def test_the_sustained_rate_is_the_configured_one() -> None:
    limiter = AccountLimiter(rate=0.5, burst=2.0)  # one call every two seconds
    sent = [t for t in range(100) if limiter.wait_seconds(PAGE, at(t)) == 0]
    assert sent[:2] == [0, 1]  # the burst
    assert sent[2:] == list(range(2, 100, 2))  # then the rate


def test_idle_time_refills_no_more_than_the_burst() -> None:
    limiter = AccountLimiter(rate=1.0, burst=2.0)
    limiter.wait_seconds(PAGE, T0)
    limiter.wait_seconds(PAGE, T0)
    later = at(3600)
    assert [limiter.wait_seconds(PAGE, later) for _ in range(3)] == [0.0, 0.0, 1.0]


def test_accounts_are_paced_separately() -> None:
    limiter = AccountLimiter(rate=1.0, burst=1.0)
    assert limiter.wait_seconds(PAGE, T0) == 0.0
    assert limiter.wait_seconds(PAGE, T0) == 1.0
    assert limiter.wait_seconds(OTHER, T0) == 0.0


def test_a_pause_holds_every_call_of_the_account_until_it_ends() -> None:
    limiter = AccountLimiter(rate=5.0, burst=10.0)
    limiter.pause(PAGE, T0, 120)
    assert limiter.wait_seconds(PAGE, T0) == 120.0
    assert limiter.wait_seconds(PAGE, at(100)) == 20.0
    assert limiter.wait_seconds(OTHER, T0) == 0.0  # another account goes on
    assert limiter.wait_seconds(PAGE, at(120)) == 0.0


def test_a_shorter_pause_does_not_cut_a_longer_one() -> None:
    limiter = AccountLimiter(rate=1.0, burst=1.0)
    limiter.pause(PAGE, T0, 300)
    limiter.pause(PAGE, at(10), 5)
    assert limiter.wait_seconds(PAGE, at(20)) == 280.0
    limiter.pause(PAGE, at(20), 600)  # a longer one extends it
    assert limiter.wait_seconds(PAGE, at(20)) == 600.0


def test_a_pause_empties_the_bucket() -> None:
    limiter = AccountLimiter(rate=1.0, burst=5.0)
    limiter.pause(PAGE, T0, 2)
    # When the pause ends the bucket has refilled only for the time paused, not to the full burst.
    assert [limiter.wait_seconds(PAGE, at(2)) for _ in range(3)] == [0.0, 0.0, 1.0]


def test_a_clock_going_backwards_adds_nothing() -> None:
    limiter = AccountLimiter(rate=1.0, burst=1.0)
    assert limiter.wait_seconds(PAGE, at(10)) == 0.0
    assert limiter.wait_seconds(PAGE, at(5)) == 1.0
    assert limiter.wait_seconds(PAGE, at(11)) == 0.0
