"""A fake WordPress REST API (wp/v2/posts only) that fails the way a real site does.

    fake = WordPressFake(username="gandan", application_password="abcd EFGH 1234 ijkl MNOP 5678")
    with serve_app(fake.app) as server:
        ...  # config wordpress_url=server.base_url

What it enforces, as WordPress core does:
- Application-password Basic auth. A wrong password or unknown user fails EVERY request with 401
  (incorrect_password / invalid_username), even ones that need no auth. Spaces and other
  non-alphanumerics in the password are ignored, as WordPress shows them in groups of four.
- POST needs an authenticated user with the right to create posts (401/403 rest_cannot_create).
- GET lists published posts to anyone; other statuses (rest_forbidden_status) and context=edit
  (rest_forbidden_context) need an authenticated user.
- Bad parameters answer 400 rest_invalid_param; a published post's slug gets "-2" when taken.

Knobs: `fail_next(n, status, code=..., retry_after=..., method=...)`,
`lose_next_response(mode="drop" | "502")` (the post is created, then the connection is cut or a
proxy answers 502), `can_create`, `application_password`. Logs: `created` (every post it stored,
in order), `calls` (every request, with the status it got).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATUSES = ("publish", "future", "draft", "pending", "private")
USER_ID = 7


@dataclass
class Call:
    method: str
    params: dict[str, str]
    user: str | None
    body: Any
    status: int = 0


@dataclass
class _Failure:
    status: int
    code: str | None
    message: str
    retry_after: str | None
    method: str | None


@dataclass
class WordPressFake:
    username: str = "gandan"
    application_password: str = "abcd EFGH 1234 ijkl MNOP 5678"
    can_create: bool = True
    posts: list[dict[str, Any]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    next_id: int = 101
    _failures: list[_Failure] = field(default_factory=list)
    _lose: list[str] = field(default_factory=list)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        code: str | None = None,
        message: str = "Scripted failure.",
        retry_after: int | str | None = None,
        method: str | None = None,
    ) -> None:
        """The next `n` requests (of `method`, if given) fail. With `code` the body is a WordPress
        error; without it, an HTML page as a proxy or host would send."""
        retry = str(retry_after) if retry_after is not None else None
        self._failures += [_Failure(status, code, message, retry, method)] * n

    def lose_next_response(self, mode: str = "drop") -> None:
        """The next POST creates its post, then the answer is lost ("drop") or replaced ("502")."""
        assert mode in ("drop", "502")
        self._lose.append(mode)

    def by_slug(self, slug: str) -> list[dict[str, Any]]:
        return [post for post in self.posts if post["slug"] == slug]

    @cached_property
    def app(self) -> ASGIApp:
        routes = [Route("/wp-json/wp/v2/posts", self._posts, methods=["GET", "POST"])]
        return _ConnectionCutter(Starlette(routes=routes))

    async def _posts(self, request: Request) -> Response:
        body: Any = None
        if request.method == "POST":
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = raw
        call = Call(request.method, dict(request.query_params), None, body)
        self.calls.append(call)
        response = await self._answer(request, call)
        call.status = response.status_code
        return response

    async def _answer(self, request: Request, call: Call) -> Response:
        failure = self._take_failure(request.method)
        if failure is not None:
            return _failure_response(failure)
        user, auth_error = self._authenticate(request)
        if auth_error is not None:
            return auth_error
        call.user = user
        if request.method == "GET":
            return self._list(request, user)
        return self._create(request, user, call.body)

    def _take_failure(self, method: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.method in (None, method):
                return self._failures.pop(index)
        return None

    def _authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        header = request.headers.get("authorization")
        if header is None:
            return None, None
        scheme, _, encoded = header.partition(" ")
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        if scheme.lower() != "basic" or username != self.username:
            return None, wp_error(
                401, "invalid_username", "Unknown username. Check again or try your email address."
            )
        if not hmac.compare_digest(
            _app_password(password), _app_password(self.application_password)
        ):
            return None, wp_error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        return username, None

    def _list(self, request: Request, user: str | None) -> Response:
        params = request.query_params
        statuses = _comma_list(params.get("status", "publish"))
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            return invalid_param("status", f"status[0] is not one of {', '.join(STATUSES)}.")
        if user is None and any(s != "publish" for s in statuses):
            return wp_error(401, "rest_forbidden_status", "Status is forbidden.")
        if user is None and params.get("context") == "edit":
            return wp_error(
                401,
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
        slugs = _comma_list(params["slug"]) if "slug" in params else None
        found = [
            post
            for post in reversed(self.posts)
            if post["status"] in statuses and (slugs is None or post["slug"] in slugs)
        ]
        return JSONResponse(found, headers={"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"})

    def _create(self, request: Request, user: str | None, body: Any) -> Response:
        if user is None:
            return wp_error(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        if not self.can_create:
            return wp_error(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        if not isinstance(body, dict):
            return wp_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        status = body.get("status", "draft")
        if status not in STATUSES:
            return invalid_param("status", f"status is not one of {', '.join(STATUSES)}.")
        categories = body.get("categories", [1])
        if not isinstance(categories, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in categories
        ):
            return invalid_param("categories", "categories[0] is not of type integer.")
        for name in ("title", "content", "excerpt", "slug"):
            if not isinstance(body.get(name, ""), str):
                return invalid_param(name, f"{name} is not of type string.")
        post_id = self.next_id
        self.next_id += 1
        base = str(request.base_url).rstrip("/")
        slug = self._unique_slug(_sanitize_title(body.get("slug") or body.get("title", "")), status)
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        post = {
            "id": post_id,
            "date": now,
            "date_gmt": now,
            "modified_gmt": now,
            "slug": slug,
            "status": status,
            "type": "post",
            "link": f"{base}/?p={post_id}",
            "author": USER_ID,
            "title": {"raw": body.get("title", ""), "rendered": body.get("title", "")},
            "content": {"raw": body.get("content", ""), "rendered": body.get("content", "")},
            "excerpt": {"raw": body.get("excerpt", ""), "rendered": body.get("excerpt", "")},
            "categories": categories or [1],
        }
        self.posts.append(post)
        self.created.append(post)
        if self._lose:
            if self._lose.pop(0) == "502":
                return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
            request.state.cut_connection = True
        return JSONResponse(
            post, status_code=201, headers={"Location": f"{base}/wp-json/wp/v2/posts/{post_id}"}
        )

    def _unique_slug(self, slug: str, status: str) -> str:
        # Like wp_unique_post_slug: drafts and pending posts keep theirs, others get -2, -3…
        if status in ("draft", "pending"):
            return slug
        taken = {p["slug"] for p in self.posts if p["status"] not in ("draft", "pending")}
        candidate, suffix = slug, 2
        while candidate in taken:
            candidate, suffix = f"{slug}-{suffix}", suffix + 1
        return candidate


class _ConnectionCutter:
    """Sends the status line and part of the body, then goes silent: the client sees the
    connection close mid-answer, as when a server crashes after committing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        cut = False

        async def cutting_send(message: Message) -> None:
            nonlocal cut
            if cut:
                return
            if message["type"] == "http.response.start" and state.get("cut_connection"):
                cut = True
                headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
                await send({"type": "http.response.start", "status": 201, "headers": headers})
                await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
                return
            await send(message)

        await self.app(scope, receive, cutting_send)


def wp_error(status: int, code: str, message: str, **data: Any) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "data": {"status": status, **data}}, status
    )


def invalid_param(name: str, detail: str) -> JSONResponse:
    return wp_error(
        400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: detail}
    )


def _failure_response(failure: _Failure) -> Response:
    headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
    if failure.code:
        response = wp_error(failure.status, failure.code, failure.message)
        response.headers.update(headers)
        return response
    return HTMLResponse(f"<html><body>{failure.status}</body></html>", failure.status, headers)


def _app_password(password: str) -> str:
    return re.sub(r"[^a-z\d]", "", password, flags=re.IGNORECASE)


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _sanitize_title(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:200]
