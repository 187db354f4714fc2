"""Messenger webhooks (channels.md §2.1–2.3): the subscription handshake, `X-Hub-Signature-256`,
and the messages in a (possibly batched) delivery.

- GET: `hub.mode=subscribe` with `hub.verify_token` equal to GANDAN_MESSENGER_VERIFY_TOKEN
  answers `hub.challenge`; anything else is refused.
- POST: `X-Hub-Signature-256: sha256=<hex>`, hex = HMAC-SHA256(key = the app secret, the raw
  body). Meta signs the bytes it sends (with escaped unicode), so only the raw body will do.
- Body: `{"object": "page", "entry": [{"id": <page id>, "time", "messaging": [event…]}]}`; every
  entry and every event is read. An event with `message` (not an echo) is a resident's message,
  identified by `message.mid`; deliveries, reads, reactions, postbacks and echoes are not stored.
- Freshness: each message's `timestamp` (epoch ms). Stale messages are dropped; a delivery whose
  every message is stale is refused (400), so a replayed capture changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.channels.webhooks import (
    DEFAULT_MAX_AGE,
    from_millis,
    header,
    is_fresh,
    json_object,
    platform_id,
    text_of,
)
from domain.channels import ChannelKind
from domain.ports import INBOX_MESSENGER, InboundAttachment, InboundEvent, WebhookRejected
from domain.text import nfc

SIGNATURE_HEADER = "x-hub-signature-256"
PREFIX = "sha256="


def expected_signature(app_secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class MessengerWebhook:
    inbox = INBOX_MESSENGER
    signature_headers = (SIGNATURE_HEADER,)

    def __init__(
        self,
        *,
        app_secret: str | None,
        verify_token: str | None,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._secret = app_secret or None
        self._verify_token = verify_token or None
        self._max_age = max_age

    @property
    def configured(self) -> bool:
        return self._secret is not None

    def handshake(self, params: Mapping[str, str]) -> str:
        """The challenge to echo back when Meta subscribes with our verify token."""
        if self._verify_token is None:
            raise WebhookRejected(WebhookRejected.NOT_CONFIGURED, "no Messenger verify token")
        token = params.get("hub.verify_token") or ""
        challenge = params.get("hub.challenge") or ""
        matches = hmac.compare_digest(token.encode(), self._verify_token.encode())
        if params.get("hub.mode") != "subscribe" or not matches:
            raise WebhookRejected(WebhookRejected.BAD_SIGNATURE, "verify token mismatch")
        if not challenge or len(challenge) > 256 or not challenge.isprintable():
            raise WebhookRejected(WebhookRejected.MALFORMED, "no usable hub.challenge")
        return challenge

    async def accept(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[InboundEvent]:
        if self._secret is None:
            raise WebhookRejected(WebhookRejected.NOT_CONFIGURED, "no Messenger app secret")
        signature = header(headers, SIGNATURE_HEADER)
        if signature is None:
            raise WebhookRejected(WebhookRejected.MISSING_SIGNATURE, "no X-Hub-Signature-256")
        expected = expected_signature(self._secret, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise WebhookRejected(WebhookRejected.BAD_SIGNATURE, "X-Hub-Signature-256 mismatch")
        events = self.parse(body, headers)
        fresh = [e for e in events if is_fresh(e.sent_at, now, self._max_age)]
        if events and not fresh:
            raise WebhookRejected(WebhookRejected.STALE, "every message is outside the tolerance")
        return fresh

    def parse(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        envelope = json_object(body)
        if envelope.get("object") != "page":
            return []
        entries = envelope.get("entry")
        events: list[InboundEvent] = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping):
                continue
            page_id = platform_id(entry.get("id"))
            messaging = entry.get("messaging")
            for item in messaging if isinstance(messaging, list) else []:
                event = message_event(item, page_id)
                if event is not None:
                    events.append(event)
        return events


def message_event(item: Any, entry_page_id: str | None) -> InboundEvent | None:
    if not isinstance(item, Mapping):
        return None
    message = item.get("message")
    if not isinstance(message, Mapping) or message.get("is_echo"):
        return None
    mid = platform_id(message.get("mid"))
    sender = platform_id(_id_of(item.get("sender")))
    page_id = platform_id(_id_of(item.get("recipient"))) or entry_page_id
    if mid is None or sender is None or page_id is None:
        return None
    try:
        sent_at = from_millis(item.get("timestamp"))
    except WebhookRejected:
        return None
    reply_to = message.get("reply_to")
    quoted = platform_id(reply_to.get("mid")) if isinstance(reply_to, Mapping) else None
    text = text_of(message.get("text"))
    quick = message.get("quick_reply")
    if not text and isinstance(quick, Mapping):
        text = text_of(quick.get("payload"))
    return InboundEvent(
        channel=ChannelKind.FACEBOOK_PAGE,
        external_id=mid,
        sender_id=sender,
        account_id=page_id,
        text=nfc(text).strip(),
        sent_at=sent_at,
        quoted_message_id=quoted,
        attachments=tuple(_attachments(message.get("attachments"))),
    )


def _id_of(party: Any) -> Any:
    return party.get("id") if isinstance(party, Mapping) else None


def _attachments(raw: Any) -> list[InboundAttachment]:
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw[:20]:
        if not isinstance(item, Mapping):
            continue
        payload = item.get("payload") if isinstance(item.get("payload"), Mapping) else {}
        url = payload.get("url")
        found.append(
            InboundAttachment(
                type=text_of(item.get("type")) or "file",
                url=url
                if isinstance(url, str) and url.startswith(("https://", "http://"))
                else None,
                name=text_of(payload.get("title")) or None,
            )
        )
    return found
