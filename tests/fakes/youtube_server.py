"""A fake Google token endpoint and YouTube Data API v3: resumable videos.insert and video statistics.

    youtube = FakeYouTube()
    with serve_app(youtube.app) as server:
        endpoints = youtube.endpoints(server)

It enforces what channels.md §3 says: the refresh grant's client id, secret and refresh token;
`Authorization: Bearer` on every API call (tokens it issued, until `expire_tokens()`); the session
start's query, `X-Upload-Content-Length`/`-Type` and the video resource's limits; chunk PUTs with
`Content-Range: bytes FIRST-LAST/TOTAL` that must start at the next byte it expects and, except for
the last, be multiples of 256 KiB; `308` with `Range: bytes=0-N` (no Range when it holds nothing);
the status query `Content-Range: bytes */TOTAL` with an empty body.

Knobs, all plain attributes or small methods:
- `fail_next(n, status, reason=, domain=, on=)` answers the next n matching requests with a Google
  error body (`on`: token, start, chunk, status, upload = chunk|status, stats, api = all but token);
  `exceed_quota()` and `exceed_upload_limit()` script the two quota refusals; `heal()` drops them.
- `cut_chunk(first, keep=, then=)`: the chunk PUT starting at byte `first` stores only `keep` bytes
  (None: all of them) and then answers 503 (`then="503"`), breaks the connection mid-response
  (`then="drop"`, the client never learns what happened) or honestly says how much it kept
  (`then="308"`).
- `expire_tokens()`, `revoke_refresh_token()`, `forget_sessions()` (their URIs answer 404).
It records every request (`requests`), every session opened (`sessions`), every chunk body that
arrived (`chunks`, stored or not; `bytes_received` sums them) and the finished `videos` with their
bytes. `reset()` restores a fresh state, so one server can serve a whole test module.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.channels.base import Endpoints
from tests.fakes.servers import LiveServer

TOKEN_PATH = "/token"
UPLOAD_PATH = "/upload/youtube/v3/videos"
API_PATH = "/youtube/v3/videos"
CHUNK_GRANULE = 256 * 1024
CATEGORIES = frozenset(
    ["1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"]
)
PRIVACY = frozenset({"public", "private", "unlisted"})
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DEFAULT_REASONS = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound"}
REQUEST_KINDS = {
    "token": {"token"},
    "start": {"start"},
    "chunk": {"chunk"},
    "status": {"status"},
    "upload": {"chunk", "status"},
    "stats": {"stats"},
    "api": {"start", "chunk", "status", "stats"},
}


def google_error(
    status: int, message: str, *, reason: str | None = None, domain: str = "global"
) -> JSONResponse:
    reason = reason or DEFAULT_REASONS.get(status, "backendError")
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
                "status": STATUS_NAMES.get(status, "UNKNOWN"),
            }
        },
        status_code=status,
    )


@dataclass
class RecordedRequest:
    kind: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_length: int


@dataclass
class Failure:
    remaining: int
    status: int
    reason: str | None
    domain: str
    kinds: set[str]


@dataclass
class Cut:
    keep: int | None
    then: str


@dataclass
class UploadSession:
    upload_id: str
    uri: str
    total: int
    content_type: str
    resource: dict[str, Any]
    query: dict[str, str]
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class Video:
    id: str
    resource: dict[str, Any]
    data: bytes
    upload_id: str
    statistics: dict[str, str] = field(
        default_factory=lambda: {"viewCount": "0", "likeCount": "0", "commentCount": "0"}
    )


class _BrokenResponse(Response):
    """Starts a 200 and stops halfway through its body: the server hangs up mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"kind": "youtu', "more_body": True})
        # returning now makes uvicorn close the connection under the unfinished response


