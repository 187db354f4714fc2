"""The city/ward portal channel: portals pull our Atom feed, or we push to a partner WordPress.

No police portal has a public API (channels.md §4), so the contract is ours (§4.3):

Pull — the group has no `credentials_ref`, or its config has no `wordpress_url`. The portal's
editors read the ward's Atom feed (/feeds/{ward_code}/bulletins.atom, see atom.py), which lists
every published bulletin. `publish` makes no call and returns `atom:<bulletin id>`: a real
delivery, not a sandbox one, because the feed serves the bulletin from now on.

Push — config keys `wordpress_url` (site base URL, HTTPS unless loopback), `username`,
`application_password` (as WordPress shows it, spaces included), optional `category_ids` ("3,7")
and `status` (default "publish"). A bulletin becomes POST {wordpress_url}/wp-json/wp/v2/posts
with HTTP Basic auth; the site needs pretty permalinks (the /wp-json/ route).

Idempotency. WordPress has no idempotency header, so the idempotency key becomes the post's slug (see post_slug)
and every publish first asks GET /wp-json/wp/v2/posts?slug=<slug>&status=<all five>&context=edit,
authenticated because only editors see drafts, scheduled and private posts. When a post with the
slug exists, a previous attempt created it and lost the answer (crash, timeout, dropped
connection, a 5xx from a proxy after WordPress committed), and it is returned instead of created
again. So sequential retries of one key never double-post. Not covered: two attempts of one key
at the same moment (both may find nothing; WordPress then suffixes the second slug "-2") — the
worker's delivery claim prevents that; and a post someone deleted or trashed in WordPress (its
slug is gone), which a retry posts again. Pull mode makes no call, so it is idempotent trivially.

Failures. Transport errors, 429 and 5xx are retryable, honouring Retry-After. 401/403
(incorrect_password, invalid_username, rest_cannot_create, rest_forbidden_status), 400
rest_invalid_param, 404 (no REST route) and other 4xx are permanent, as are configuration
errors (missing keys, bad `category_ids`/`status`, plain-HTTP remote URL). Messages carry the
WordPress error code and message, never the application password.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.channels.base import (
    ChannelDeps,
    missing_credentials,
    retry_after_seconds,
    transport_error,
)
from adapters.channels.portal.atom import html_paragraphs, xml_text
from domain.channels import ChannelKind
from domain.ports import (
    ChannelError,
    DeliveryReceipt,
    GroupRef,
    OutboundMessage,
    Reach,
)

log = logging.getLogger("gandan.channels.portal")

POSTS_PATH = "/wp-json/wp/v2/posts"
STATUSES = ("publish", "future", "draft", "pending", "private")
EXCERPT_CHARS = 280
_SLUG_SAFE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class WordPressSite:
    base_url: str
    username: str
    application_password: str
    category_ids: tuple[int, ...]
    status: str

    @property
    def posts_url(self) -> str:
        return self.base_url + POSTS_PATH

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.username, self.application_password)


def post_slug(idempotency_key: str) -> str:
    """A WordPress-safe slug that no other key maps to.

    The worker's keys ("gandan-<hex>") are already slugs and are used as they are, so a post can be
    traced back to its delivery; any other key is hashed, as lower-casing, dropping characters or
    adding a prefix could make two keys share a slug.
    """
    if (
        idempotency_key.startswith("gandan-")
        and _SLUG_SAFE.fullmatch(idempotency_key)
        and len(idempotency_key) <= 120
    ):
        return idempotency_key
    return "gandan-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def post_content(message: OutboundMessage) -> str:
    content = html_paragraphs(message.body)
    if message.link:
        href = html.escape(xml_text(message.link), quote=True)
        content += f'<p><a href="{href}">Xem chi tiết</a></p>'
    return content


def post_excerpt(body: str) -> str:
    """The first paragraph, cut at a word boundary: WordPress lists show the excerpt."""
    first = next((line.strip() for line in xml_text(body).split("\n") if line.strip()), "")
    if len(first) > EXCERPT_CHARS:
        first = first[:EXCERPT_CHARS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
    return html.escape(first)


class PortalGateway:
    kind = ChannelKind.PORTAL

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        site = self._site(target.credentials_ref)
        if site is None:
            return DeliveryReceipt(
                external_id=f"atom:{message.bulletin_id}",
                url=message.link,
                sandbox=False,
                detail="published in the ward's Atom feed",
            )
        slug = post_slug(idempotency_key)
        existing = await self._find(site, slug)
        if existing is not None:
            log.info("portal post %s already exists for slug %s", existing.get("id"), slug)
            return _receipt(existing, detail="found by slug: an earlier attempt created it")
        return _receipt(await self._create(site, message, slug), detail="created")

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        return None  # WordPress core counts no views

    def _site(self, ref: str | None) -> WordPressSite | None:
        if ref is None:
            return None
        config = self._deps.credentials.config(ref)
        if config is None:
            raise missing_credentials(ref)
        if not config.get("wordpress_url"):
            return None
        return _parse_site(ref, config)

    async def _find(self, site: WordPressSite, slug: str) -> Mapping[str, Any] | None:
        params = {"slug": slug, "status": ",".join(STATUSES), "context": "edit"}
        response = await self._send(site, "GET", params=params)
        posts = _json(response)
        if not isinstance(posts, list):
            raise ChannelError(
                "WordPress answered the slug lookup without a list of posts",
                retryable=True,
                code="bad_response",
            )
        return next(
            (p for p in posts if isinstance(p, dict) and p.get("slug") == slug and "id" in p), None
        )

    async def _create(
        self, site: WordPressSite, message: OutboundMessage, slug: str
    ) -> Mapping[str, Any]:
        payload: dict[str, Any] = {
            "title": html.escape(xml_text(message.title), quote=False),
            "content": post_content(message),
            "excerpt": post_excerpt(message.body),
            "status": site.status,
            "slug": slug,
        }
        if site.category_ids:
            payload["categories"] = list(site.category_ids)
        post = _json(await self._send(site, "POST", json=payload))
        if not isinstance(post, dict) or "id" not in post:
            # The post may well exist; the next attempt's slug lookup will find it.
            raise ChannelError(
                "WordPress accepted the post but its answer has no id",
                retryable=True,
                code="bad_response",
            )
        if post.get("slug") not in (None, slug):
            log.warning("portal post %s got slug %s instead of %s", post["id"], post["slug"], slug)
        return post

    async def _send(self, site: WordPressSite, method: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._deps.http.request(
                method, site.posts_url, auth=site.auth, **kwargs
            )
        except httpx.HTTPError as error:
            raise _scrubbed(transport_error(error), site) from None
        if response.is_success:
            return response
        raise _scrubbed(self._wordpress_error(response), site)

    def _wordpress_error(self, response: httpx.Response) -> ChannelError:
        status = response.status_code
        body = _json(response, strict=False)
        code = message = None
        if isinstance(body, dict):
            code = body.get("code") if isinstance(body.get("code"), str) else None
            message = body.get("message") if isinstance(body.get("message"), str) else None
        text = f"WordPress {code or 'error'}: {message or response.reason_phrase}"[:300]
        return ChannelError(
            f"HTTP {status}: {text}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(response, self._deps.clock.now()),
            code=code or str(status),
        )


def _parse_site(ref: str, config: Mapping[str, str]) -> WordPressSite:
    username = config.get("username")
    password = config.get("application_password")
    if not username or not password:
        raise missing_credentials(ref)
    base_url = config["wordpress_url"].strip().rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config_error(ref, "wordpress_url is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        # Basic auth over plain HTTP would hand the application password to anyone on the path.
        raise _config_error(ref, "wordpress_url must use HTTPS")
    try:
        categories = tuple(
            int(item) for item in (config.get("category_ids") or "").split(",") if item.strip()
        )
    except ValueError:
        raise _config_error(ref, "category_ids must be a comma-separated list of numbers") from None
    status = (config.get("status") or "publish").strip()
    if status not in STATUSES:
        raise _config_error(ref, f"status must be one of {', '.join(STATUSES)}")
    return WordPressSite(base_url, username, password, categories, status)


def _config_error(ref: str, problem: str) -> ChannelError:
    return ChannelError(f"portal config '{ref}': {problem}", retryable=False, code="config")


def _scrubbed(error: ChannelError, site: WordPressSite) -> ChannelError:
    """Drops the application password from a message, should a server or proxy ever echo it."""
    message = str(error)
    password = site.application_password
    secrets = {s for s in (password, password.replace(" ", "")) if s.strip()}
    if not any(secret in message for secret in secrets):
        return error
    for secret in secrets:
        message = message.replace(secret, "***")
    return ChannelError(
        message,
        retryable=error.retryable,
        retry_after=error.retry_after,
        code=error.code,
        duplicate=error.duplicate,
    )


def _json(response: httpx.Response, *, strict: bool = True) -> Any:
    try:
        return response.json()
    except ValueError:
        if not strict:
            return None
        raise ChannelError(
            f"WordPress answered HTTP {response.status_code} with no JSON",
            retryable=True,
            code="bad_response",
        ) from None


def _receipt(post: Mapping[str, Any], *, detail: str) -> DeliveryReceipt:
    link = post.get("link")
    return DeliveryReceipt(
        external_id=str(post["id"]),
        url=link if isinstance(link, str) else None,
        sandbox=False,
        detail=detail,
    )
