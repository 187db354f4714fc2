"""Inbound webhooks: POST /webhooks/zalo, GET+POST /webhooks/messenger, POST /webhooks/portal.

Each request is answered only after what it carries is stored durably, and nothing is done with
it here: the worker's inbound processor turns stored events into tips later, so a crash between
the two loses nothing and a slow step never keeps a platform waiting.

1. The raw body is read once, at most GANDAN_WEBHOOK_MAX_BODY_BYTES (413 beyond).
2. The channel's adapter checks the signature over those exact bytes in constant time, before
   anything else is done with them (Zalo signs a field inside the body, which is therefore
   decoded first; see adapters/channels/zalo/webhook.py). A missing signature is 401, a wrong
   one 403, a stale or malformed request 400, a channel without its secret 503; none of them
   stores anything.
3. Each event is recorded under (channel, platform message id); a redelivery finds its row and
   changes nothing, and is answered 200 like the first delivery, so the platform stops retrying.
4. 200. A database that cannot store answers 503, and the platform tries again later.

Logs say which channel, what happened and how many events; never a body, a header value or a
user id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adapters.channels.messenger.webhook import MessengerWebhook
from adapters.channels.webhooks import InboundWebhook, kept_headers
from api.bootstrap import Container
from domain.ports import WebhookRejected

log = logging.getLogger("gandan.webhooks")

STATUS = {
    WebhookRejected.NOT_CONFIGURED: 503,
    WebhookRejected.MISSING_SIGNATURE: 401,
    WebhookRejected.BAD_SIGNATURE: 403,
    WebhookRejected.STALE: 400,
    WebhookRejected.MALFORMED: 400,
}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def refusal(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def receiver(
    container: Container, hook: InboundWebhook
) -> Callable[[Request], Awaitable[Response]]:
    settings = container.settings
    inbox = container.inbox

    async def receive(request: Request) -> Response:
        if not hook.configured:
            # Before reading anything: without a secret nothing could be verified.
            return refusal(503, WebhookRejected.NOT_CONFIGURED)
        try:
            body = await read_body(request, settings.webhook_max_body_bytes)
        except BodyTooLarge:
            log.warning("webhook refused", extra={"channel": hook.inbox, "reason": "too_large"})
            return refusal(413, "too_large")
        except ClientDisconnect:
            return refusal(400, WebhookRejected.MALFORMED)
        now = container.clock.now()
        try:
            events = await hook.accept(request.headers, body, now)
            text = body.decode("utf-8")
        except WebhookRejected as rejected:
            log.warning("webhook refused", extra={"channel": hook.inbox, "reason": rejected.reason})
            return refusal(STATUS[rejected.reason], rejected.reason)
        except UnicodeDecodeError:
            return refusal(400, WebhookRejected.MALFORMED)
        except Exception:  # e.g. the database, asked which OA secret applies, is away
            log.exception("webhook could not be checked", extra={"channel": hook.inbox})
            return refusal(503, "unavailable")
        headers = kept_headers(request.headers, hook.signature_headers)
        stored = 0
        try:
            for event in events:
                stored += await inbox.record(hook.inbox, event.external_id, text, headers, now)
        except Exception:  # the database is away: the platform retries, the row dedupes it
            log.exception("webhook could not be stored", extra={"channel": hook.inbox})
            return refusal(503, "unavailable")
        log.info(
            "webhook stored",
            extra={"channel": hook.inbox, "events": len(events), "stored": stored},
        )
        return JSONResponse({"ok": True})

    return receive


def messenger_handshake(hook: MessengerWebhook) -> Callable[[Request], Awaitable[Response]]:
    async def handshake(request: Request) -> Response:
        try:
            challenge = hook.handshake(request.query_params)
        except WebhookRejected as rejected:
            log.warning("messenger subscription refused", extra={"reason": rejected.reason})
            return refusal(STATUS[rejected.reason], rejected.reason)
        return PlainTextResponse(challenge)

    return handshake


def webhook_routes(container: Container) -> list[Route]:
    hooks = container.webhooks
    messenger = hooks.messenger
    receive_messenger = receiver(container, messenger)
    handshake = messenger_handshake(messenger)

    async def messenger_endpoint(request: Request) -> Response:
        if request.method == "GET":
            return await handshake(request)
        return await receive_messenger(request)

    return [
        Route("/webhooks/zalo", receiver(container, hooks.zalo), methods=["POST"]),
        Route("/webhooks/messenger", messenger_endpoint, methods=["GET", "POST"]),
        Route("/webhooks/portal", receiver(container, hooks.portal), methods=["POST"]),
    ]
