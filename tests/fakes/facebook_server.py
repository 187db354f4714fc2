"""A fake Meta Graph API for Page publishing (channels.md §2.5, §2.6), as a Starlette app.

    fake = FakeGraphApi({"1001": "page-token"}, app_secret="s3cret")
    with serve_app(fake.app) as server:
        endpoints = Endpoints(facebook_graph=server.url(f"/{fake.version}"))

Routes: POST /{page}/feed, /{page}/photos and /{page}/videos (multipart `source`), GET /{id}
with `fields`, GET /{id}/insights?metric=post_impressions. The access token is taken from the
`access_token` query or form field or an `Authorization: Bearer|OAuth` header; when an app secret
is configured, `appsecret_proof` = HMAC-SHA256(app secret, token) hex is required. Failures answer
the Graph error object `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
with 400, 403 for permission codes, 500 for transient codes. Every answer carries an
`X-Business-Use-Case-Usage` header keyed by the page id.

Knobs: `fail_next(n, code=..., regain_minutes=..., retry_after=..., after_accept=...)` scripts the
next n requests (code None: a bare HTTP status with no error object); `invalidate_tokens()` makes
tokens fail with 190; `set_engagement(post_id, ...)` sets what GET /{id} and insights report;
`insights_denied` makes insights answer code 10. An identical feed message on the same page
within `duplicate_window` seconds is refused with 506. `posts` logs every accepted post and
`requests` every request received, as (method, path).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

GRAPH_VERSION = "v25.0"


@dataclass
class AcceptedPost:
    page_id: str
    edge: str  # feed | photos | videos
    id: str
    post_id: str | None
    fields: dict[str, str]
    source: bytes | None = None
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Engagement:
    shares: int = 0
    reactions: int = 0
    comments: int = 0
    impressions: int = 0


@dataclass
class ScriptedFailure:
    code: int | None
    status: int
    subcode: int | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    regain_minutes: float | None = None
    after_accept: bool = False


@dataclass
class GraphObject:
    page_id: str
    node_type: str  # Post | Video
    engagement: Engagement = field(default_factory=Engagement)


class GraphFailure(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        status: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.type = type_
        self.subcode = subcode
        self.status = status or status_for(code)
        self.extra = dict(extra or {})


def status_for(code: int) -> int:
    if code in (1, 2):
        return 500
    if code == 10 or 200 <= code <= 299:
        return 403
    return 400


class FakeGraphApi:
    version = GRAPH_VERSION

    def __init__(
        self,
        page_tokens: Mapping[str, str],
        *,
        app_secret: str | None = None,
        duplicate_window: float = 3600.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.page_tokens = dict(page_tokens)
        self.app_secret = app_secret
        self.duplicate_window = duplicate_window
        self.insights_denied = False
        self.posts: list[AcceptedPost] = []
        self.requests: list[tuple[str, str]] = []
        self.objects: dict[str, GraphObject] = {}
        self._now = now
        self._invalid_tokens: set[str] = set()
        self._failures: deque[ScriptedFailure] = deque()
        self._recent_messages: dict[tuple[str, str], float] = {}
        self._ids = itertools.count(100_000_000_001)
        self.app = Starlette(
            routes=[
                Mount(
                    f"/{self.version}",
                    routes=[
                        Route("/{page_id}/feed", self._feed, methods=["POST"]),
                        Route("/{page_id}/photos", self._photos, methods=["POST"]),
                        Route("/{page_id}/videos", self._videos, methods=["POST"]),
                        Route("/{object_id}/insights", self._insights, methods=["GET"]),
                        Route("/{object_id}", self._node, methods=["GET"]),
                    ],
                )
            ]
        )

    # -- knobs -------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        code: int | None = 2,
        status: int | None = None,
        subcode: int | None = None,
        message: str | None = None,
        regain_minutes: float | None = None,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
        after_accept: bool = False,
    ) -> None:
        """The next n requests fail. `after_accept`: the post is made, then its answer is lost."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        for _ in range(n):
            self._failures.append(
                ScriptedFailure(
                    code=code,
                    status=status or (status_for(code) if code is not None else 500),
                    subcode=subcode,
                    message=message,
                    headers=extra,
                    regain_minutes=regain_minutes,
                    after_accept=after_accept,
                )
            )

    def invalidate_tokens(self, *page_ids: str) -> None:
        """Tokens of these pages (all pages when none given) now fail with code 190."""
        for page_id in page_ids or tuple(self.page_tokens):
            self._invalid_tokens.add(self.page_tokens[page_id])

    def set_engagement(
        self,
        object_id: str,
        *,
        shares: int = 0,
        reactions: int = 0,
        comments: int = 0,
        impressions: int = 0,
    ) -> None:
        self.objects[object_id].engagement = Engagement(shares, reactions, comments, impressions)

    def appsecret_proof(self, token: str) -> str:
        assert self.app_secret is not None
        return hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()

    # -- routes ------------------------------------------------------------------------------

    async def _feed(self, request: Request) -> Response:
        async def accept(page_id: str, form: FormData) -> dict[str, Any]:
            message = str(form.get("message") or "")
            link = str(form.get("link") or "")
            if not message and not link:
                raise GraphFailure(100, "(#100) Missing message or attachment")
            self._refuse_duplicate(page_id, message)
            post_id = f"{page_id}_{next(self._ids)}"
            self._record(page_id, "feed", post_id, post_id, form, "Post")
            return {"id": post_id}

        return await self._publish(request, accept)

    async def _photos(self, request: Request) -> Response:
        async def accept(page_id: str, form: FormData) -> dict[str, Any]:
            upload = self._upload(form)
            photo_id = str(next(self._ids))
            post_id = f"{page_id}_{next(self._ids)}"
            self._record(page_id, "photos", photo_id, post_id, form, "Post", upload)
            return {"id": photo_id, "post_id": post_id}

        return await self._publish(request, accept)

    async def _videos(self, request: Request) -> Response:
        async def accept(page_id: str, form: FormData) -> dict[str, Any]:
            upload = self._upload(form)
            video_id = str(next(self._ids))
            self._record(page_id, "videos", video_id, None, form, "Video", upload)
            return {"id": video_id}

        return await self._publish(request, accept)

    async def _node(self, request: Request) -> Response:
        async def read(node: GraphObject, object_id: str) -> dict[str, Any]:
            answer: dict[str, Any] = {"id": object_id}
            for spec in split_fields(request.query_params.get("fields", "id")):
                name = spec.split(".", 1)[0].split("{", 1)[0]
                answer.update(self._field(node, name, spec))
            return answer

        return await self._read(request, read)

    async def _insights(self, request: Request) -> Response:
        async def read(node: GraphObject, object_id: str) -> dict[str, Any]:
            if self.insights_denied:
                raise GraphFailure(10, "(#10) Application does not have permission for this action")
            metric = request.query_params.get("metric", "")
            if node.node_type != "Post" or metric != "post_impressions":
                raise GraphFailure(100, "(#100) The value must be a valid insights metric")
            return {
                "data": [
                    {
                        "name": metric,
                        "period": "lifetime",
                        "values": [{"value": node.engagement.impressions}],
                        "title": "Lifetime Post Total Impressions",
                        "id": f"{object_id}/insights/{metric}/lifetime",
                    }
                ],
                "paging": {},
            }

        return await self._read(request, read)

    # -- plumbing ----------------------------------------------------------------------------

    async def _publish(self, request: Request, accept: Callable[[str, FormData], Any]) -> Response:
        page_id = request.path_params["page_id"]
        self.requests.append((request.method, request.url.path))
        failure = self._failures.popleft() if self._failures else None
        if failure and not failure.after_accept:
            return self._scripted(failure, page_id)
        async with request.form() as form:
            try:
                self._authorize(request, form, page_id)
                answer = await accept(page_id, form)
            except GraphFailure as error:
                return self._error(error, page_id)
        if failure:
            return self._scripted(failure, page_id)
        return JSONResponse(answer, headers=self._usage_headers(page_id))

    async def _read(self, request: Request, read: Callable[[GraphObject, str], Any]) -> Response:
        object_id = request.path_params["object_id"]
        self.requests.append((request.method, request.url.path))
        node = self.objects.get(object_id)
        page_id = node.page_id if node else object_id.split("_")[0]
        if self._failures:
            return self._scripted(self._failures.popleft(), page_id)
        try:
            if node is None:
                raise GraphFailure(
                    100,
                    f"Unsupported get request. Object with ID '{object_id}' does not exist, "
                    "cannot be loaded due to missing permissions, or does not support this "
                    "operation.",
                    type_="GraphMethodException",
                    subcode=33,
                )
            self._authorize(request, None, node.page_id)
            return JSONResponse(await read(node, object_id), headers=self._usage_headers(page_id))
        except GraphFailure as error:
            return self._error(error, page_id)

    def _authorize(self, request: Request, form: FormData | None, page_id: str) -> None:
        def param(name: str) -> str | None:
            value = form.get(name) if form is not None else None
            return str(value) if isinstance(value, str) else request.query_params.get(name)

        token = param("access_token")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if token is None and scheme.lower() in ("bearer", "oauth") and credentials:
            token = credentials.strip()
        if not token:
            raise GraphFailure(104, "An access token is required to request this resource.")
        if token in self._invalid_tokens:
            raise GraphFailure(
                190,
                "Error validating access token: The session has been invalidated because the "
                "user changed their password or Facebook has changed the session for security "
                "reasons.",
                subcode=460,
            )
        if token not in self.page_tokens.values():
            raise GraphFailure(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is not None:
            proof = param("appsecret_proof")
            if not proof:
                raise GraphFailure(
                    100,
                    "API calls from the server require an appsecret_proof argument",
                    type_="GraphMethodException",
                )
            if not hmac.compare_digest(proof, self.appsecret_proof(token)):
                raise GraphFailure(
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                    type_="GraphMethodException",
                )
        if self.page_tokens.get(page_id) != token:
            raise GraphFailure(
                200,
                "(#200) The user hasn't authorized the application to perform this action",
            )

    def _refuse_duplicate(self, page_id: str, message: str) -> None:
        now = self._now()
        last = self._recent_messages.get((page_id, message))
        if message and last is not None and now - last < self.duplicate_window:
            raise GraphFailure(
                506,
                "Duplicate status message",
                subcode=1455006,
                extra={
                    "error_user_title": "Duplicate Status Update",
                    "error_user_msg": "This status update is identical to the last one you "
                    "posted. Try posting something different, or delete your previous update.",
                },
            )
        self._recent_messages[(page_id, message)] = now

    def _upload(self, form: FormData) -> UploadFile:
        source = form.get("source")
        if not isinstance(source, UploadFile):
            raise GraphFailure(
                324, "(#324) Requires upload file", subcode=2069019, type_="OAuthException"
            )
        return source

    def _record(
        self,
        page_id: str,
        edge: str,
        object_id: str,
        post_id: str | None,
        form: FormData,
        node_type: str,
        upload: UploadFile | None = None,
    ) -> None:
        fields = {
            key: value
            for key, value in form.items()
            if isinstance(value, str) and key not in ("access_token", "appsecret_proof")
        }
        source = upload.file.read() if upload else None
        self.posts.append(
            AcceptedPost(
                page_id=page_id,
                edge=edge,
                id=object_id,
                post_id=post_id,
                fields=fields,
                source=source,
                filename=upload.filename if upload else None,
                content_type=upload.content_type if upload else None,
            )
        )
        self.objects[post_id or object_id] = GraphObject(page_id, node_type)

    def _field(self, node: GraphObject, name: str, spec: str) -> dict[str, Any]:
        engagement = node.engagement
        if name == "id":
            return {}
        if name == "shares" and node.node_type == "Post":
            return {"shares": {"count": engagement.shares}} if engagement.shares else {}
        if name in ("reactions", "comments"):
            edge: dict[str, Any] = {"data": []}
            if "summary(" in spec:
                total = engagement.reactions if name == "reactions" else engagement.comments
                edge["summary"] = {"total_count": total}
            return {name: edge}
        raise GraphFailure(
            100,
            f"(#100) Tried accessing nonexisting field ({name}) on node type ({node.node_type})",
        )

    def _scripted(self, failure: ScriptedFailure, page_id: str) -> Response:
        headers = self._usage_headers(page_id, failure.regain_minutes) | failure.headers
        if failure.code is None:
            return PlainTextResponse(
                "Service Unavailable", status_code=failure.status, headers=headers
            )
        error = GraphFailure(
            failure.code,
            failure.message or f"(#{failure.code}) scripted failure",
            subcode=failure.subcode,
            status=failure.status,
        )
        return self._error(error, page_id, headers)

    def _error(
        self, error: GraphFailure, page_id: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        body: dict[str, Any] = {
            "message": error.message,
            "type": error.type,
            "code": error.code,
            **error.extra,
            "fbtrace_id": secrets.token_urlsafe(12),
        }
        if error.subcode is not None:
            body["error_subcode"] = error.subcode
        return JSONResponse(
            {"error": body},
            status_code=error.status,
            headers=dict(headers or self._usage_headers(page_id)),
        )

    def _usage_headers(self, page_id: str, regain_minutes: float | None = None) -> dict[str, str]:
        throttled = regain_minutes is not None
        usage = {
            "type": "pages",
            "call_count": 100 if throttled else 3,
            "total_cputime": 100 if throttled else 1,
            "total_time": 100 if throttled else 1,
            "estimated_time_to_regain_access": regain_minutes or 0,
        }
        return {"X-Business-Use-Case-Usage": json.dumps({page_id: [usage]})}


def split_fields(fields: str) -> list[str]:
    """Top-level comma-separated field specs; commas inside (...) or {...} stay put."""
    specs, depth, current = [], 0, ""
    for char in fields:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            specs.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        specs.append(current.strip())
    return specs
