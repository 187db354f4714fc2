"""A fake Zalo OA Open API and OAuth host, strict where the real one is (channels.md §1).

    fake = FakeZalo()
    access, refresh = fake.issue_tokens()
    with serve_app(fake.app) as server:
        ...  # point Endpoints.zalo_api and Endpoints.zalo_oauth at server.base_url

It checks the raw `access_token` header against the tokens it issued, the `secret_key` header,
app_id and grant type on refresh, and spends each refresh token once. Errors come as the envelope
`{"error", "message", "data"}` with HTTP 200, as Zalo sends them. Knobs, all plain: `expire_tokens()`,
`revoke_refresh_tokens()`, `fail_next(n, status=503)`, `error_next(code)`, `rate_limit_next()`,
`night_ban`, `verify_pending`, `echo_secrets`. What it accepted is kept in `group_messages`,
`broadcasts`, `articles`, `uploads` and `refreshes`.

Member listings: `group_members[group_id]` (rows `{"user_id", "name"}`, filled by
`add_group_members`) answer GET /v3.0/oa/group/listmember as `data.members` + `data.total` (our
guess at the GMF shape; channels.md is silent), and `followers[oa_id]` (filled by `add_followers`)
answer GET /v3.0/oa/user/getlist as `data.users[].user_id` + `data.total`, at most 50 a page and
refusing offsets past `follower_offset_cap`. A token belongs to the OA it was issued for
(`issue_tokens(oa_id)`, default `oa_id`), and a refresh keeps it there. `list_params` keeps the
`data` parameter of every listing request.

Consultation (CS) messages: POST /v3.0/oa/message/cs `{"recipient": {"user_id"}, "message":
{"text"}}` is accepted for a user who interacted with the OA (`user_interacted(user_id, at=…)`,
or writing to it: `webhook_body`) within 7 days of `cs_now()`, else refused with -230; accepted
ones are kept in `cs_messages`.
Webhooks Zalo would send: `webhook_body(...)` builds a `user_send_text` event and
`webhook_signature(body, secret)` its `X-ZEvent-Signature`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

IMAGE_LIMIT = 1024 * 1024
FILE_LIMIT = 5 * 1024 * 1024
TEXT_LIMIT = 2000
RATE_LIMIT = 4000
LIST_LIMIT = 50  # users or members per listing page
FOLLOWER_OFFSET_CAP = 9951
CS_WINDOW = timedelta(days=7)


@dataclass
class _Scripted:
    """A canned answer for the next matching request(s)."""

    remaining: int
    skip: int
    path: str | None
    status: int = 200
    code: int | None = None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class FakeZalo:
    def __init__(
        self,
        *,
        app_id: str = "1234567890",
        secret_key: str | None = None,
        oa_id: str = "579745863508352884",
    ) -> None:
        self.app_id = app_id
        self.oa_id = oa_id
        self.secret_key = secret_key or "app-secret-" + secrets.token_hex(8)
        self.groups: set[str] = {"group-1"}
        self.disabled_groups: set[str] = set()
        self.night_ban = False
        self.verify_pending = 0  # verify answers -214 this many times per article
        self.echo_secrets = False  # put the offending credential into error messages
        self.access_tokens: dict[str, bool] = {}  # token -> still valid
        self.refresh_tokens: set[str] = set()  # unspent
        self.spent_refresh_tokens: set[str] = set()
        self.refreshes: list[str] = []  # refresh tokens accepted, in order
        self.refused_refreshes: list[dict[str, str]] = []
        self.group_messages: list[dict[str, Any]] = []
        self.broadcasts: list[dict[str, Any]] = []
        self.articles: dict[str, dict[str, Any]] = {}  # token -> {"body", "verify_calls", "id"}
        self.uploads: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self._attachments: set[str] = set()
        self._file_tokens: set[str] = set()
        self._article_ids: set[str] = set()
        self._scripted: list[_Scripted] = []
        self._ids = itertools.count(7_000_000_000_000_000_001)
        self.token_oa: dict[str, str] = {}  # access or refresh token -> the OA it acts for
        self.group_members: dict[str, list[dict[str, str]]] = {}
        self.followers: dict[str, list[str]] = {}
        self.follower_offset_cap = FOLLOWER_OFFSET_CAP
        self.list_params: list[dict[str, Any]] = []
        self._user_ids = itertools.count(5_000_000_000_000_000_001)
        self.cs_messages: list[dict[str, Any]] = []
        self.interactions: dict[str, datetime] = {}  # user id -> last interaction with the OA
        self.cs_now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._msg_ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v4/oa/access_token", self._oauth, methods=["POST"]),
                Route("/v3.0/oa/group/message", self._group_message, methods=["POST"]),
                Route("/v3.0/oa/group/getgroupsofoa", self._groups_of_oa, methods=["GET"]),
                Route("/v3.0/oa/group/listmember", self._list_members, methods=["GET"]),
                Route("/v3.0/oa/user/getlist", self._list_followers, methods=["GET"]),
                Route("/v2.0/oa/upload/image", self._upload_image, methods=["POST"]),
                Route("/v2.0/oa/upload/file", self._upload_file, methods=["POST"]),
                Route("/v2.0/article/create", self._article_create, methods=["POST"]),
                Route("/v2.0/article/verify", self._article_verify, methods=["POST"]),
                Route("/v2.0/oa/message", self._broadcast, methods=["POST"]),
                Route("/v3.0/oa/message/cs", self._cs_message, methods=["POST"]),
            ]
        )

    # -- knobs ------------------------------------------------------------------------------

    def issue_tokens(self, oa_id: str | None = None) -> tuple[str, str]:
        """A fresh, valid access/refresh pair, as the consent flow would give."""
        access = "oa-access-" + secrets.token_urlsafe(24)
        refresh = "oa-refresh-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = True
        self.refresh_tokens.add(refresh)
        self.token_oa[access] = self.token_oa[refresh] = oa_id or self.oa_id
        return access, refresh

    def new_user_id(self) -> str:
        """A fresh Zalo user id: a 19-digit string."""
        return str(next(self._user_ids))

    def add_group_members(
        self, group_id: str, n: int, *, names: bool = True
    ) -> list[dict[str, str]]:
        """`n` new members of the group (which now exists), as the rows listmember answers."""
        self.groups.add(group_id)
        rows = []
        for _ in range(n):
            user_id = self.new_user_id()
            rows.append(
                {"user_id": user_id, **({"name": f"Cư dân {user_id[-4:]}"} if names else {})}
            )
        self.group_members.setdefault(group_id, []).extend(rows)
        return rows

    def add_followers(self, n: int, *, oa_id: str | None = None) -> list[str]:
        ids = [self.new_user_id() for _ in range(n)]
        self.followers.setdefault(oa_id or self.oa_id, []).extend(ids)
        return ids

    def expire_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = False

    def revoke_refresh_tokens(self) -> None:
        self.spent_refresh_tokens |= self.refresh_tokens
        self.refresh_tokens.clear()

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 503,
        path: str | None = None,
        after: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next `n` API requests (to `path`, after letting `after` through) get `status`."""
        self._scripted.append(_Scripted(n, after, path, status=status, headers=dict(headers or {})))

    def error_next(
        self,
        code: int,
        n: int = 1,
        *,
        message: str = "Scripted error",
        path: str | None = None,
        after: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next `n` API requests answer HTTP 200 with envelope error `code`."""
        self._scripted.append(
            _Scripted(n, after, path, code=code, message=message, headers=dict(headers or {}))
        )

    def rate_limit_next(self, n: int = 1, *, retry_after: int | None = None) -> None:
        headers = {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remain": "0"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self.error_next(-32, n, message="Request exceeds rate limit", headers=headers)

    @property
    def refresh_count(self) -> int:
        return len(self.refreshes)

    # -- common checks ----------------------------------------------------------------------

    def _scripted_answer(self, path: str) -> Response | None:
        for script in self._scripted:
            if script.path is not None and script.path != path:
                continue
            if script.skip:
                script.skip -= 1
                return None
            script.remaining -= 1
            if script.remaining <= 0:
                self._scripted.remove(script)
            if script.code is None:
                return JSONResponse(
                    {"error": script.status, "message": "Scripted failure"},
                    status_code=script.status,
                    headers=script.headers,
                )
            return _envelope_error(script.code, script.message, headers=script.headers)
        return None

    async def _guard(self, request: Request) -> tuple[str | None, Response | None]:
        """The caller's token if it may call; otherwise the answer Zalo would give."""
        self.requests.append((request.method, request.url.path))
        scripted = self._scripted_answer(request.url.path)
        if scripted is not None:
            return None, scripted
        token = request.headers.get("access_token")
        if not token or not self.access_tokens.get(token):
            message = "Access token is invalid"
            if self.echo_secrets and token:
                message += f": {token}"
            return None, _envelope_error(-216, message)
        return token, None

    async def _json(self, request: Request) -> dict[str, Any] | None:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _next_id(self) -> str:
        return str(next(self._ids))

    # -- OAuth ------------------------------------------------------------------------------

    async def _oauth(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return _oauth_error(-14001, "Invalid content type", "")
        async with request.form() as form:
            fields = {key: str(value) for key, value in form.items()}
        refresh = fields.get("refresh_token", "")
        echo = refresh if self.echo_secrets else ""
        if request.headers.get("secret_key") != self.secret_key:
            return self._refuse(refresh, -14002, "Invalid secret key", echo)
        if fields.get("app_id") != self.app_id:
            return self._refuse(refresh, -14002, "Invalid app_id", echo)
        if fields.get("grant_type") != "refresh_token":
            return self._refuse(refresh, -14001, "Invalid grant_type", echo)
        if refresh not in self.refresh_tokens:
            reason = "Refresh token already used" if refresh in self.spent_refresh_tokens else ""
            return self._refuse(refresh, -14014, reason or "Invalid refresh token", echo)
        self.refresh_tokens.discard(refresh)
        self.spent_refresh_tokens.add(refresh)
        self.refreshes.append(refresh)
        access, new_refresh = self.issue_tokens(self.token_oa.get(refresh))
        return JSONResponse(
            {"access_token": access, "refresh_token": new_refresh, "expires_in": "90000"}
        )

    def _refuse(self, refresh: str, code: int, reason: str, echo: str) -> Response:
        self.refused_refreshes.append({"refresh_token": refresh, "reason": reason})
        return _oauth_error(code, reason, echo)

    # -- API --------------------------------------------------------------------------------

    async def _group_message(self, request: Request) -> Response:
        token, refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await self._json(request)
        if body is None:
            return _envelope_error(-201, "Body must be JSON")
        group_id = (body.get("recipient") or {}).get("group_id")
        message = body.get("message") or {}
        if group_id in self.disabled_groups:
            return _envelope_error(-237, "Group is disabled")
        if group_id not in self.groups:
            return _envelope_error(-201, "group_id is invalid")
        problem = self._message_problem(message)
        if problem:
            return _envelope_error(-201, problem)
        message_id = self._next_id()
        self.group_messages.append(
            {"group_id": group_id, "message": message, "message_id": message_id, "token": token}
        )
        return _ok({"message_id": message_id, "group_id": group_id})

    def _message_problem(self, message: Mapping[str, Any]) -> str | None:
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) or not text:
                return "text is empty"
            return "text exceeds 2000 characters" if len(text) > TEXT_LIMIT else None
        attachment = message.get("attachment") or {}
        payload = attachment.get("payload") or {}
        if attachment.get("type") == "file":
            return None if payload.get("token") in self._file_tokens else "file token is invalid"
        if attachment.get("type") == "template" and payload.get("template_type") == "media":
            elements = payload.get("elements") or []
            if len(elements) != 1 or elements[0].get("media_type") != "image":
                return "media template needs one image element"
            if elements[0].get("attachment_id") not in self._attachments:
                return "attachment_id is invalid"
            return None
        return "message needs text or attachment"

    async def _groups_of_oa(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused is not None:
            return refused
        try:
            params = json.loads(request.query_params["data"])
            offset, count = int(params["offset"]), int(params["count"])
        except (KeyError, ValueError, TypeError):
            return _envelope_error(-201, "data must be JSON with offset and count")
        groups = sorted(self.groups)[offset : offset + count]
        return _ok({"total": len(self.groups), "groups": [{"group_id": g} for g in groups]})

    def _list_params(self, request: Request) -> dict[str, Any] | None:
        try:
            params = json.loads(request.query_params["data"])
            int(params["offset"]), int(params["count"])
        except (KeyError, ValueError, TypeError):
            return None
        self.list_params.append(params)
        return params

    async def _list_members(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused is not None:
            return refused
        params = self._list_params(request)
        if params is None or "group_id" not in params:
            return _envelope_error(-201, "data must be JSON with group_id, offset and count")
        offset, count, group_id = int(params["offset"]), int(params["count"]), params["group_id"]
        if group_id in self.disabled_groups:
            return _envelope_error(-237, "Group is disabled")
        if group_id not in self.groups:
            return _envelope_error(-201, "group_id is invalid")
        if offset < 0 or not 1 <= count <= LIST_LIMIT:
            return _envelope_error(-201, f"offset must be >= 0 and count 1-{LIST_LIMIT}")
        members = self.group_members.get(group_id, [])
        page = members[offset : offset + count]
        return _ok({"total": len(members), "count": len(page), "members": page})

    async def _list_followers(self, request: Request) -> Response:
        token, refused = await self._guard(request)
        if refused is not None:
            return refused
        params = self._list_params(request)
        if params is None:
            return _envelope_error(-201, "data must be JSON with offset and count")
        offset, count = int(params["offset"]), int(params["count"])
        if offset < 0 or not 1 <= count <= LIST_LIMIT:
            return _envelope_error(-201, f"offset must be >= 0 and count 1-{LIST_LIMIT}")
        if offset > self.follower_offset_cap:
            return _envelope_error(-201, f"offset must be at most {self.follower_offset_cap}")
        followers = self.followers.get(self.token_oa.get(token or "", self.oa_id), [])
        page = followers[offset : offset + count]
        users = [{"user_id": user_id} for user_id in page]
        return _ok({"total": len(followers), "count": len(users), "users": users})

    async def _upload(
        self, request: Request, kind: str, suffixes: set[str], limit: int
    ) -> Response | None:
        """None when the multipart `file` is acceptable (and recorded); else Zalo's refusal."""
        _, refused = await self._guard(request)
        if refused is not None:
            return refused
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return _envelope_error(-201, "multipart field 'file' is required")
            content = await upload.read()
            filename, content_type = upload.filename or "", upload.content_type
        if "." + filename.rsplit(".", 1)[-1].lower() not in suffixes:
            return _envelope_error(-201, f"{kind} type is not supported")
        if len(content) > limit:
            return _envelope_error(-201, f"{kind} exceeds {limit} bytes")
        self.uploads.append(
            {"kind": kind, "filename": filename, "content_type": content_type, "size": len(content)}
        )
        return None

    async def _upload_image(self, request: Request) -> Response:
        refused = await self._upload(request, "image", {".jpg", ".jpeg", ".png"}, IMAGE_LIMIT)
        if refused is not None:
            return refused
        attachment_id = "att-" + secrets.token_hex(8)
        self._attachments.add(attachment_id)
        return _ok({"attachment_id": attachment_id})

    async def _upload_file(self, request: Request) -> Response:
        refused = await self._upload(request, "file", {".pdf", ".doc", ".docx", ".csv"}, FILE_LIMIT)
        if refused is not None:
            return refused
        token = "file-" + secrets.token_hex(8)
        self._file_tokens.add(token)
        return _ok({"token": token})

    async def _article_create(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await self._json(request)
        problem = _article_problem(body)
        if problem:
            return _envelope_error(-201, problem)
        token = "article-" + secrets.token_hex(8)
        self.articles[token] = {"body": body, "verify_calls": 0, "id": None}
        return _ok({"token": token})

    async def _article_verify(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await self._json(request) or {}
        article = self.articles.get(str(body.get("token")))
        if article is None:
            return _envelope_error(-201, "token is invalid")
        article["verify_calls"] += 1
        if article["verify_calls"] <= self.verify_pending:
            return _envelope_error(-214, "Article is being processed")
        if article["id"] is None:
            article["id"] = self._next_id()
            self._article_ids.add(article["id"])
        return _ok({"id": article["id"]})

    async def _broadcast(self, request: Request) -> Response:
        token, refused = await self._guard(request)
        if refused is not None:
            return refused
        if self.night_ban:
            return _envelope_error(-234, "Cannot send promotion messages at night")
        body = await self._json(request) or {}
        if not isinstance((body.get("recipient") or {}).get("target"), dict):
            return _envelope_error(-201, "recipient.target is required")
        payload = ((body.get("message") or {}).get("attachment") or {}).get("payload") or {}
        elements = payload.get("elements") or [{}]
        element = elements[0]
        if (
            payload.get("template_type") != "media"
            or element.get("media_type") != "article"
            or element.get("attachment_id") not in self._article_ids
        ):
            return _envelope_error(-201, "broadcast needs a processed article attachment")
        message_id = self._next_id()
        self.broadcasts.append(
            {"article_id": element["attachment_id"], "message_id": message_id, "token": token}
        )
        return _ok({"message_id": message_id})

    async def _cs_message(self, request: Request) -> Response:
        token, refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await self._json(request)
        if body is None:
            return _envelope_error(-201, "Body must be JSON")
        user_id = str((body.get("recipient") or {}).get("user_id") or "")
        message = body.get("message") or {}
        if not user_id:
            return _envelope_error(-201, "recipient.user_id is required")
        last = self.interactions.get(user_id)
        if last is None or self.cs_now() - last > CS_WINDOW:
            return _envelope_error(-230, "User has not interacted with the OA in the last 7 days")
        problem = self._message_problem(message)
        if problem:
            return _envelope_error(-201, problem)
        message_id = self._next_id()
        self.cs_messages.append(
            {"user_id": user_id, "message": message, "message_id": message_id, "token": token}
        )
        return _ok({"message_id": message_id, "user_id": user_id})

    # -- webhooks Zalo would send -----------------------------------------------------------

    def user_interacted(self, user_id: str, *, at: datetime) -> None:
        self.interactions[user_id] = at

    def new_msg_id(self) -> str:
        return f"{next(self._msg_ids):032x}"

    def webhook_body(
        self,
        user_id: str,
        text: str,
        *,
        at: datetime,
        oa_id: str | None = None,
        msg_id: str | None = None,
        event_name: str = "user_send_text",
        quote_msg_id: str | None = None,
        group_id: str | None = None,
    ) -> bytes:
        """A user -> OA event as Zalo posts it (sender the user, recipient the OA). Writing to the
        OA is an interaction: it opens the user's CS window."""
        self.interactions[user_id] = at
        message: dict[str, Any] = {"text": text, "msg_id": msg_id or self.new_msg_id()}
        if quote_msg_id:
            message["quote_msg_id"] = quote_msg_id
        event: dict[str, Any] = {
            "app_id": self.app_id,
            "user_id_by_app": "app-" + user_id[-6:],
            "event_name": event_name,
            "timestamp": str(int(at.timestamp() * 1000)),
            "sender": {"id": user_id},
            "recipient": {"id": group_id or oa_id or self.oa_id},
            "message": message,
        }
        if group_id:
            event["group_id"] = group_id
            event["oa_id"] = oa_id or self.oa_id
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()

    def webhook_signature(self, body: bytes, secret: str) -> str:
        timestamp = str(json.loads(body)["timestamp"])
        raw = self.app_id.encode() + body + timestamp.encode() + secret.encode()
        return "mac=" + hashlib.sha256(raw).hexdigest()

    # -- views for tests --------------------------------------------------------------------

    @property
    def articles_created(self) -> int:
        return len(self.articles)

    def texts(self) -> list[str]:
        return [m["message"]["text"] for m in self.group_messages if "text" in m["message"]]


def _article_problem(body: Mapping[str, Any] | None) -> str | None:
    if body is None:
        return "body must be JSON"
    if body.get("type") != "normal":
        return "type must be normal"
    limits = {"title": 150, "author": 50, "description": 300}
    for name, limit in limits.items():
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            return f"{name} is required and at most {limit} characters"
    cover = body.get("cover") or {}
    if cover.get("cover_type") != "photo" or not str(cover.get("photo_url", "")).startswith(
        ("http://", "https://")
    ):
        return "cover needs cover_type photo and a photo_url"
    paragraphs = body.get("body")
    if not isinstance(paragraphs, list) or not paragraphs:
        return "body must be a non-empty list"
    if any(p.get("type") != "text" or not p.get("content") for p in paragraphs):
        return "body items need type and content"
    if body.get("status") not in ("show", "hide"):
        return "status must be show or hide"
    return None


def _ok(data: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse({"error": 0, "message": "Success", "data": dict(data)}, headers=_limits())


def _envelope_error(
    code: int, message: str, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": message}, headers={**_limits(), **(headers or {})}
    )


def _oauth_error(code: int, reason: str, echo: str) -> JSONResponse:
    description = f"{reason} {echo}".strip()
    return JSONResponse({"error": code, "error_name": reason, "error_description": description})


def _limits() -> dict[str, str]:
    return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remain": str(RATE_LIMIT - 1)}
