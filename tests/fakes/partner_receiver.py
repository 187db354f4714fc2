"""A partner's webhook endpoint on 127.0.0.1: verifies Standard Webhooks v1 signatures the way a
receiver library does, records what arrived, and answers what the test scripted.

    receiver = PartnerReceiver(secret="whsec_…")
    receiver.script(500, 429, 200)               # one answer per request, then 200
    with serve_app(receiver.app()) as server: ...

The signature check is written here from the specification (channels.md §5), not imported from
the sender, so a mistake in the sender cannot be mirrored by the check that tests it. A request
whose signature does not verify, whose timestamp is more than five minutes off, or that lacks a
header is answered 401 and recorded with `verified=False`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOLERANCE = 300


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    signature: str
    body: bytes
    verified: bool
    answered: int
    headers: dict[str, str] = field(repr=False)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class PartnerReceiver:
    def __init__(self, secret: str | None = None, *, tolerance: int = TOLERANCE) -> None:
        """`tolerance`: how far (seconds) a timestamp may be from this machine's clock; tests
        that move their clock by more than five minutes widen it."""
        self._secret: bytes | None = None
        self.tolerance = tolerance
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.received: list[Received] = []
        if secret:
            self.set_secret(secret)

    def set_secret(self, secret: str) -> None:
        assert secret.startswith("whsec_"), secret
        self._secret = base64.b64decode(secret.removeprefix("whsec_"))

    def script(self, *answers: int | Answer) -> None:
        """The next answers, in order; 200 once they are used up."""
        with self._lock:
            self._answers.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    @property
    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified]

    def _verify(self, webhook_id: str, stamp: str, signatures: str, body: bytes) -> bool:
        if self._secret is None or not webhook_id or not stamp.isdigit() or not signatures:
            return False
        if abs(time.time() - int(stamp)) > self.tolerance:
            return False
        signed = webhook_id.encode() + b"." + stamp.encode() + b"." + body
        expected = base64.b64encode(hmac.new(self._secret, signed, hashlib.sha256).digest())
        for candidate in signatures.split(" "):
            version, _, value = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                return True
        return False

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        webhook_id = request.headers.get("webhook-id", "")
        stamp = request.headers.get("webhook-timestamp", "")
        signature = request.headers.get("webhook-signature", "")
        verified = self._verify(webhook_id, stamp, signature, body)
        with self._lock:
            answer = (
                (self._answers.popleft() if self._answers else Answer(200))
                if verified
                else Answer(401)
            )
            self.received.append(
                Received(
                    webhook_id=webhook_id,
                    timestamp=int(stamp) if stamp.isdigit() else 0,
                    signature=signature,
                    body=body,
                    verified=verified,
                    answered=answer.status,
                    headers=dict(request.headers),
                )
            )
        return Response(
            b"" if answer.status < 400 else b"nope", answer.status, headers=answer.headers
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/gandan", self._hook, methods=["POST"])])
