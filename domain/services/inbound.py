"""Turning stored webhook events into tips, thread messages and inquiries (the inbound processor).

For each event claimed from the inbox:
1. Read the stored body back into the event it stands for (a Messenger body may carry several).
2. A message that quotes a tracking code, or quotes (replies to) a message of a tip's thread —
   the acknowledgement carrying the code, an officer's answer — joins that tip's thread; so does
   any message from a person whose tip is still open, in a private conversation (an OA, a page,
   not a group chat: what residents say to each other in a group is not said to the police).
3. Otherwise the classifier decides: a tip is received with the ward of the group or account the
   message came through (its acknowledgement, with the tracking code, goes back on the same
   channel); a question becomes an inquiry, answered from the knowledge base or routed (see
   services/inquiries.py), and a resident saying an answer did not help reopens it; chatter is
   dropped. A portal form is a report by definition, whatever the classifier says.
4. The event is marked with its outcome and its raw body erased (kept until the retention purge
   only where no inquiry service is wired to take questions).

Every step is safe to repeat: the tip service records a platform message id once (as a tip's
first message or as a thread message), so an event processed twice — a processor that died
after acting but before marking, or whose lease ran out — has one effect. Failures are retried
with exponential backoff and jitter; a message no retry can help (a malformed body, a domain
refusal) and, after the last attempt, any other, is set aside as "dead" for an operator.
Messages of accounts no group is registered for are retried hourly, for the hours it may take an
administrator to register the group. Nothing here logs a body or a user id.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.access import Scope
from domain.channels import ChannelKind
from domain.classification import Classifier, Intent, find_tracking_code
from domain.errors import DomainError
from domain.ids import GroupId, WardId
from domain.inquiry import QUESTION_MAX
from domain.ports import (
    Clock,
    InboundAttachment,
    InboundEvent,
    InboundParser,
    InboxEntry,
    InboxRepository,
    UnitOfWorkFactory,
    WebhookRejected,
)
from domain.ports.inbound import event_with_id
from domain.reporter import ReporterIdentity, TipSource
from domain.services.inquiries import ChannelQuestion, InquiryService
from domain.services.tips import ChannelTip, TipService
from domain.tip import BODY_MAX, MESSAGE_MAX, Tip, TipCategory

log = logging.getLogger("gandan.inbound")

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 8
UNROUTABLE_DELAY = timedelta(hours=1)

SOURCES = {
    ChannelKind.ZALO_OA: TipSource.ZALO,
    ChannelKind.ZALO_GROUP: TipSource.ZALO,
    ChannelKind.FACEBOOK_PAGE: TipSource.MESSENGER,
    ChannelKind.PORTAL: TipSource.PORTAL,
}
# Where the conversation is between one person and the police.
PRIVATE = frozenset({ChannelKind.ZALO_OA, ChannelKind.FACEBOOK_PAGE, ChannelKind.PORTAL})
ATTACHMENT_LABELS = {
    "image": "ảnh",
    "gif": "ảnh động",
    "video": "video",
    "audio": "ghi âm",
    "file": "tệp",
    "location": "vị trí",
    "sticker": "nhãn dán",
    "link": "liên kết",
}


class Outcome(StrEnum):
    TIP = "tip"  # became a new tip
    THREAD = "thread"  # joined an existing tip's thread
    INQUIRY = "inquiry"  # a question, left for the inquiries feature
    CHATTER = "chatter"  # nothing to act on
    UNMATCHED_REPLY = "unmatched_reply"  # reads as a reply, but to no tip we know
    IGNORED = "ignored"  # not a resident's message (nothing to read)
    ALREADY = "already_recorded"  # read before by a processor that died before marking it


class Unroutable(Exception):
    """No group or ward is registered for the account a message came through (yet)."""


@dataclass(frozen=True, slots=True)
class Route:
    ward_id: WardId
    group_id: GroupId | None


class InboundProcessor:
    def __init__(
        self,
        inbox: InboxRepository,
        parsers: Mapping[str, InboundParser],
        uow: UnitOfWorkFactory,
        clock: Clock,
        tips: TipService,
        classifier: Classifier,
        *,
        inquiries: InquiryService | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._inbox = inbox
        self._parsers = dict(parsers)
        self._uow = uow
        self._clock = clock
        self._tips = tips
        self._classifier = classifier
        self._inquiries = inquiries
        self._max_attempts = max_attempts
        self._rand = rand

    async def run_once(self, limit: int = 50) -> int:
        """Process one batch of due events, in the order they arrived; how many were claimed."""
        entries = await self._inbox.claim_unprocessed(limit, self._clock.now())
        for entry in entries:
            await self.process(entry)
        return len(entries)

    async def process(self, entry: InboxEntry) -> str | None:
        """Act on one claimed event and mark it; the outcome, or None if it will be retried."""
        try:
            outcome = await self._outcome(entry)
        except Unroutable as error:
            # Hourly: registering the group is an administrator's job, not a matter of seconds.
            await self._failed(entry, str(error), permanent=False, delay=UNROUTABLE_DELAY)
            return None
        except (WebhookRejected, DomainError, LookupError) as error:
            # The same body gives the same answer every time: retrying cannot help.
            await self._failed(entry, f"{type(error).__name__}: {error}", permanent=True)
            return None
        except Exception as error:
            # Only the type and message: a channel or database error names no resident.
            log.warning("inbound event %s failed: %s", entry.id, type(error).__name__)
            await self._failed(entry, f"{type(error).__name__}: {error}", permanent=False)
            return None
        await self._inbox.mark_processed(
            entry.id,
            outcome,
            attempt=entry.attempts,
            keep_payload=outcome == Outcome.INQUIRY and self._inquiries is None,
        )
        log.info("inbound event %s: %s", entry.id, outcome)
        return outcome

    async def _outcome(self, entry: InboxEntry) -> Outcome:
        parser = self._parsers.get(entry.channel)
        if parser is None:
            raise LookupError(f"no parser for inbox channel {entry.channel!r}")
        if entry.payload is None:
            return Outcome.IGNORED  # purged already: it was processed before
        event = event_with_id(
            parser.parse(entry.payload.encode("utf-8"), entry.headers), entry.external_id
        )
        if event is None:
            return Outcome.IGNORED
        return await self.handle(event)

    async def handle(self, event: InboundEvent) -> Outcome:
        body = message_text(event)
        if not body:
            return Outcome.IGNORED
        source = SOURCES[event.channel]
        tip = None
        code = find_tracking_code(event.text)
        if code is not None:
            tip = await self._tips.find_by_tracking_code(code)
        if tip is None and event.quoted_message_id:
            tip = await self._quoted_tip(source, event.quoted_message_id)
        if tip is None and event.sender_id and event.channel in PRIVATE:
            tip = await self._tips.find_open_tip_for(source, event.sender_id)
        if tip is not None:
            _, new = await self._tips.add_inbound_message(
                tip.id, body[:MESSAGE_MAX], source, event.external_id, at=event.sent_at
            )
            return Outcome.THREAD if new else Outcome.ALREADY
        if self._inquiries is not None and event.sender_id and event.channel in PRIVATE:
            reopened = await self._inquiries.feedback_from_channel(source, event.sender_id, body)
            if reopened is not None:
                return Outcome.INQUIRY
        classification = self._classifier.classify(event.text or body)
        category = classification.category
        if event.channel is ChannelKind.PORTAL:
            category = _category(event.category) or category
        elif classification.intent is Intent.INQUIRY:
            if self._inquiries is not None and event.sender_id:
                route = await self._route(event)
                await self._inquiries.receive_from_channel(
                    ChannelQuestion(
                        ward_id=route.ward_id,
                        platform=source,
                        channel_user_id=event.sender_id,
                        question=body[:QUESTION_MAX],
                        group_id=route.group_id,
                        external_message_id=event.external_id,
                        received_at=event.sent_at,
                        display_name=event.contact_name,
                    )
                )
            return Outcome.INQUIRY
        elif classification.intent is Intent.REPLY:
            return Outcome.UNMATCHED_REPLY
        elif classification.intent is not Intent.TIP:
            return Outcome.CHATTER
        route = await self._route(event)
        await self._tips.receive_from_channel(
            self._channel_tip(event, route, source, body, category)
        )
        return Outcome.TIP

    async def _quoted_tip(self, source: TipSource, quoted_message_id: str) -> Tip | None:
        """The tip whose thread holds the quoted message: quoting our acknowledgement (which
        carries the tracking code) or an officer's reply answers that tip."""
        async with self._uow() as uow:
            quoted = await uow.tips.message_by_external_id(source, quoted_message_id)
            return await uow.tips.get(quoted.tip_id, scope=Scope.all()) if quoted else None

    def _channel_tip(
        self,
        event: InboundEvent,
        route: Route,
        source: TipSource,
        body: str,
        category: TipCategory | None,
    ) -> ChannelTip:
        phone, name = event.contact_phone, event.contact_name
        if phone:
            try:
                ReporterIdentity.of(phone=phone)
            except DomainError:
                phone = None  # a mistyped number must not lose the report
        user_id = event.sender_id
        if user_id is None:
            # The portal knows nobody by an id. Its submission id stands in: what the vault keeps
            # of an anonymous report is only "the way back" (identifying nobody), and the id
            # makes the first message, and so the tip, recorded once however often it is read.
            user_id = "" if (phone or name) and not event.anonymous else event.external_id
        return ChannelTip(
            ward_id=route.ward_id,
            platform=source,
            channel_user_id=user_id,
            body=body[:BODY_MAX],
            category=category,
            display_name=name if not event.anonymous else None,
            phone=phone if not event.anonymous else None,
            anonymous=event.anonymous,
            group_id=route.group_id,
            external_message_id=event.external_id,
            received_at=event.sent_at,
        )

    async def _route(self, event: InboundEvent) -> Route:
        """The ward a message belongs to, from the account or group it came through."""
        async with self._uow() as uow:
            if event.channel is ChannelKind.PORTAL:
                ward = await uow.wards.by_code(event.account_id)
                if ward is not None:
                    return Route(ward.id, None)
            else:
                group = await uow.groups.by_external_id(event.channel, event.account_id)
                if group is not None:
                    return Route(group.ward_id, group.id)
                if event.channel is ChannelKind.ZALO_GROUP:
                    # A GMF event may name the OA rather than the group [UNCONFIRMED shape].
                    group = await uow.groups.by_external_id(ChannelKind.ZALO_OA, event.account_id)
                    if group is not None:
                        return Route(group.ward_id, group.id)
        raise Unroutable(f"no {event.channel.value} account is registered for this message")

    async def _failed(
        self, entry: InboxEntry, error: str, *, permanent: bool, delay: timedelta | None = None
    ) -> None:
        retry_at: datetime | None = None
        if not permanent and entry.attempts < self._max_attempts:
            delay = delay or min(BASE_DELAY * 2 ** (entry.attempts - 1), MAX_DELAY)
            # Jitter keeps events that failed together from all coming back at the same moment.
            retry_at = self._clock.now() + delay * (0.5 + self._rand() / 2)
        if retry_at is None:
            log.error("inbound event %s set aside after %d attempts", entry.id, entry.attempts)
        await self._inbox.mark_failed(entry.id, error, retry_at, attempt=entry.attempts)

    async def purge(self, retention: timedelta) -> int:
        """Erase raw bodies still held past the retention (dead events, inquiries)."""
        return await self._inbox.purge_older_than(self._clock.now() - retention)


def message_text(event: InboundEvent) -> str:
    """What a message says, attachments named (with their link) after the text."""
    parts = [event.text.strip()] if event.text.strip() else []
    parts += [_attachment_line(a) for a in event.attachments]
    return "\n".join(parts)


def _attachment_line(attachment: InboundAttachment) -> str:
    label = ATTACHMENT_LABELS.get(attachment.type, attachment.type or "tệp")
    named = f"[{label}: {attachment.name}]" if attachment.name else f"[{label}]"
    return f"{named} {attachment.url}" if attachment.url else named


def _category(value: str | None) -> TipCategory | None:
    try:
        return TipCategory(value) if value else None
    except ValueError:
        return None
