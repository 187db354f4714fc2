"""What every channel adapter shares: its dependencies, endpoints, and HTTP failure handling."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from domain.ports import BlobStore, ChannelError, ChannelState, Clock, CredentialStore


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of the real platforms; tests point them at fake servers on 127.0.0.1."""

    zalo_api: str = "https://openapi.zalo.me"
    zalo_oauth: str = "https://oauth.zaloapp.com"
    facebook_graph: str = "https://graph.facebook.com/v25.0"
    google_oauth_token: str = "https://oauth2.googleapis.com/token"
    youtube_upload: str = "https://www.googleapis.com/upload/youtube/v3"
    youtube_api: str = "https://www.googleapis.com/youtube/v3"
    public_base_url: str = "http://127.0.0.1:8000"


@dataclass(slots=True)
class ChannelDeps:
    """Built once in bootstrap and handed to every gateway's constructor."""

    http: httpx.AsyncClient
    credentials: CredentialStore
    blobs: BlobStore
    state: ChannelState
    clock: Clock
    endpoints: Endpoints = field(default_factory=Endpoints)
    sandbox_dir: Path = Path("var/sandbox")
    upload_chunk_bytes: int = 8 * 1024 * 1024


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Retry-After as seconds, from either of its two forms (delta seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def transport_error(error: httpx.HTTPError) -> ChannelError:
    """Timeouts and dropped connections are worth another try."""
    return ChannelError(f"{type(error).__name__}: {error}", retryable=True, code="transport")


def http_status_error(
    response: httpx.Response, message: str, code: str | None = None
) -> ChannelError:
    """The common HTTP rule: 429 and 5xx come back later, other 4xx are final."""
    status = response.status_code
    retryable = status == 429 or status >= 500
    return ChannelError(
        f"HTTP {status}: {message}",
        retryable=retryable,
        retry_after=retry_after_seconds(response),
        code=code or str(status),
    )


def missing_credentials(ref: str | None) -> ChannelError:
    return ChannelError(
        f"no credentials configured for '{ref}'", retryable=False, code="credentials"
    )
