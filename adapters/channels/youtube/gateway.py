"""YouTube channel: each bulletin becomes one video, uploaded with the Data API v3 resumable protocol.

Idempotency, as the delivery worker may rely on it:
- Opening an upload session (POST ...?uploadType=resumable) is NOT deduplicated by YouTube: every
  POST opens a new session and spends quota. A session makes no video until its last byte arrives,
  so an extra session costs quota but never publishes twice.
- The session URI is stored in ChannelState under the idempotency key before the first byte is sent.
  Every later attempt with the same key (after an interruption, a retryable error or a worker crash)
  asks that session how far it got and resumes it, so the upload ends as exactly one video.
- The video id is stored once the upload completes; a retry after that returns it without any HTTP
  call. A crash between YouTube's final answer and storing the id is covered as well: the stored
  session's status query answers a completed upload with its video.
- The one window for a double post: the stored session is gone (404/410, expired or forgotten) and
  it had completed before we could record its id. We then open a new session and upload again.
- A permanent failure drops the stored session; a later attempt starts a new upload.

Failures: transport errors and 5xx are retryable (mid-upload they are first retried here by asking
the session where it stands); 403 quotaExceeded/dailyLimitExceeded are retryable after the next
midnight Pacific time, 400 uploadLimitExceeded after 24 h, 403 rate limits after Retry-After; 401
refreshes the access token once and retries; `invalid_grant`, other 4xx and a missing video are
permanent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from adapters.channels.base import (
    ChannelDeps,
    http_status_error,
    missing_credentials,
    retry_after_seconds,
    transport_error,
)
from domain.channels import ChannelKind
from domain.ports import (
    ChannelError,
    DeliveryReceipt,
    GroupRef,
    MediaRef,
    OutboundMessage,
    Reach,
    StoredToken,
)

PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube's daily quota resets at midnight here
CHUNK_GRANULE = 256 * 1024  # every chunk but the last must be a multiple of this
TITLE_MAX_CHARS = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
DEFAULT_CATEGORY = "29"  # Nonprofits & Activism
PRIVACY_STATUSES = frozenset({"public", "private", "unlisted"})
TOKEN_MARGIN = timedelta(seconds=60)  # a token this close to expiry may die mid-request
UPLOAD_LIMIT_WAIT = 24 * 3600.0
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
ACCOUNT_REFUSALS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
MAX_SESSIONS_PER_CALL = 2
WATCH_URL = "https://www.youtube.com/watch?v="


@dataclass(frozen=True, slots=True)
class _Account:
    ref: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    config: Mapping[str, str] = field(repr=False)


class _SessionGone(Exception):
    """The upload session answered 404/410: it expired or the server forgot it."""


class _Interrupted(Exception):
    """The session broke off mid-upload (transport error or 5xx); ask it where it stands."""

    def __init__(self, cause: ChannelError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class YouTubeGateway:
    kind = ChannelKind.YOUTUBE_CHANNEL
    resume_attempts = 3  # interruptions in a row without progress before giving the job back
    resume_backoff = 0.5  # seconds; full jitter over base * 2**attempt

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        video = _video_of(message)
        account = self._account(target)
        resource = video_resource(message, account.config)
        keys = _StateKeys(idempotency_key)
        done = await self._deps.state.get(keys.video)
        if done:
            return _receipt(done, "already uploaded")
        data = await self._deps.blobs.get(video.blob_key)
        if not data:
            raise ChannelError("the video attachment is empty", retryable=False, code="empty_video")
        upload = _ResumableUpload(self, _Auth(self._deps, account), data, _upload_type(video), keys)
        video_id = await upload.run(resource)
        # The id first: a crash between the two writes must still find the finished video.
        await self._deps.state.put(keys.video, video_id)
        await self._deps.state.delete(keys.session)
        return _receipt(video_id, f"uploaded {len(data)} bytes")

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        auth = _Auth(self._deps, self._account(target))
        try:
            response = await self._send(
                auth,
                "GET",
                f"{self._deps.endpoints.youtube_api}/videos",
                params={"part": "statistics", "id": external_id},
            )
        except httpx.HTTPError as error:
            raise transport_error(error) from error
        if response.status_code != 200:
            raise self._api_error(response, "statistics")
        items = _json(response).get("items") or []
        if not items or not isinstance(items[0], dict):
            return None  # deleted or private: YouTube lists nothing
        stats = items[0].get("statistics") or {}
        return Reach(
            views=_count(stats, "viewCount"),
            reactions=_count(stats, "likeCount"),
            comments=_count(stats, "commentCount"),
        )

    def _account(self, target: GroupRef) -> _Account:
        ref = target.credentials_ref
        config = self._deps.credentials.config(ref) if ref else None
        if not ref or not config or not config.get("client_id") or not config.get("client_secret"):
            raise missing_credentials(ref)
        return _Account(
            ref, config["client_id"], config["client_secret"], config.get("refresh_token"), config
        )

    async def _send(
        self,
        auth: _Auth,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API call with the account's token; a 401 refreshes the token once and resends."""

        async def attempt() -> httpx.Response:
            return await self._deps.http.request(
                method,
                url,
                headers={**(headers or {}), **await auth.bearer()},
                content=content,
                params=params,
                follow_redirects=False,  # 308 means "resume incomplete" here, not a redirect
            )

        response = await attempt()
        if response.status_code != 401:
            return response
        await auth.refresh_rejected()
        response = await attempt()
        if response.status_code == 401:
            raise ChannelError(
                "YouTube rejected a freshly refreshed access token; the channel must be re-authorized",
                retryable=False,
                code="unauthorized",
            )
        return response

    def _api_error(self, response: httpx.Response, action: str) -> ChannelError:
        reason, detail = _google_error(response)
        text = f"YouTube {action}: HTTP {response.status_code} {reason or ''}: {detail}"
        if reason in QUOTA_REASONS:
            wait = seconds_until_quota_reset(self._deps.clock.now())
            return ChannelError(text, retryable=True, retry_after=wait, code="quota_exceeded")
        if reason == "uploadLimitExceeded":
            return ChannelError(
                text, retryable=True, retry_after=UPLOAD_LIMIT_WAIT, code="upload_limit_exceeded"
            )
        if reason in RATE_REASONS:
            wait = retry_after_seconds(response, self._deps.clock.now())
            return ChannelError(text, retryable=True, retry_after=wait, code="rate_limited")
        return http_status_error(response, f"YouTube {action}: {detail}", code=reason)


