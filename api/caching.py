"""HTTP caching for anonymous GraphQL GET queries (the residents' feed): ETag, Cache-Control, 304.

Only requests without credentials are cached publicly; anything answered for a signed-in caller
is marked private and never stored by shared caches.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_AGE = 60


class GraphQLGetCache:
    def __init__(self, app: ASGIApp, *, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        anonymous = "authorization" not in headers
        if scope["method"] != "GET" or not anonymous:
            await self.app(scope, receive, self._private(send))
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(start, b"".join(chunks), headers, send)

        await self.app(scope, receive, buffer)

    @staticmethod
    def _private(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Cache-Control", "private, no-store")
            await send(message)

        return wrapped

    @staticmethod
    async def _finish(start: Message | None, body: bytes, request: Headers, send: Send) -> None:
        assert start is not None
        response = MutableHeaders(scope=start)
        json_answer = response.get("content-type", "").startswith(
            ("application/json", "application/graphql-response+json")
        )
        if start["status"] == 200 and json_answer and b'"errors"' not in body:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            response["ETag"] = etag
            response["Cache-Control"] = f"public, max-age={MAX_AGE}"
            response["Vary"] = "Authorization, Accept"
            wanted = {t.strip() for t in request.get("if-none-match", "").split(",")}
            if etag in wanted:
                del response["content-length"]
                start["status"] = 304
                await send(start)
                await send({"type": "http.response.body", "body": b""})
                return
        else:
            response.setdefault("Cache-Control", "no-store")
        await send(start)
        await send({"type": "http.response.body", "body": body})
