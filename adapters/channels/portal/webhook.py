"""Portal form submissions, signed as Standard Webhooks v1 (channels.md §4.3, §5).

Any portal vendor can send them: POST /webhooks/portal with
- `webhook-id`: the submission's id, the same on every retry (our idempotency key);
- `webhook-timestamp`: unix seconds of this attempt, refused outside ±5 minutes;
- `webhook-signature`: space-separated `v1,<base64>` signatures, each HMAC-SHA256 with the key
  (the base64 after `whsec_` in GANDAN_PORTAL_WEBHOOK_SECRET) over `{id}.{timestamp}.{body}`.
  Several signatures allow the portal to rotate keys; one match is enough.

Body: the form as JSON, `{"ward_code", "message", "category"?, "anonymous"?, "contact"?: {"name",
"phone"}, "attachments"?: [{"type", "url", "name"}]}`, either bare or wrapped as a Standard
Webhooks payload `{"type": "tip.submitted", "timestamp", "data": {…form…}}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.channels.webhooks import (
    DEFAULT_MAX_AGE,
    from_seconds,
    header,
    json_object,
    platform_id,
    require_fresh,
    text_of,
)
from domain.channels import ChannelKind
from domain.ports import INBOX_PORTAL, InboundAttachment, InboundEvent, WebhookRejected
from domain.text import clean, nfc

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
MAX_SIGNATURES = 10


def signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret: the base64 after the prefix."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("GANDAN_PORTAL_WEBHOOK_SECRET must be whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("GANDAN_PORTAL_WEBHOOK_SECRET is too short (at least 16 bytes)")
    return key


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class PortalWebhook:
    inbox = INBOX_PORTAL
    signature_headers = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)

    def __init__(self, secret: str | None, *, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._key = signing_key(secret) if secret else None
        self._max_age = max_age

    @property
    def configured(self) -> bool:
        return self._key is not None

    async def accept(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[InboundEvent]:
        if self._key is None:
            raise WebhookRejected(WebhookRejected.NOT_CONFIGURED, "no portal webhook secret")
        signatures = header(headers, SIGNATURE_HEADER)
        if signatures is None:
            raise WebhookRejected(WebhookRejected.MISSING_SIGNATURE, "no webhook-signature")
        webhook_id = header(headers, ID_HEADER)
        timestamp = header(headers, TIMESTAMP_HEADER)
        if webhook_id is None or platform_id(webhook_id) is None or timestamp is None:
            raise WebhookRejected(WebhookRejected.MALFORMED, "webhook-id or -timestamp missing")
        expected = sign(self._key, webhook_id, timestamp, body).encode()
        offered = signatures.split()[:MAX_SIGNATURES]
        # Every listed signature is compared, so the time taken does not say which one matched.
        matched = False
        for candidate in offered:
            matched |= hmac.compare_digest(candidate.encode(), expected)
        if not matched:
            raise WebhookRejected(WebhookRejected.BAD_SIGNATURE, "webhook-signature mismatch")
        signed_at = from_seconds(timestamp)
        require_fresh(signed_at, now, self._max_age)
        event = form_event(json_object(body), webhook_id, signed_at)
        if event is None:
            raise WebhookRejected(WebhookRejected.MALFORMED, "ward_code and message are required")
        return [event]

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """A stored form, with the headers kept beside it (its id and time are there)."""
        webhook_id = header(headers, ID_HEADER)
        timestamp = header(headers, TIMESTAMP_HEADER)
        if webhook_id is None or timestamp is None:
            return []
        event = form_event(json_object(body), webhook_id, from_seconds(timestamp))
        return [event] if event is not None else []


def form_event(
    envelope: dict[str, Any], webhook_id: str, signed_at: datetime
) -> InboundEvent | None:
    form = envelope.get("data") if isinstance(envelope.get("data"), Mapping) else envelope
    ward_code = form.get("ward_code")
    message = nfc(text_of(form.get("message"))).strip()
    if not isinstance(ward_code, str) or not clean(ward_code) or not message:
        return None
    contact = form.get("contact") if isinstance(form.get("contact"), Mapping) else {}
    anonymous = form.get("anonymous") is True or not contact
    category = form.get("category")
    return InboundEvent(
        channel=ChannelKind.PORTAL,
        external_id=webhook_id,
        sender_id=None,
        account_id=clean(ward_code)[:32],
        text=message,
        sent_at=signed_at,
        attachments=tuple(_attachments(form.get("attachments"))),
        anonymous=anonymous,
        category=category if isinstance(category, str) and category else None,
        contact_name=None if anonymous else (clean(text_of(contact.get("name"))) or None),
        contact_phone=None if anonymous else (clean(text_of(contact.get("phone"))) or None),
    )


def _attachments(raw: Any) -> list[InboundAttachment]:
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw[:20]:
        if not isinstance(item, Mapping):
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        found.append(
            InboundAttachment(
                type=text_of(item.get("type")) or "file",
                url=url,
                name=text_of(item.get("name")) or None,
            )
        )
    return found