class _StateKeys:
    """Where one delivery's upload session URI and finished video id are kept."""

    __slots__ = ("session", "video")

    def __init__(self, idempotency_key: str) -> None:
        key = idempotency_key
        if len(key) > 120:  # channel_state keys hold at most 200 characters
            key = hashlib.sha256(key.encode()).hexdigest()
        self.session = f"youtube:{key}:session"
        self.video = f"youtube:{key}:video"


class _ResumableUpload:
    """One publish call's pass over the resumable protocol (start, chunks, status query, resume)."""

    def __init__(
        self,
        gateway: YouTubeGateway,
        auth: _Auth,
        data: bytes,
        content_type: str,
        keys: _StateKeys,
    ) -> None:
        self._gateway = gateway
        self._deps = gateway._deps
        self._auth = auth
        self._data = data
        self._total = len(data)
        self._content_type = content_type
        self._keys = keys
        self._chunk = max(
            CHUNK_GRANULE, self._deps.upload_chunk_bytes // CHUNK_GRANULE * CHUNK_GRANULE
        )
        self._confirmed = 0

    async def run(self, resource: dict[str, Any]) -> str:
        session = await self._stored_session()
        offset: int | None = None  # None: ask the session before sending
        opened = failures = 0
        confirmed_at_failure = -1
        while True:
            if session is None:
                if opened == MAX_SESSIONS_PER_CALL:
                    raise ChannelError(
                        "YouTube keeps losing the upload session",
                        retryable=True,
                        code="session_lost",
                    )
                session = await self._open(resource)
                opened += 1
                offset = 0
            try:
                if offset is None:
                    progress = await self._status(session)
                    if isinstance(progress, str):
                        return progress
                    offset = progress
                return await self._send_from(session, offset)
            except _SessionGone:
                await self._deps.state.delete(self._keys.session)
                session = offset = None
            except _Interrupted as interruption:
                offset = None
                failures = 1 if self._confirmed > confirmed_at_failure else failures + 1
                confirmed_at_failure = self._confirmed
                if failures > self._gateway.resume_attempts:
                    cause = interruption.cause
                    raise ChannelError(
                        f"YouTube upload interrupted after {self._confirmed} of {self._total} "
                        f"bytes; the next attempt resumes the stored session ({cause})",
                        retryable=True,
                        retry_after=cause.retry_after,
                        code="upload_interrupted",
                    ) from interruption
                base = self._gateway.resume_backoff * 2 ** (failures - 1)
                await asyncio.sleep(random.uniform(0, base))
            except ChannelError as error:
                if not error.retryable:  # this session will not be continued
                    await self._deps.state.delete(self._keys.session)
                raise

    async def _stored_session(self) -> str | None:
        raw = await self._deps.state.get(self._keys.session)
        if not raw:
            return None
        try:
            stored = json.loads(raw)
        except ValueError:
            return None
        # A different file under the same key cannot continue the old session.
        if stored.get("total") != self._total:
            return None
        return stored.get("uri")

    async def _open(self, resource: dict[str, Any]) -> str:
        url = f"{self._deps.endpoints.youtube_upload}/videos"
        try:
            response = await self._gateway._send(
                self._auth,
                "POST",
                url,
                params={
                    "uploadType": "resumable",
                    "part": "snippet,status",
                    "notifySubscribers": "true",
                },
                headers={
                    "Content-Type": "application/json; charset=UTF-8",
                    "X-Upload-Content-Length": str(self._total),
                    "X-Upload-Content-Type": self._content_type,
                },
                content=json.dumps(resource, ensure_ascii=False).encode(),
            )
        except httpx.HTTPError as error:
            raise transport_error(error) from error
        if response.status_code not in (200, 201):
            raise self._gateway._api_error(response, "upload start")
        location = response.headers.get("location")
        if not location:
            raise ChannelError(
                "YouTube opened no upload session (no Location)", retryable=True, code="no_session"
            )
        session = str(httpx.URL(url).join(location))
        # Before any byte: a crash from here on resumes this session instead of opening another.
        await self._deps.state.put(
            self._keys.session, json.dumps({"uri": session, "total": self._total})
        )
        self._confirmed = 0
        return session

    async def _status(self, session: str) -> int | str:
        """The next byte the session expects, or the video id when it already has them all."""
        response = await self._put(session, {"Content-Range": f"bytes */{self._total}"}, b"")
        if response.status_code in (200, 201):
            return _video_id(response)
        if response.status_code == 308:
            self._confirmed = _next_byte(response)
            return self._confirmed
        raise self._failure(response)

    async def _send_from(self, session: str, offset: int) -> str:
        while True:
            if offset >= self._total:
                # The session claims every byte yet has not answered with the video: ask again.
                raise _Interrupted(
                    ChannelError(
                        "upload stored but not finished", retryable=True, code="incomplete"
                    )
                )
            end = min(offset + self._chunk, self._total)
            response = await self._put(
                session,
                {
                    "Content-Type": self._content_type,
                    "Content-Range": f"bytes {offset}-{end - 1}/{self._total}",
                },
                self._data[offset:end],
            )
            if response.status_code in (200, 201):
                return _video_id(response)
            if response.status_code != 308:
                raise self._failure(response)
            # The server may keep less than we sent; continue from what it confirms.
            confirmed = self._confirmed = _next_byte(response)
            if confirmed <= offset:
                raise _Interrupted(
                    ChannelError(
                        "YouTube kept none of the chunk", retryable=True, code="no_progress"
                    )
                )
            offset = confirmed

    async def _put(self, session: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        try:
            return await self._gateway._send(
                self._auth, "PUT", session, headers=headers, content=body
            )
        except httpx.HTTPError as error:
            raise _Interrupted(transport_error(error)) from error

    def _failure(self, response: httpx.Response) -> Exception:
        if response.status_code in (404, 410):
            return _SessionGone()
        error = self._gateway._api_error(response, "upload")
        if response.status_code >= 500:
            return _Interrupted(error)
        return error


class _Auth:
    """One call's access token for one account: read from the store, refreshed when it must be."""

    def __init__(self, deps: ChannelDeps, account: _Account) -> None:
        self._deps = deps
        self._account = account
        self._token: StoredToken | None = None

    async def bearer(self) -> dict[str, str]:
        if self._token is None:
            stored = await self._deps.credentials.token(self._account.ref)
            self._token = stored if self._usable(stored) else await self._refresh(stored)
        return {"Authorization": f"Bearer {self._token.access_token}"}

    async def refresh_rejected(self) -> None:
        """YouTube refused our token; take a newer one someone else stored, or refresh ourselves."""
        current = await self._deps.credentials.token(self._account.ref)
        rejected = self._token
        if (
            current is not None
            and rejected is not None
            and current.access_token != rejected.access_token
            and self._usable(current)
        ):
            self._token = current
            return
        self._token = await self._refresh(current)

    def _usable(self, token: StoredToken | None) -> bool:
        if token is None or not token.access_token:
            return False
        return token.expires_at is None or token.expires_at - TOKEN_MARGIN > self._deps.clock.now()

    async def _refresh(self, stale: StoredToken | None) -> StoredToken:
        # Configuration wins: an operator who re-authorized the channel put the new token there.
        refresh_token = self._account.refresh_token or (stale.refresh_token if stale else None)
        if not refresh_token:
            raise missing_credentials(self._account.ref)
        try:
            response = await self._deps.http.post(
                self._deps.endpoints.google_oauth_token,
                data={
                    "grant_type": "refresh_token",
                    "client_id": self._account.client_id,
                    "client_secret": self._account.client_secret,
                    "refresh_token": refresh_token,
                },
            )
        except httpx.HTTPError as error:
            raise transport_error(error) from error
        if response.status_code != 200:
            raise _token_error(response)
        body = _json(response)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ChannelError(
                "Google token endpoint answered without an access token",
                retryable=True,
                code="token_refresh",
            )
        new = StoredToken(
            access_token=access_token,
            refresh_token=body.get("refresh_token") or (stale.refresh_token if stale else None),
            expires_at=_expiry(self._deps.clock.now(), body.get("expires_in")),
            extra=stale.extra if stale else {},
        )
        expected = stale.version if stale else 0
        if await self._deps.credentials.replace_token(
            self._account.ref, new, expected_version=expected
        ):
            return StoredToken(
                new.access_token, new.refresh_token, new.expires_at, expected + 1, new.extra
            )
        # Another worker refreshed first; theirs is the token everyone else now uses.
        theirs = await self._deps.credentials.token(self._account.ref)
        return theirs if theirs is not None and theirs.access_token else new


def _expiry(now: datetime, expires_in: Any) -> datetime | None:
    try:
        return now + timedelta(seconds=float(expires_in))
    except (TypeError, ValueError):
        return None


def _token_error(response: httpx.Response) -> ChannelError:
    reason, _ = _google_error(response)
    if reason in ACCOUNT_REFUSALS:
        return ChannelError(
            f"Google refused to refresh the YouTube access token ({reason}); "
            "the channel must be re-authorized",
            retryable=False,
            code=reason,
        )
    return http_status_error(response, "Google token endpoint", code="token_refresh")


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` to the next midnight in America/Los_Angeles (DST-aware)."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return (midnight - now).total_seconds()


def video_resource(message: OutboundMessage, config: Mapping[str, str]) -> dict[str, Any]:
    """The videos.insert body: snippet within YouTube's limits, privacy from the account config."""
    privacy = config.get("privacy", "public")
    if privacy not in PRIVACY_STATUSES:
        raise ChannelError(
            f"YouTube privacy must be one of {sorted(PRIVACY_STATUSES)}, not '{privacy}'",
            retryable=False,
            code="config",
        )
    snippet: dict[str, Any] = {
        "title": video_title(message),
        "description": video_description(message),
        "categoryId": config.get("category_id") or DEFAULT_CATEGORY,
    }
    tags = _tags(message, config)
    if tags:
        snippet["tags"] = tags
    return {"snippet": snippet, "status": {"privacyStatus": privacy}}


def _no_angle_brackets(text: str) -> str:
    # YouTube refuses < and > in titles and descriptions; keep the meaning with look-alikes.
    return text.replace("<", "‹").replace(">", "›")


def video_title(message: OutboundMessage) -> str:
    title = re.sub(r"\s+", " ", _no_angle_brackets(message.title)).strip()
    title = title or message.ward_name.strip() or "Bản tin"
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


def video_description(message: OutboundMessage) -> str:
    """Body, then the bulletin's link; the body is shortened so that the link always fits."""
    link = _no_angle_brackets(message.link or "").strip()
    body = _no_angle_brackets(message.body).strip()
    if not link:
        return _fit_bytes(body, DESCRIPTION_MAX_BYTES)
    budget = DESCRIPTION_MAX_BYTES - len(f"\n\n{link}".encode())
    body = _fit_bytes(body, budget) if budget > 0 else ""
    return f"{body}\n\n{link}" if body else _fit_bytes(link, DESCRIPTION_MAX_BYTES)


def _fit_bytes(text: str, limit: int) -> str:
    if len(text.encode()) <= limit:
        return text
    ellipsis = "…"
    cut = text.encode()[: max(limit - len(ellipsis.encode()), 0)].decode(errors="ignore")
    return cut.rstrip() + ellipsis


def _tags(message: OutboundMessage, config: Mapping[str, str]) -> list[str]:
    candidates = [message.ward_name, *config.get("tags", "").split(",")]
    tags: list[str] = []
    used = 0
    for candidate in candidates:
        tag = _no_angle_brackets(candidate).strip()
        if not tag or tag in tags:
            continue
        cost = len(tag) + (2 if " " in tag else 0) + (1 if tags else 0)  # quoted, comma-separated
        if used + cost > TAGS_MAX_CHARS:
            break
        tags.append(tag)
        used += cost
    return tags


def _video_of(message: OutboundMessage) -> MediaRef:
    for media in message.media:
        if media.media_type == "video":
            return media
    raise ChannelError(
        "YouTube needs a video attachment and the bulletin has none",
        retryable=False,
        code="no_video",
    )


def _upload_type(video: MediaRef) -> str:
    content_type = (video.content_type or "").split(";")[0].strip().lower()
    return content_type if content_type.startswith("video/") else "application/octet-stream"


def _receipt(video_id: str, detail: str) -> DeliveryReceipt:
    return DeliveryReceipt(external_id=video_id, url=WATCH_URL + video_id, detail=detail)


def _next_byte(response: httpx.Response) -> int:
    """From a 308's `Range: bytes=0-N`: N + 1; no Range means the server kept nothing."""
    match = re.fullmatch(r"\s*bytes=0-(\d+)\s*", response.headers.get("range", ""))
    return int(match.group(1)) + 1 if match else 0


def _video_id(response: httpx.Response) -> str:
    video_id = _json(response).get("id")
    if not isinstance(video_id, str) or not video_id:
        raise ChannelError(
            "YouTube finished the upload without a video id", retryable=False, code="no_video_id"
        )
    return video_id


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _google_error(response: httpx.Response) -> tuple[str | None, str]:
    """(reason, message) from `{"error": {"message", "errors": [{"reason"}]}}` or OAuth's
    `{"error": "invalid_grant"}`; only the platform's words, never our request."""
    error = _json(response).get("error")
    if isinstance(error, str):
        return error, error
    if not isinstance(error, dict):
        return None, response.reason_phrase
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason")
    message = str(error.get("message") or first.get("message") or response.reason_phrase)
    return (reason if isinstance(reason, str) else None), message[:300]


def _count(stats: Mapping[str, Any], name: str) -> int | None:
    value = stats.get(name)  # YouTube sends counts as strings and omits hidden ones
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
