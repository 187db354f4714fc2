"""The Zalo OA Open API as both Zalo gateways use it: auth header, envelope, token refresh, errors.

Calls carry the raw header `access_token` (not `Authorization`), GET parameters travel as one
URL-encoded JSON `data` parameter, and every answer is the envelope `{"error", "message", "data"}`
in which failures arrive with HTTP 200 (channels.md §1.1).

The OA token pair rotates: a refresh answers a new access token *and* a new refresh token, and the
old refresh token is dead from then on (§1.2). Two workers refreshing at once would therefore lock
one of them out, so a refresh is serialised per credentials ref inside this process, re-reads the
stored pair first (someone may have refreshed already), and stores the new pair with
compare-and-swap. Whoever loses the swap, or whose refresh Zalo refuses because another process
spent the refresh token a moment earlier, uses the pair that is now stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta, timezone
from typing import Any

import httpx

from adapters.channels.base import (
    ChannelDeps,
    http_status_error,
    missing_credentials,
    retry_after_seconds,
    transport_error,
)
from domain.ports import ChannelError, StoredToken

log = logging.getLogger("gandan.channels.zalo")

TOKEN_ERRORS = frozenset({-216, -220})  # access token invalid / expired or removed
RATE_LIMITED = -32
OUT_OF_QUOTA = -211
ARTICLE_PROCESSING = -214
NIGHT_BAN = -234

# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset needs no tzdata.
VIETNAM = timezone(timedelta(hours=7), "ICT")
NIGHT_BAN_ENDS = time(6, 0)
# The per-app limit is counted per minute (§1.7); Zalo sends no reset time, so wait one window.
RATE_WINDOW_SECONDS = 60.0
# When quotas reset is not documented [UNCONFIRMED]; an hour keeps the worker from hammering.
QUOTA_RETRY_SECONDS = 3600.0
ARTICLE_RETRY_SECONDS = 30.0
# Refresh a little before the stored expiry, so a call never starts with a token about to die.
EXPIRY_MARGIN = timedelta(minutes=5)
DEFAULT_TOKEN_SECONDS = 90_000  # 25 h, the documented OA access-token lifetime


class ZaloClient:
    """Calls the Zalo API for one credentials ref at a time; holds locks, never tokens."""

    # After Zalo refuses our refresh token: how long to keep looking for a pair that another
    # process stored after spending it (seconds between re-reads of the store).
    race_grace: tuple[float, ...] = (0.1, 0.3, 0.6)

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps
        self._refresh_locks: dict[str, asyncio.Lock] = {}

    async def post(self, ref: str, path: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return await self._call(ref, "POST", path, json_body=body)

    async def get(self, ref: str, path: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return await self._call(ref, "GET", path, params=params)

    async def upload(
        self, ref: str, path: str, *, filename: str, content: bytes, content_type: str
    ) -> Mapping[str, Any]:
        return await self._call(ref, "POST", path, file=(filename, content, content_type))

    async def _call(
        self,
        ref: str,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        file: tuple[str, bytes, str] | None = None,
    ) -> Mapping[str, Any]:
        token = await self._stored(ref)
        # Every credential this call has held, so none can leak back through an error message.
        config = self._deps.credentials.config(ref) or {}
        held = [*_secrets_of(token), config.get("secret_key")]
        if token.expires_at is not None and token.expires_at - EXPIRY_MARGIN <= self._now():
            try:
                token = await self._refresh(ref, stale=token)
            except ChannelError:
                if token.expires_at <= self._now():
                    raise
                # Not dead yet: this call can still use it; the next one will try again.
            held += _secrets_of(token)
        refreshed = False
        while True:
            response = await self._send(token, method, path, json_body, params, file)
            code, message, data = self._envelope(response, secrets=held)
            if code == 0:
                return data
            if code in TOKEN_ERRORS and not refreshed:
                token = await self._refresh(ref, stale=token)
                held += _secrets_of(token)
                refreshed = True
                continue
            raise zalo_error(code, message, response, self._now())

    async def _send(
        self,
        token: StoredToken,
        method: str,
        path: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        file: tuple[str, bytes, str] | None,
    ) -> httpx.Response:
        query = None
        if params is not None:
            query = {"data": json.dumps(params, ensure_ascii=False, separators=(",", ":"))}
        try:
            return await self._deps.http.request(
                method,
                self._deps.endpoints.zalo_api.rstrip("/") + path,
                headers={"access_token": token.access_token},
                params=query,
                json=json_body,
                files={"file": file} if file is not None else None,
            )
        except httpx.HTTPError as error:
            raise transport_error(error) from None

    def _envelope(
        self, response: httpx.Response, *, secrets: Iterable[str | None]
    ) -> tuple[int, str, Mapping[str, Any]]:
        if response.status_code != 200:
            raise http_status_error(response, "Zalo API")
        try:
            body = response.json()
            code = int(body.get("error", 0))
        except (ValueError, TypeError, AttributeError):
            raise ChannelError(
                "Zalo API answered HTTP 200 without its JSON envelope",
                retryable=True,
                code="zalo:bad_response",
            ) from None
        data = body.get("data")
        message = redact(str(body.get("message") or ""), secrets)
        return code, message, data if isinstance(data, Mapping) else {}

    # -- tokens -----------------------------------------------------------------------------

    async def _stored(self, ref: str) -> StoredToken:
        if self._deps.credentials.config(ref) is None:
            raise missing_credentials(ref)
        token = await self._deps.credentials.token(ref)
        if token is None or not token.access_token:
            raise missing_credentials(ref)
        return token

    def _lock(self, ref: str) -> asyncio.Lock:
        return self._refresh_locks.setdefault(ref, asyncio.Lock())

    async def _refresh(self, ref: str, *, stale: StoredToken) -> StoredToken:
        """A working pair: someone else's fresh one if they beat us, else one we obtain."""
        async with self._lock(ref):
            current = await self._stored(ref)
            if _replaced(stale, current):
                return current
            config = self._deps.credentials.config(ref) or {}
            app_id, secret_key = config.get("app_id"), config.get("secret_key")
            if not app_id or not secret_key:
                raise missing_credentials(ref)
            if not current.refresh_token:
                raise _reauthorise(ref, "no refresh token is stored")
            secrets = (*_secrets_of(current), secret_key)
            answer = await self._oauth_refresh(app_id, secret_key, current.refresh_token, secrets)
            if "access_token" not in answer or "refresh_token" not in answer:
                theirs = await self._wait_for_replacement(ref, current)
                if theirs is not None:
                    return theirs
                raise _reauthorise(ref, f"Zalo refused the refresh token (error {answer['error']})")
            fresh = StoredToken(
                access_token=answer["access_token"],
                refresh_token=answer["refresh_token"],
                expires_at=self._now() + timedelta(seconds=answer["expires_in"]),
                version=current.version,
                extra=current.extra,
            )
            stored = await self._deps.credentials.replace_token(
                ref, fresh, expected_version=current.version
            )
            if not stored:
                # Another process stored a pair between our read and our write; theirs wins.
                log.warning("zalo token refresh for %s lost the race; using the stored pair", ref)
                return await self._stored(ref)
            log.info("zalo token refreshed for %s", ref)
            return await self._deps.credentials.token(ref) or fresh

    async def _oauth_refresh(
        self, app_id: str, secret_key: str, refresh_token: str, secrets: Iterable[str]
    ) -> dict[str, Any]:
        """The new pair as {access_token, refresh_token, expires_in: int}, or {error: code}."""
        try:
            response = await self._deps.http.post(
                self._deps.endpoints.zalo_oauth.rstrip("/") + "/v4/oa/access_token",
                headers={"secret_key": secret_key},
                data={
                    "refresh_token": refresh_token,
                    "app_id": app_id,
                    "grant_type": "refresh_token",
                },
            )
        except httpx.HTTPError as error:
            raise transport_error(error) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise http_status_error(response, "Zalo OAuth")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            if response.status_code != 200:
                raise http_status_error(response, "Zalo OAuth")
            raise ChannelError(
                "Zalo OAuth answered without JSON", retryable=True, code="zalo:bad_response"
            )
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if response.status_code == 200 and access and refresh:
            return {
                "access_token": str(access),
                "refresh_token": str(refresh),
                "expires_in": _seconds(body.get("expires_in")),
            }
        code = body.get("error")
        return {"error": redact(str(code if code is not None else response.status_code), secrets)}

    async def _wait_for_replacement(self, ref: str, spent: StoredToken) -> StoredToken | None:
        """The pair another process stored after spending our refresh token, if one appears."""
        for delay in (0.0, *self.race_grace):
            await asyncio.sleep(delay)
            current = await self._deps.credentials.token(ref)
            if current is not None and _replaced(spent, current):
                return current
        return None

    def _now(self) -> datetime:
        return self._deps.clock.now()


