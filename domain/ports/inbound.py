"""Ports for what residents send us: the durable inbox of signed webhooks and the events parsed
out of it.

A webhook is checked and stored as received (the raw body) before the platform gets its 200; it
is parsed again and acted on later by the inbound processor. The parser therefore has to read a
stored body as well as a fresh one, and a stored event is found again by its platform id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.channels import ChannelKind, Platform

# The endpoints a platform posts to; an inbox row names the one it came through.
INBOX_ZALO = "zalo"
INBOX_MESSENGER = "messenger"
INBOX_PORTAL = "portal"


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    type: str  # image | video | audio | file | location | sticker | link | …, as the platform says
    url: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One message a resident sent, as every channel's parser hands it over.

    `channel` is the kind of account the message came through (a Zalo OA, a GMF group, a Facebook
    page, the portal) and `account_id` that account's id on the platform (the OA id, the group
    id, the page id; for the portal, the ward code the form names): together they find the group,
    and so the ward. `sender_id` is the platform's own id of the person (Zalo user id, Messenger
    PSID); the portal has none. It is personal data: it goes to the identity vault, never to a
    tip or a log.
    """

    channel: ChannelKind
    external_id: str
    sender_id: str | None
    account_id: str
    text: str
    sent_at: datetime
    quoted_message_id: str | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    # Portal forms say more than chat messages do.
    anonymous: bool = False
    category: str | None = None
    contact_name: str | None = field(default=None, repr=False)
    contact_phone: str | None = field(default=None, repr=False)

    @property
    def platform(self) -> Platform | None:
        """Where `sender_id` is an id: a reply goes back there."""
        if self.channel in (ChannelKind.ZALO_OA, ChannelKind.ZALO_GROUP):
            return Platform.ZALO
        if self.channel is ChannelKind.FACEBOOK_PAGE:
            return Platform.MESSENGER
        return None


class WebhookRejected(Exception):
    """A webhook we will not store. `reason` is one of the class constants; the API maps each to
    its HTTP status. The message is for our logs and never quotes the body."""

    NOT_CONFIGURED = "not_configured"  # 503: no secret for this channel, nothing can verify
    MISSING_SIGNATURE = "missing_signature"  # 401
    BAD_SIGNATURE = "bad_signature"  # 403
    STALE = "stale"  # 400: signed too long ago (or in the future)
    MALFORMED = "malformed"  # 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A stored webhook event, as the processor claims it."""

    id: UUID
    channel: str  # INBOX_ZALO | INBOX_MESSENGER | INBOX_PORTAL
    external_id: str
    received_at: datetime
    payload: str | None  # the raw body; None once purged
    headers: Mapping[str, str]
    attempts: int  # including this claim: the claim's token for mark_processed / mark_failed


class InboxRepository(Protocol):
    """The durable, idempotent inbox. Every method is its own transaction."""

    async def record(
        self,
        channel: str,
        external_id: str,
        payload: str,
        headers: Mapping[str, str],
        at: datetime,
    ) -> bool:
        """Store the event; False, changing nothing, when (channel, external_id) is stored."""
        ...

    async def claim_unprocessed(self, limit: int, now: datetime) -> list[InboxEntry]:
        """Due unprocessed events, leased to the caller; a lease that runs out makes them due
        again, so events a crashed processor held are picked up by another."""
        ...

    async def mark_processed(
        self, id: UUID, outcome: str, *, attempt: int | None = None, keep_payload: bool = False
    ) -> bool:
        """Done: record the outcome and purge the payload (unless `keep_payload`: another feature
        reads it later; the retention purge still erases it). With `attempt`, only if the event
        was not claimed again since (False otherwise)."""
        ...

    async def mark_failed(
        self, id: UUID, error: str, retry_at: datetime | None, *, attempt: int | None = None
    ) -> bool:
        """Failed this time: due again at `retry_at`, or given up (processed, outcome "dead",
        payload kept for an operator until the retention purge) when it is None."""
        ...

    async def purge_older_than(self, before: datetime) -> int:
        """Erase payloads still held (dead events, kept ones) of events received before `before`."""
        ...


class InboundParser(Protocol):
    """Reads a stored body of one inbox channel, with the headers kept beside it, back into
    events (sync, no I/O; the body was verified when it arrived)."""

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]: ...


def event_with_id(events: Sequence[InboundEvent], external_id: str) -> InboundEvent | None:
    """The event of a (possibly batched) body that an inbox row stands for."""
    return next((e for e in events if e.external_id == external_id), None)
