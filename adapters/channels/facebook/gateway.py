"""Publishing bulletins to a Facebook Page through the Meta Graph API (channels.md §2.5, §2.6).

A bulletin becomes one Page post:
- no photo or video: POST /{page-id}/feed with `message` (title, blank line, body) and `link`;
- an image: POST /{page-id}/photos, multipart `source` with the caption in `message`;
- a video: POST /{page-id}/videos, multipart `source` with `title` and `description`.
Only the first video (else the first image) is posted; Pages cannot take other files, so those
are left out and the receipt's `detail` says so. The link goes into the caption or description
when the post has no `link` field of its own.

Credentials: the static config of `target.credentials_ref` holds `page_access_token` (long lived;
there is no refresh flow for it, so code 190 is final until an operator issues a new one) and,
optionally, `app_secret`, from which every call carries `appsecret_proof` = HMAC-SHA256(app
secret, token) in hex. POSTs send the token as the `access_token` form field; GETs send it in an
`Authorization: Bearer` header, because a token in a query string ends up in httpx's request log
(the proof does travel in the query: the Graph API takes it nowhere else, and it is no use
without the token).

Idempotency. The Graph API takes no idempotency key, so:
- a publish whose post id we recorded (ChannelState, keyed by the idempotency key) returns that
  post again without calling Facebook: retries after a recorded success never double post;
- a crash, timeout or lost answer between Facebook accepting the post and our recording its id
  can cause a second post. For feed posts Facebook itself refuses an identical status message
  (code 506), which surfaces as ChannelError(duplicate=True) — "Facebook already has it". We
  know of no such guard for photo and video uploads: retrying one of those after an unknown
  outcome may post twice.

Failures (ChannelError.code is "graph:<code>" for Graph error objects):
- retryable: transport errors, HTTP 5xx and 429 without an error object, codes 1 and 2 (and any
  error marked `is_transient`), and the rate limits 4, 17, 32, 341, 613, 80001, whose retry_after
  comes from X-Business-Use-Case-Usage (estimated_time_to_regain_access, minutes), else
  X-App-Usage (the same field, if present), else Retry-After, else 60 seconds;
- permanent: 190 (token), 10 and 200-299 (permission), 368 (policy), 506 (duplicate, flagged),
  every other 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
)

log = logging.getLogger(__name__)

POST_URL = "https://www.facebook.com/{post_id}"
ENGAGEMENT_FIELDS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
# Video nodes have no `shares` field; asking for it fails the whole call with code 100.
ENGAGEMENT_FIELDS_WITHOUT_SHARES = (
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)

TRANSIENT_CODES = frozenset({1, 2})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001})
TOKEN_CODE = 190
POLICY_CODE = 368
DUPLICATE_CODE = 506
NO_SUCH_FIELD_CODE = 100
DEFAULT_RATE_LIMIT_WAIT = 60.0

# Uploads outlast the shared client's default timeouts; connecting should still fail fast.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0, pool=10.0)


@dataclass(frozen=True, slots=True)
class PageCredentials:
    access_token: str = field(repr=False)
    app_secret: str | None = field(default=None, repr=False)

    @property
    def appsecret_proof(self) -> str | None:
        if not self.app_secret:
            return None
        return hmac.new(
            self.app_secret.encode(), self.access_token.encode(), hashlib.sha256
        ).hexdigest()

    def proof_fields(self) -> dict[str, str]:
        proof = self.appsecret_proof
        return {"appsecret_proof": proof} if proof else {}

    def redact(self, text: str) -> str:
        for secret in (self.access_token, self.app_secret, self.appsecret_proof):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


def is_permission_code(code: int) -> bool:
    return code == 10 or 200 <= code <= 299


class FacebookPageGateway:
    kind = ChannelKind.FACEBOOK_PAGE

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        state_key = f"facebook_page:post:{idempotency_key}"
        recorded = await self._deps.state.get(state_key)
        if recorded:
            return receipt_for(recorded, detail="already posted")
        credentials = self._credentials(target)
        page_id = target.external_id
        media, skipped = pick_media(message.media)
        if media is None:
            post_id = await self._post_feed(credentials, page_id, message)
        elif media.media_type == "image":
            post_id = await self._post_photo(credentials, page_id, message, media)
        else:
            post_id = await self._post_video(credentials, page_id, message, media)
        try:
            await self._deps.state.put(state_key, post_id)
        except Exception:
            # The post exists: failing now would make the worker post it again.
            log.warning(
                "facebook post %s published but not recorded for retries",
                post_id,
                exc_info=True,
            )
        detail = f"{skipped} attachment(s) not posted: a Page post takes one" if skipped else None
        return receipt_for(post_id, detail=detail)

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        credentials = self._credentials(target)
        page_id = target.external_id
        try:
            node = await self._get(
                credentials, page_id, f"/{external_id}", {"fields": ENGAGEMENT_FIELDS}
            )
            # A post nobody shared has no `shares` field at all.
            shares: int | None = share_count(node.get("shares"))
        except ChannelError as error:
            if error.code != f"graph:{NO_SUCH_FIELD_CODE}":
                raise
            node = await self._get(
                credentials,
                page_id,
                f"/{external_id}",
                {"fields": ENGAGEMENT_FIELDS_WITHOUT_SHARES},
            )
            shares = None
        return Reach(
            views=await self._impressions(credentials, page_id, external_id),
            reactions=summary_total(node.get("reactions")),
            shares=shares,
            comments=summary_total(node.get("comments")),
        )

    async def _impressions(
        self, credentials: PageCredentials, page_id: str, external_id: str
    ) -> int | None:
        """Lifetime impressions; None when the token may not read insights or the node has none."""
        try:
            body = await self._get(
                credentials, page_id, f"/{external_id}/insights", {"metric": "post_impressions"}
            )
        except ChannelError as error:
            if error.retryable:
                raise
            return None
        for metric in body.get("data") or ():
            if metric.get("name") == "post_impressions" and metric.get("values"):
                value = metric["values"][-1].get("value")
                return int(value) if isinstance(value, int | float) else None
        return None

    def _credentials(self, target: GroupRef) -> PageCredentials:
        ref = target.credentials_ref
        config = self._deps.credentials.config(ref) if ref else None
        token = (config or {}).get("page_access_token")
        if not token:
            raise missing_credentials(ref)
        return PageCredentials(token, (config or {}).get("app_secret") or None)

    async def _post_feed(
        self, credentials: PageCredentials, page_id: str, message: OutboundMessage
    ) -> str:
        fields = {"message": post_text(message)}
        if message.link:
            fields["link"] = message.link
        body = await self._post(credentials, page_id, f"/{page_id}/feed", fields)
        return required_id(body, "id", credentials)

    async def _post_photo(
        self,
        credentials: PageCredentials,
        page_id: str,
        message: OutboundMessage,
        media: MediaRef,
    ) -> str:
        fields = {"message": post_text(message, with_link=True)}
        body = await self._post(
            credentials, page_id, f"/{page_id}/photos", fields, source=await self._source(media)
        )
        return required_id(body, "post_id", credentials)

    async def _post_video(
        self,
        credentials: PageCredentials,
        page_id: str,
        message: OutboundMessage,
        media: MediaRef,
    ) -> str:
        description = message.body + (f"\n\n{message.link}" if message.link else "")
        fields = {"title": message.title, "description": description}
        body = await self._post(
            credentials, page_id, f"/{page_id}/videos", fields, source=await self._source(media)
        )
        return required_id(body, "id", credentials)

    async def _source(self, media: MediaRef) -> tuple[str, bytes, str]:
        return (media.filename, await self._deps.blobs.get(media.blob_key), media.content_type)

    async def _post(
        self,
        credentials: PageCredentials,
        page_id: str,
        path: str,
        fields: Mapping[str, str],
        *,
        source: tuple[str, bytes, str] | None = None,
    ) -> dict[str, Any]:
        data = {**fields, "access_token": credentials.access_token, **credentials.proof_fields()}
        return await self._send(
            "POST",
            path,
            credentials,
            page_id,
            data=data,
            files={"source": source} if source else None,
            timeout=UPLOAD_TIMEOUT if source else httpx.USE_CLIENT_DEFAULT,
        )

    async def _get(
        self, credentials: PageCredentials, page_id: str, path: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        return await self._send(
            "GET",
            path,
            credentials,
            page_id,
            params={**params, **credentials.proof_fields()},
            headers={"Authorization": f"Bearer {credentials.access_token}"},
        )

    async def _send(
        self,
        method: str,
        path: str,
        credentials: PageCredentials,
        page_id: str,
        **request: Any,
    ) -> dict[str, Any]:
        url = self._deps.endpoints.facebook_graph.rstrip("/") + path
        try:
            response = await self._deps.http.request(method, url, **request)
        except httpx.HTTPError as error:
            raise redacted(transport_error(error), credentials) from None
        if not response.is_success:
            raise graph_error(response, credentials, page_id=page_id, now=self._deps.clock.now())
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # Retrying could repeat a post Facebook already made, so this one is final.
            raise ChannelError(
                f"Graph API answered {method} {path} with HTTP {response.status_code} "
                "but no JSON object",
                retryable=False,
                code="graph:bad_response",
            )
        return body


def pick_media(media: tuple[MediaRef, ...]) -> tuple[MediaRef | None, int]:
    """The attachment the post carries (a video, else an image) and how many are left out."""
    chosen = next((m for m in media if m.media_type == "video"), None) or next(
        (m for m in media if m.media_type == "image"), None
    )
    return chosen, len(media) - (1 if chosen else 0)


def post_text(message: OutboundMessage, *, with_link: bool = False) -> str:
    text = f"{message.title}\n\n{message.body}"
    return f"{text}\n\n{message.link}" if with_link and message.link else text


def receipt_for(post_id: str, *, detail: str | None = None) -> DeliveryReceipt:
    return DeliveryReceipt(external_id=post_id, url=POST_URL.format(post_id=post_id), detail=detail)


def required_id(body: Mapping[str, Any], key: str, credentials: PageCredentials) -> str:
    value = body.get(key)
    if not value:
        # Facebook may well have made the post; a retry could make a second one.
        raise ChannelError(
            credentials.redact(f"Graph API answer has no '{key}': {sorted(body)}"),
            retryable=False,
            code="graph:bad_response",
        )
    return str(value)


def share_count(shares: Any) -> int:
    count = shares.get("count") if isinstance(shares, dict) else None
    return int(count) if isinstance(count, int | float) else 0


def summary_total(edge: Any) -> int | None:
    if not isinstance(edge, dict):
        return None
    total = (edge.get("summary") or {}).get("total_count")
    return int(total) if isinstance(total, int | float) else None


def redacted(error: ChannelError, credentials: PageCredentials) -> ChannelError:
    text = str(error)
    clean = credentials.redact(text)
    if clean == text:
        return error
    return ChannelError(
        clean,
        retryable=error.retryable,
        retry_after=error.retry_after,
        code=error.code,
        duplicate=error.duplicate,
    )


def error_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) and "code" in error else None


def graph_error(
    response: httpx.Response,
    credentials: PageCredentials,
    *,
    page_id: str,
    now: datetime | None = None,
) -> ChannelError:
    """Classify a failed Graph API call by its error object (channels.md §2.6)."""
    error = error_object(response)
    if error is None:
        return redacted(http_status_error(response, "Graph API error without details"), credentials)
    try:
        code = int(error["code"])
    except (TypeError, ValueError):
        code = -1
    subcode = error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode else str(code)
    described = (
        f"Graph API error {label} ({error.get('type', 'unknown type')}, HTTP "
        f"{response.status_code}): {error.get('message', '')}"
        f" [fbtrace_id {error.get('fbtrace_id', '-')}]"
    )

    def failure(
        reason: str, *, retryable: bool, retry_after: float | None = None, duplicate: bool = False
    ) -> ChannelError:
        return ChannelError(
            credentials.redact(f"{reason}: {described}"),
            retryable=retryable,
            retry_after=retry_after,
            code=f"graph:{code}",
            duplicate=duplicate,
        )

    if code in RATE_LIMIT_CODES:
        return failure(
            "rate limited", retryable=True, retry_after=rate_limit_wait(response, page_id, now)
        )
    if code in TRANSIENT_CODES:
        return failure(
            "temporary failure", retryable=True, retry_after=retry_after_seconds(response, now)
        )
    if code == TOKEN_CODE:
        return failure(
            "page access token rejected; an operator must issue a new one", retryable=False
        )
    if is_permission_code(code):
        return failure("permission missing", retryable=False)
    if code == POLICY_CODE:
        return failure("blocked by Facebook policy", retryable=False)
    if code == DUPLICATE_CODE:
        return failure("duplicate post", retryable=False, duplicate=True)
    if error.get("is_transient") is True:
        return failure(
            "temporary failure", retryable=True, retry_after=retry_after_seconds(response, now)
        )
    retryable = response.status_code == 429 or response.status_code >= 500
    return failure(
        "refused",
        retryable=retryable,
        retry_after=retry_after_seconds(response, now) if retryable else None,
    )


def rate_limit_wait(response: httpx.Response, page_id: str, now: datetime | None = None) -> float:
    """Seconds until Facebook lets us back in, from the most specific signal it gave."""
    for seconds in (
        buc_wait(response.headers.get("x-business-use-case-usage"), page_id),
        usage_wait(response.headers.get("x-app-usage")),
        retry_after_seconds(response, now),
    ):
        if seconds:
            return seconds
    return DEFAULT_RATE_LIMIT_WAIT


def buc_wait(header: str | None, page_id: str) -> float | None:
    """X-Business-Use-Case-Usage: {"<id>": [{"type", ..., "estimated_time_to_regain_access"}]}."""
    usage = parse_json(header)
    if not isinstance(usage, dict):
        return None
    # Our page's own entries say the most; other ids (the business) are still a hint.
    groups = [usage[page_id]] if page_id in usage else list(usage.values())
    entries = [entry for group in groups if isinstance(group, list) for entry in group]
    return max((minutes_to_seconds(entry) for entry in entries), default=None) or None


def usage_wait(header: str | None) -> float | None:
    """X-App-Usage carries percentages only, unless Facebook adds an estimate to it."""
    usage = parse_json(header)
    return (minutes_to_seconds(usage) or None) if isinstance(usage, dict) else None


def minutes_to_seconds(entry: Any) -> float:
    if not isinstance(entry, dict):
        return 0.0
    minutes = entry.get("estimated_time_to_regain_access")
    return float(minutes) * 60.0 if isinstance(minutes, int | float) and minutes > 0 else 0.0


def parse_json(header: str | None) -> Any:
    if not header:
        return None
    try:
        return json.loads(header)
    except ValueError:
        return None