def zalo_error(
    code: int, message: str, response: httpx.Response | None, now: datetime
) -> ChannelError:
    """An envelope error code as a ChannelError, retryable where waiting can help (§1.7)."""
    text = f"Zalo error {code}: {message}" if message else f"Zalo error {code}"
    tag = f"zalo:{code}"
    if code == RATE_LIMITED:
        wait = retry_after_seconds(response) if response is not None else None
        return ChannelError(text, retryable=True, retry_after=wait or RATE_WINDOW_SECONDS, code=tag)
    if code == NIGHT_BAN:
        return ChannelError(text, retryable=True, retry_after=until_night_ban_ends(now), code=tag)
    if code == OUT_OF_QUOTA:
        return ChannelError(text, retryable=True, retry_after=QUOTA_RETRY_SECONDS, code=tag)
    if code == ARTICLE_PROCESSING:
        return ChannelError(text, retryable=True, retry_after=ARTICLE_RETRY_SECONDS, code=tag)
    # -201 -213 -221 -223 -224 -230 -237 -240, a token still refused after a refresh, and codes
    # we do not know: sending the same request again would get the same answer.
    return ChannelError(text, retryable=False, code=tag)


def until_night_ban_ends(now: datetime) -> float:
    """Seconds until the next 06:00 in Vietnam, when promotion-type sends are allowed again."""
    local = now.astimezone(VIETNAM)
    end = datetime.combine(local.date(), NIGHT_BAN_ENDS, tzinfo=VIETNAM)
    if end <= local:
        end += timedelta(days=1)
    wait = (end - local).total_seconds()
    # Zalo bans 22:00-06:00; if it says "night" while our clock says day, the window we know is
    # wrong, and waiting most of a day would be worse than asking again soon.
    return wait if wait <= 8 * 3600 + 60 else 1800.0


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Text from a remote server with any of our secrets it may echo blanked out."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _secrets_of(token: StoredToken) -> tuple[str, ...]:
    return tuple(s for s in (token.access_token, token.refresh_token) if s)


def _replaced(old: StoredToken, current: StoredToken) -> bool:
    return current.version != old.version or current.access_token != old.access_token


def _seconds(value: object) -> int:
    """`expires_in` arrives as a string ("90000"); tolerate a number, default to 25 h."""
    try:
        seconds = int(float(str(value)))
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_SECONDS
    return seconds if seconds > 0 else DEFAULT_TOKEN_SECONDS


def _reauthorise(ref: str, reason: str) -> ChannelError:
    return ChannelError(
        f"{reason} for '{ref}'; an OA admin must authorise the app again",
        retryable=False,
        code="zalo:reauthorise",
    )
