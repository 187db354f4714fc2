"""Zalo OA webhooks (channels.md §1.6): checking `X-ZEvent-Signature` and reading the events.

Signature: `X-ZEvent-Signature: mac=<hex>`, hex = SHA-256 (a plain hash, not an HMAC) of
`app_id + raw body + timestamp + secret`, where `timestamp` is the body's own `timestamp` field
(epoch milliseconds, a string). Zalo signs a value inside the body, so the body has to be decoded
before the mac can be checked: only `app_id`, `timestamp` and the account ids that choose the
secret are read before it verifies, and nothing is stored or acted on unless it does.

Which secret: the OA secret key or the app secret; sources disagree [UNCONFIRMED], so it is
configurable. For the OA (or GMF group) an event belongs to, the secret is taken from the
credentials config of that group's `credentialsRef`: `webhook_secret` if set, else by source —
"oa": `oa_secret_key`, "app": `secret_key` (the app secret the token refresh already uses) —
where the source is the ref's `webhook_secret_source`, else GANDAN_ZALO_WEBHOOK_SECRET_SOURCE.
An OA without a secret of its own uses GANDAN_ZALO_WEBHOOK_SECRET. The app id is
GANDAN_ZALO_APP_ID, and the body's `app_id` must be that app.

Events turned into messages: `user_send_{text,image,link,audio,video,sticker,location,file,
business_card}`, `anonymous_send_text` (user → OA; sender = the user, recipient = the OA) and the
GMF `user_send_group_*` events (the group id: `group_id`, else `group_info.group_id`, else
`recipient.id` — the GMF envelope is not documented where we could read it [UNCONFIRMED]).
Echoes (`oa_send_*`), receipts, follows and the rest are verified and acknowledged, not stored.
`message.msg_id` is the event's id; Zalo retries with the same one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.channels.webhooks import (
    DEFAULT_MAX_AGE,
    from_millis,
    header,
    json_object,
    platform_id,
    require_fresh,
    text_of,
)
from domain.channels import ChannelKind
from domain.ports import (
    INBOX_ZALO,
    CredentialStore,
    InboundAttachment,
    InboundEvent,
    WebhookRejected,
)
from domain.text import nfc

SIGNATURE_HEADER = "x-zevent-signature"
USER_MESSAGES = frozenset(
    {
        "user_send_text",
        "user_send_image",
        "user_send_link",
        "user_send_audio",
        "user_send_video",
        "user_send_sticker",
        "user_send_location",
        "user_send_file",
        "user_send_business_card",
        "user_send_gif",
        "anonymous_send_text",
    }
)
GROUP_PREFIX = "user_send_group_"
# Events in which the OA is the sender (its own echoes, and receipts of what it sent).
OA_SENT = ("oa_send_", "user_received_message", "user_seen_message")
SOURCES = ("oa", "app")


@dataclass(frozen=True, slots=True)
class SigningKey:
    app_id: str
    secret: str = field(repr=False)


# (kind of account, its Zalo id) -> the key its events are signed with, if we know one.
KeyLookup = Callable[[ChannelKind, str], Awaitable[SigningKey | None]]
# (kind of account, its Zalo id) -> the credentials ref of our group for it.
RefLookup = Callable[[ChannelKind, str], Awaitable[str | None]]


def zalo_signing_keys(
    *,
    app_id: str | None,
    default_secret: str | None,
    source: str,
    credentials: CredentialStore,
    ref_of: RefLookup,
) -> KeyLookup | None:
    """The lookup the webhook uses, or None when Zalo webhooks are not configured (no app id)."""
    if not app_id:
        return None
    if source not in SOURCES:
        raise ValueError(f"GANDAN_ZALO_WEBHOOK_SECRET_SOURCE must be one of {SOURCES}")

    async def key_for(kind: ChannelKind, account_id: str) -> SigningKey | None:
        ref = await ref_of(kind, account_id)
        config = credentials.config(ref) if ref else None
        if config:
            own = config.get("webhook_secret")
            if not own:
                chosen = config.get("webhook_secret_source") or source
                own = config.get("oa_secret_key" if chosen == "oa" else "secret_key")
            if own:
                return SigningKey(app_id, own)
        return SigningKey(app_id, default_secret) if default_secret else None

    return key_for


def expected_mac(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode())
    return "mac=" + digest.hexdigest()


class ZaloWebhook:
    inbox = INBOX_ZALO
    signature_headers = (SIGNATURE_HEADER,)

    def __init__(self, keys: KeyLookup | None, *, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._keys = keys
        self._max_age = max_age

    @property
    def configured(self) -> bool:
        return self._keys is not None

    async def accept(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[InboundEvent]:
        if self._keys is None:
            raise WebhookRejected(WebhookRejected.NOT_CONFIGURED, "Zalo webhooks are not set up")
        signature = header(headers, SIGNATURE_HEADER)
        if signature is None:
            raise WebhookRejected(WebhookRejected.MISSING_SIGNATURE, "no X-ZEvent-Signature")
        envelope = json_object(body)
        timestamp = envelope.get("timestamp")
        if not isinstance(timestamp, str | int) or isinstance(timestamp, bool):
            raise WebhookRejected(WebhookRejected.MALFORMED, "no timestamp in the body")
        account = account_of(envelope)
        if account is None:
            raise WebhookRejected(WebhookRejected.MALFORMED, "no account in the body")
        key = await self._keys(*account)
        if key is None:
            raise WebhookRejected(
                WebhookRejected.NOT_CONFIGURED, "no webhook secret for this Zalo account"
            )
        expected = expected_mac(key.app_id, body, str(timestamp), key.secret)
        # Compared as bytes: compare_digest refuses non-ASCII str, and a header may carry any.
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise WebhookRejected(WebhookRejected.BAD_SIGNATURE, "X-ZEvent-Signature mismatch")
        if str(envelope.get("app_id", "")) != key.app_id:
            # Signed with our secret for another app id: not an event of our app.
            raise WebhookRejected(WebhookRejected.BAD_SIGNATURE, "app_id is not our app")
        require_fresh(from_millis(timestamp), now, self._max_age)
        return self._events(envelope)

    def parse(self, body: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        return self._events(json_object(body))

    def _events(self, envelope: dict[str, Any]) -> list[InboundEvent]:
        event = message_event(envelope)
        return [event] if event is not None else []


def account_of(envelope: Mapping[str, Any]) -> tuple[ChannelKind, str] | None:
    """The OA or GMF group an event belongs to, whose secret signs it."""
    name = text_of(envelope.get("event_name"))
    if name.startswith(GROUP_PREFIX):
        group = _group_id(envelope)
        return (ChannelKind.ZALO_GROUP, group) if group else None
    if name.startswith(OA_SENT):
        oa = platform_id(_id_of(envelope.get("sender")))
    else:
        oa = platform_id(envelope.get("oa_id")) or platform_id(_id_of(envelope.get("recipient")))
    return (ChannelKind.ZALO_OA, oa) if oa else None


def message_event(envelope: Mapping[str, Any]) -> InboundEvent | None:
    """The resident's message in a verified envelope; None for anything else."""
    name = text_of(envelope.get("event_name"))
    is_group = name.startswith(GROUP_PREFIX)
    if name not in USER_MESSAGES and not is_group:
        return None
    message = envelope.get("message")
    if not isinstance(message, Mapping):
        return None
    msg_id = platform_id(message.get("msg_id"))
    sender = platform_id(_id_of(envelope.get("sender")))
    account = account_of(envelope)
    if msg_id is None or sender is None or account is None:
        return None
    return InboundEvent(
        channel=account[0],
        external_id=msg_id,
        sender_id=sender,
        account_id=account[1],
        text=nfc(text_of(message.get("text"))).strip(),
        sent_at=from_millis(envelope.get("timestamp")),
        quoted_message_id=platform_id(message.get("quote_msg_id")),
        attachments=tuple(_attachments(message.get("attachments"))),
    )


def _group_id(envelope: Mapping[str, Any]) -> str | None:
    info = envelope.get("group_info")
    return (
        platform_id(envelope.get("group_id"))
        or (platform_id(info.get("group_id")) if isinstance(info, Mapping) else None)
        or platform_id(_id_of(envelope.get("recipient")))
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
        name = payload.get("name") or payload.get("title")
        found.append(
            InboundAttachment(
                type=text_of(item.get("type")) or "file",
                url=url
                if isinstance(url, str) and url.startswith(("https://", "http://"))
                else None,
                name=name if isinstance(name, str) else None,
            )
        )
    return found