class FakeYouTube:
    def __init__(
        self,
        *,
        client_id: str = "fake-client.apps.googleusercontent.com",
        client_secret: str = "GOCSPX-fake-client-secret",
        refresh_token: str = "1//fake-refresh-token",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.app = Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(UPLOAD_PATH, self._start, methods=["POST"]),
                Route(UPLOAD_PATH, self._session_put, methods=["PUT"]),
                Route(API_PATH, self._videos_list, methods=["GET"]),
            ]
        )
        self.reset()

    def reset(self) -> None:
        self.token_ttl = 3599
        self.refresh_revoked = False
        self.valid_tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, UploadSession] = {}
        self.forgotten: set[str] = set()
        self.chunks: list[tuple[str, int, int]] = []  # (upload id, first byte, body length)
        self.videos: dict[str, Video] = {}
        self._failures: list[Failure] = []
        self._cuts: dict[int, Cut] = {}
        self._ids = itertools.count(1)

    # knobs -----------------------------------------------------------------------------------

    def endpoints(self, server: LiveServer) -> Endpoints:
        return Endpoints(
            google_oauth_token=server.url(TOKEN_PATH),
            youtube_upload=server.url("/upload/youtube/v3"),
            youtube_api=server.url("/youtube/v3"),
        )

    def issue_token(self) -> str:
        token = f"ya29.fake-access-{next(self._ids)}"
        self.valid_tokens.add(token)
        return token

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def revoke_refresh_token(self) -> None:
        self.refresh_revoked = True

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        reason: str | None = None,
        domain: str = "global",
        on: str = "api",
    ) -> None:
        self._failures.append(Failure(n, status, reason, domain, REQUEST_KINDS[on]))

    def exceed_quota(self) -> None:
        self.fail_next(1, 403, reason="quotaExceeded", domain="youtube.quota", on="start")

    def exceed_upload_limit(self) -> None:
        self.fail_next(1, 400, reason="uploadLimitExceeded", domain="youtube.video", on="start")

    def heal(self) -> None:
        self._failures.clear()
        self._cuts.clear()

    def cut_chunk(self, first: int, *, keep: int | None = None, then: str = "503") -> None:
        if then not in ("503", "drop", "308"):
            raise ValueError("then must be '503', 'drop' or '308'")
        self._cuts[first] = Cut(keep, then)

    def forget_sessions(self) -> None:
        self.forgotten.update(self.sessions)

    def set_statistics(self, video_id: str, *, views: int, likes: int, comments: int) -> None:
        self.videos[video_id].statistics = {
            "viewCount": str(views),
            "likeCount": str(likes),
            "favoriteCount": "0",
            "commentCount": str(comments),
        }

    @property
    def bytes_received(self) -> int:
        return sum(length for _, _, length in self.chunks)

    def requests_of(self, kind: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == kind]

    # endpoints -------------------------------------------------------------------------------

    def _record(self, request: Request, kind: str, body: bytes) -> Response | None:
        self.requests.append(
            RecordedRequest(
                kind,
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                len(body),
            )
        )
        for failure in self._failures:
            if kind in failure.kinds and failure.remaining > 0:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return google_error(
                    failure.status,
                    "Scripted failure.",
                    reason=failure.reason,
                    domain=failure.domain,
                )
        return None

    def _unauthorized(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme == "Bearer" and token in self.valid_tokens:
            return None
        response = google_error(401, "Request had invalid authentication credentials.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return response

    async def _token(self, request: Request) -> Response:
        body = await request.body()
        if failure := self._record(request, "token", body):
            return failure
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        form = await request.form()
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                status_code=401,
            )
        if self.refresh_revoked or form.get("refresh_token") != self.refresh_token:
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
                status_code=400,
            )
        self.token_requests += 1
        return JSONResponse(
            {
                "access_token": self.issue_token(),
                "expires_in": self.token_ttl,
                "scope": "https://www.googleapis.com/auth/youtube.upload",
                "token_type": "Bearer",
            }
        )

    async def _start(self, request: Request) -> Response:
        body = await request.body()
        if refusal := self._unauthorized(request):
            self._record(request, "rejected", body)
            return refusal
        if failure := self._record(request, "start", body):
            return failure
        query = request.query_params
        if query.get("uploadType") != "resumable":
            return google_error(400, "uploadType must be resumable here.")
        if not {"snippet", "status"} <= set(query.get("part", "").split(",")):
            return google_error(400, "part must name snippet and status.", reason="unexpectedPart")
        length = request.headers.get("x-upload-content-length", "")
        if not length.isdigit() or int(length) == 0:
            return google_error(400, "X-Upload-Content-Length is required.")
        upload_type = request.headers.get("x-upload-content-type", "")
        if not (upload_type.startswith("video/") or upload_type == "application/octet-stream"):
            return google_error(400, "Media type not accepted.", reason="mediaBodyRequired")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return google_error(400, "The video resource must be JSON.")
        try:
            resource = json.loads(body)
        except ValueError:
            return google_error(400, "Invalid JSON payload.", reason="parseError")
        if problem := _resource_problem(resource):
            return google_error(400, problem[1], reason=problem[0], domain="youtube.video")
        upload_id = f"fake-upload-{next(self._ids)}"
        uri = f"{str(request.base_url).rstrip('/')}{UPLOAD_PATH}?uploadType=resumable&part=snippet,status&upload_id={upload_id}"
        self.sessions[upload_id] = UploadSession(
            upload_id, uri, int(length), upload_type, resource, dict(query)
        )
        return Response(status_code=200, headers={"Location": uri})

    async def _session_put(self, request: Request) -> Response:
        body = await request.body()
        content_range = request.headers.get("content-range", "")
        kind = "status" if content_range.startswith("bytes */") else "chunk"
        if refusal := self._unauthorized(request):
            self._record(request, "rejected", body)
            return refusal
        if failure := self._record(request, kind, body):
            return failure
        upload_id = request.query_params.get("upload_id", "")
        session = self.sessions.get(upload_id)
        if session is None or upload_id in self.forgotten:
            return google_error(404, "Upload session not found.")
        if request.headers.get("content-length") != str(len(body)):
            return google_error(400, "Content-Length does not match the body.")
        if kind == "status":
            if content_range != f"bytes */{session.total}" or body:
                return google_error(400, "A status query is an empty PUT with bytes */TOTAL.")
            return self._progress(session)
        if session.video_id is not None:
            return self._progress(session)
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        if not match:
            return google_error(400, "Content-Range must be bytes FIRST-LAST/TOTAL.")
        first, last, total = (int(g) for g in match.groups())
        if total != session.total or last - first + 1 != len(body) or last >= total:
            return google_error(400, "Content-Range does not match the body or the session.")
        if first != len(session.received):
            return google_error(
                400, f"Expected the chunk to start at byte {len(session.received)}."
            )
        if last + 1 < total and len(body) % CHUNK_GRANULE:
            return google_error(400, "Chunks other than the last must be multiples of 256 KiB.")
        self.chunks.append((upload_id, first, len(body)))
        cut = self._cuts.pop(first, None)
        kept = body if cut is None or cut.keep is None else body[: cut.keep]
        session.received += kept
        if len(session.received) == session.total:
            self._finish(session)
        if cut is not None:
            if cut.then == "drop":
                return _BrokenResponse()
            if cut.then == "503":
                return google_error(503, "Backend Error")
        return self._progress(session)

    def _progress(self, session: UploadSession) -> Response:
        if session.video_id is not None:
            return JSONResponse(self._video_json(self.videos[session.video_id]), status_code=200)
        if not session.received:
            return Response(status_code=308)
        return Response(status_code=308, headers={"Range": f"bytes=0-{len(session.received) - 1}"})

    def _finish(self, session: UploadSession) -> None:
        video_id = f"fakeVid{next(self._ids):04d}"
        session.video_id = video_id
        self.videos[video_id] = Video(
            video_id, session.resource, bytes(session.received), session.upload_id
        )

    def _video_json(self, video: Video) -> dict[str, Any]:
        return {
            "kind": "youtube#video",
            "id": video.id,
            "snippet": video.resource["snippet"],
            "status": {**video.resource["status"], "uploadStatus": "uploaded"},
        }

    async def _videos_list(self, request: Request) -> Response:
        if refusal := self._unauthorized(request):
            self._record(request, "rejected", b"")
            return refusal
        if failure := self._record(request, "stats", b""):
            return failure
        if "statistics" not in request.query_params.get("part", "").split(","):
            return google_error(400, "part must include statistics.", reason="unexpectedPart")
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        items = [
            {"kind": "youtube#video", "id": i, "statistics": self.videos[i].statistics}
            for i in ids
            if i in self.videos
        ]
        return JSONResponse(
            {
                "kind": "youtube#videoListResponse",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )


def _resource_problem(resource: Any) -> tuple[str, str] | None:
    """(reason, message) of the first rule the video resource breaks, as YouTube would name it."""
    snippet = resource.get("snippet") if isinstance(resource, dict) else None
    status = resource.get("status") if isinstance(resource, dict) else None
    if not isinstance(snippet, dict) or not isinstance(status, dict):
        return "invalidVideoMetadata", "snippet and status are required."
    title = snippet.get("title")
    if (
        not isinstance(title, str)
        or not title.strip()
        or len(title) > 100
        or set("<>") & set(title)
    ):
        return "invalidTitle", "The video title is empty, too long or has < or >."
    description = snippet.get("description", "")
    if (
        not isinstance(description, str)
        or len(description.encode()) > 5000
        or set("<>") & set(description)
    ):
        return "invalidDescription", "The description is too long or has < or >."
    if snippet.get("categoryId") not in CATEGORIES:
        return "invalidCategoryId", "Unknown video category."
    tags = snippet.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "invalidTags", "Tags must be strings."
    if status.get("privacyStatus") not in PRIVACY:
        return "invalidVideoMetadata", "Unknown privacy status."
    return None
