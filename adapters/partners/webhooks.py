"""Outbound partner webhooks, signed as Standard Webhooks v1 (channels.md §5), sent over httpx.

Every request carries:
- `webhook-id`: the delivery's id, the same on every retry and replay (the receiver dedupes on it);
- `webhook-timestamp`: Unix seconds of this attempt;
- `webhook-signature`: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key being
  the bytes behind the `whsec_` secret the partner was shown when the webhook was created.

SSRF guard. Unless `allow_private` (development and tests), a destination must be https and every
address its name resolves to must be public (no loopback, private, link-local — where cloud
metadata services live — multicast or reserved ranges). The request then goes to the address that
was checked, with the name kept for the Host header, TLS SNI and certificate check, so a name that
resolves differently a moment later (DNS rebinding) cannot redirect it. Redirects are never
followed. Deployments that want more put an egress proxy in front (HTTPS_PROXY is honoured).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from domain.partner import (
    WEBHOOK_SECRET_PREFIX,
    AttemptResult,
    classify_status,
    public_address,
)
from domain.ports.partners import WebhookSendResult

DEFAULT_TIMEOUT = 15.0  # Standard Webhooks: 15-30 s
TOLERANCE_SECONDS = 300
USER_AGENT = "GanDan-Webhooks/1.0"

Resolver = Callable[[str, int], Awaitable[list[str]]]


def sign(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def decode_secret(display: str) -> bytes:
    """The key behind a `whsec_…` secret."""
    raw = display.strip()
    raw = raw.removeprefix(WEBHOOK_SECRET_PREFIX)
    return base64.b64decode(raw, validate=True)


class SignatureMismatch(Exception):
    pass


def verify(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """What a receiver does (and our tests): check the timestamp and any of the listed
    signatures in constant time; returns the webhook-id. Raises SignatureMismatch."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not stamp or not signatures:
        raise SignatureMismatch("missing webhook headers")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureMismatch("bad timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureMismatch("timestamp outside the tolerance")
    expected = sign(secret, message_id, timestamp, body).encode()
    for candidate in signatures.split(" "):
        if hmac.compare_digest(candidate.encode(), expected):
            return message_id
    raise SignatureMismatch("no signature matches")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class RefusedDestination(Exception):
    pass


class StandardWebhookSender:
    """WebhookSender over httpx; see the module docstring for the SSRF guard."""

    def __init__(
        self,
        *,
        allow_private: bool,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._allow_private = allow_private
        self._timeout = timeout
        self._resolver = resolver
        self._owned = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def send(
        self, url: str, *, message_id: str, timestamp: datetime, body: bytes, secret: bytes
    ) -> WebhookSendResult:
        stamp = int(timestamp.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, message_id, stamp, body),
        }
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            target, extensions = await self._destination(url, headers)
        except RefusedDestination as error:
            return WebhookSendResult(AttemptResult.REJECTED, error=f"refused: {error}")
        except OSError as error:  # the name does not resolve (for now)
            return WebhookSendResult(
                AttemptResult.TRANSIENT, error=f"DNS: {error}"[:300], duration_ms=took()
            )
        try:
            async with asyncio.timeout(self._timeout + 5):
                async with self._http.stream(
                    "POST", target, content=body, headers=headers, extensions=extensions
                ) as response:
                    # A little of the answer, for the log; the rest is not read.
                    excerpt = b""
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= 512:
                            break
        except httpx.InvalidURL as error:
            return WebhookSendResult(AttemptResult.REJECTED, error=f"invalid URL: {error}"[:300])
        except (TimeoutError, httpx.TimeoutException):
            return WebhookSendResult(AttemptResult.TRANSIENT, error="timeout", duration_ms=took())
        except httpx.HTTPError as error:
            return WebhookSendResult(
                AttemptResult.TRANSIENT,
                error=f"{type(error).__name__}: {error}"[:300],
                duration_ms=took(),
            )
        result = classify_status(response.status_code)
        error = None
        if result is not AttemptResult.SENT:
            text = excerpt[:200].decode("utf-8", "replace").strip()
            error = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return WebhookSendResult(
            result,
            status_code=response.status_code,
            error=error,
            retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
            duration_ms=took(),
        )

    async def _destination(self, url: str, headers: dict[str, str]) -> tuple[str, dict]:
        """The URL to connect to and the httpx extensions that go with it (see the docstring)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self._allow_private:
            return url, {}
        if parts.scheme != "https" or not host:
            raise RefusedDestination("only https URLs are allowed")
        port = parts.port or 443
        addresses = await self._resolver(host, port)
        if not addresses:
            raise RefusedDestination(f"{host} has no address")
        private = [a for a in addresses if not public_address(a)]
        if private:
            raise RefusedDestination(f"{host} resolves to a non-public address")
        address = addresses[0]
        pinned = httpx.URL(url).copy_with(host=address)
        headers["host"] = parts.netloc.rsplit("@", 1)[-1]
        return str(pinned), {"sni_hostname": host}
