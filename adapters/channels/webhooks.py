"""What the three inbound webhooks (Zalo, Messenger, portal) share: the shape the API drives, and
the small readers of untrusted bodies they all need.

Every adapter answers `accept(headers, body, now)`: it checks the signature on the raw bytes in
constant time, refuses stale timestamps, and returns the events to store, or raises
WebhookRejected. `parse(body, headers)` reads a stored body (with the headers kept beside it) back into the same events without checking
anything (it was checked when it arrived); the inbound processor uses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from domain.ports import InboundEvent, WebhookRejected

# Replays of a captured request are refused after this long (and so are clocks this far ahead).
DEFAULT_MAX_AGE = timedelta(minutes=5)
# The platforms' own ids are short; anything longer is not one of theirs.
MAX_ID_LENGTH = 256


class InboundWebhook(Protocol):
    inbox: str  # the inbox channel its events are stored under
    signature_headers: tuple[str, ...]  # kept with the stored body, lower case

    @property
    def configured(self) -> bool: ...

    async def accept(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[InboundEvent]: ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]: ...


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # bad UTF-8 and bad JSON alike
        raise WebhookRejected(WebhookRejected.MALFORMED, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookRejected(WebhookRejected.MALFORMED, "the body is not a JSON object")
    return value


def from_millis(value: Any) -> datetime:
    """Platforms send epoch milliseconds as a number or a string of digits."""
    try:
        millis = int(str(value).strip())
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookRejected(WebhookRejected.MALFORMED, "timestamp is not a number") from None


def from_seconds(value: Any) -> datetime:
    try:
        seconds = int(str(value).strip())
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookRejected(WebhookRejected.MALFORMED, "timestamp is not a number") from None


def is_fresh(signed_at: datetime, now: datetime, max_age: timedelta) -> bool:
    return abs(now - signed_at) <= max_age


def require_fresh(signed_at: datetime, now: datetime, max_age: timedelta) -> None:
    if not is_fresh(signed_at, now, max_age):
        raise WebhookRejected(WebhookRejected.STALE, "the timestamp is outside the tolerance")


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def platform_id(value: Any) -> str | None:
    """A platform id as a string (Zalo and Facebook ids are big integers, sometimes unquoted)."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text if 0 < len(text) <= MAX_ID_LENGTH else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name, whatever mapping the caller passes."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def kept_headers(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names if (value := header(headers, name)) is not None}
