"""A fake Messenger platform: the Send API of the Graph API, and signed webhook deliveries.

    fake = FakeMessenger({"1001": "page-token"}, app_secret="s3cret", now=clock.now)
    psid = fake.add_user("1001")                 # a person who wrote to the page…
    fake.user_wrote("1001", psid, at=clock.now())  # …at this time (opens the windows)
    with serve_app(fake.app) as server:
        endpoints = Endpoints(facebook_graph=server.url(f"/{fake.version}"))

POST /{version}/{page_id}/messages takes the JSON body of the Send API (`recipient.id`,
`messaging_type`, `message.text`, `tag`) with the page token in `Authorization: Bearer` or the
`access_token` query parameter, and `appsecret_proof` when an app secret is set. It enforces the
standard messaging window against the time each person last wrote: RESPONSE within 24 hours,
MESSAGE_TAG with tag HUMAN_AGENT within 7 days, otherwise error 10/2018278; an unknown PSID is
100/2018001; a person in `blocked` is 551; text over 2000 characters is 100. Errors answer the
Graph error object. `fail_next(code=..)` scripts the next answers. Accepted messages are kept in
`sent`.

Webhooks the platform would send: `message_event(...)` builds one messaging event (a person's
message, which also opens their window),
`delivery(page_id, events)` the body that carries them, and `signature(body)` the
`X-Hub-Signature-256` header for it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

GRAPH_VERSION = "v25.0"
TEXT_LIMIT = 2000
RESPONSE_WINDOW = timedelta(hours=24)
TAG_WINDOW = timedelta(days=7)
TAGS = {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}


@dataclass
class SentMessage:
    page_id: str
    psid: str
    messaging_type: str
    tag: str | None
    text: str
    message_id: str


@dataclass
class _Failure:
    code: int | None
    status: int
    subcode: int | None
    message: str


class FakeMessenger:
    version = GRAPH_VERSION

    def __init__(
        self,
        page_tokens: Mapping[str, str],
        *,
        app_secret: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.page_tokens = dict(page_tokens)
        self.app_secret = app_secret
        self.now = now
        self.last_wrote: dict[tuple[str, str], datetime] = {}
        self.blocked: set[str] = set()
        self.sent: list[SentMessage] = []
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[_Failure] = deque()
        self._psids = itertools.count(24_000_000_000_000_001)
        self._mids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Mount(
                    f"/{self.version}",
                    routes=[Route("/{page_id}/messages", self._messages, methods=["POST"])],
                )
            ]
        )

    # -- knobs -------------------------------------------------------------------------------

    def add_user(self, page_id: str) -> str:
        """A new page-scoped id (PSID) of a person on `page_id`, who has not written yet."""
        psid = str(next(self._psids))
        self.last_wrote.setdefault((page_id, psid), datetime.min.replace(tzinfo=UTC))
        return psid

    def user_wrote(self, page_id: str, psid: str, *, at: datetime) -> None:
        self.last_wrote[(page_id, psid)] = at

    def fail_next(
        self, n: int = 1, *, code: int | None = 2, status: int | None = None, subcode=None
    ) -> None:
        for _ in range(n):
            self._failures.append(
                _Failure(
                    code,
                    status or _status_for(code),
                    subcode,
                    f"(#{code}) Scripted failure" if code is not None else "",
                )
            )

    def sign(self, body: bytes) -> str:
        assert self.app_secret is not None
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    signature = sign

    def new_mid(self) -> str:
        return f"m_{next(self._mids):06d}AbCdEf"

    def message_event(
        self,
        page_id: str,
        psid: str,
        text: str,
        *,
        at: datetime,
        mid: str | None = None,
        reply_to: str | None = None,
        echo: bool = False,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"mid": mid or self.new_mid(), "text": text}
        if reply_to:
            message["reply_to"] = {"mid": reply_to}
        if echo:
            message["is_echo"] = True
            message["app_id"] = 1517
            sender, recipient = page_id, psid
        else:
            sender, recipient = psid, page_id
            self.user_wrote(page_id, psid, at=at)  # what opens the messaging window
        return {
            "sender": {"id": sender},
            "recipient": {"id": recipient},
            "timestamp": int(at.timestamp() * 1000),
            "message": message,
        }

    @staticmethod
    def delivery(page_id: str, events: Sequence[dict[str, Any]], *, at: datetime) -> bytes:
        """A webhook body as Meta sends it: escaped unicode, compact."""
        body = {
            "object": "page",
            "entry": [{"id": page_id, "time": int(at.timestamp() * 1000), "messaging": events}],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    # -- the Send API ----------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        page_id = request.path_params["page_id"]
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        self.requests.append({"page_id": page_id, "body": body})
        if self._failures:
            failure = self._failures.popleft()
            if failure.code is None:
                return JSONResponse({"detail": "scripted"}, status_code=failure.status)
            return _error(failure.code, failure.message, failure.subcode, failure.status)
        refused = self._authorize(request, page_id)
        if refused is not None:
            return refused
        if not isinstance(body, dict):
            return _error(100, "(#100) The parameter recipient is required")
        psid = str((body.get("recipient") or {}).get("id") or "")
        messaging_type = body.get("messaging_type")
        tag = body.get("tag")
        text = (body.get("message") or {}).get("text")
        if not psid:
            return _error(100, "(#100) The parameter recipient is required")
        if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return _error(
                100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
            )
        if messaging_type == "MESSAGE_TAG" and tag not in TAGS:
            return _error(100, "(#100) Param tag must be a valid message tag")
        if not isinstance(text, str) or not text:
            return _error(100, "(#100) The parameter message is required")
        if len(text) > TEXT_LIMIT:
            return _error(
                100, "(#100) Length of param message[text] must be less than or equal to 2000"
            )
        last = self.last_wrote.get((page_id, psid))
        if last is None:
            return _error(100, "(#100) No matching user found", 2018001)
        if psid in self.blocked:
            return _error(551, "This person isn't available right now.", 1545041)
        age = self.now() - last
        allowed = RESPONSE_WINDOW if messaging_type != "MESSAGE_TAG" else TAG_WINDOW
        if age > allowed:
            return _error(
                10,
                "(#10) This message is sent outside of allowed window.",
                2018278,
                status=400,
            )
        message_id = self.new_mid()
        self.sent.append(SentMessage(page_id, psid, messaging_type, tag, text, message_id))
        return JSONResponse({"recipient_id": psid, "message_id": message_id})

    def _authorize(self, request: Request, page_id: str) -> Response | None:
        token = request.query_params.get("access_token")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if token is None and scheme.lower() in ("bearer", "oauth"):
            token = credentials.strip()
        if not token or token not in self.page_tokens.values():
            return _error(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is not None:
            proof = request.query_params.get("appsecret_proof") or ""
            expected = hmac.new(
                self.app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(proof, expected):
                return _error(100, "Invalid appsecret_proof provided in the API argument")
        if self.page_tokens.get(page_id) != token:
            return _error(
                200, "(#200) The user hasn't authorized the application to perform this action"
            )
        return None

    def texts_to(self, psid: str) -> list[str]:
        return [m.text for m in self.sent if m.psid == psid]


def _status_for(code: int | None) -> int:
    if code is None or code in (1, 2):
        return 500
    if code == 10 or 200 <= code <= 299:
        return 403
    return 400


def _error(
    code: int, message: str, subcode: int | None = None, status: int | None = None
) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGh123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status or _status_for(code))
