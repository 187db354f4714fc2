"""Per-account pacing of channel calls: a token bucket each, and pauses a channel asks for."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: datetime
    paused_until: datetime | None = None


@dataclass(slots=True)
class AccountLimiter:
    """`rate` calls per second with bursts of `burst`, per account key."""

    rate: float
    burst: float
    _buckets: dict[Hashable, _Bucket] = field(default_factory=dict)

    def _bucket(self, key: Hashable, now: datetime) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        elapsed = max(0.0, (now - bucket.updated).total_seconds())
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        return bucket

    def wait_seconds(self, key: Hashable, now: datetime) -> float:
        """How long until one call may go; 0 means now (and the call is counted)."""
        bucket = self._bucket(key, now)
        if bucket.paused_until and bucket.paused_until > now:
            return (bucket.paused_until - now).total_seconds()
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def pause(self, key: Hashable, now: datetime, seconds: float) -> None:
        """The channel said 'not before': every delivery of that account waits."""
        bucket = self._bucket(key, now)
        until = now + timedelta(seconds=seconds)
        if bucket.paused_until is None or until > bucket.paused_until:
            bucket.paused_until = until
        bucket.tokens = 0
