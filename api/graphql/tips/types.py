"""GraphQL types of tips. Built from domain entities only, never from rows.

No type here has a field that says who reported a tip: not `Tip`, not its messages (an inbound
message has no author), not the public receipt or status. The one way to learn it is the
`tipRevealReporter` mutation, whose `ReporterIdentity` answer is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from api.graphql.base import parse_uuid
from api.graphql.bulletins.types import MediaType
from api.graphql.context import Info
from api.graphql.history import member_of, transition_type
from api.graphql.organisation.types import Group, Member, Ward, _by_ids
from domain import access
from domain.bulletin import Attachment as DomainAttachment
from domain.history import Transition
from domain.ids import GroupId, MemberId, TipId, WardId
from domain.ports import AuditEntry as DomainAuditEntry
from domain.reporter import ReporterIdentity as DomainReporterIdentity
from domain.reporter import TipSource as DomainTipSource
from domain.tip import MessageDirection as DomainMessageDirection
from domain.tip import Tip as DomainTip
from domain.tip import TipCategory as DomainTipCategory
from domain.tip import TipMessage as DomainTipMessage
from domain.tip import TipOutcome as DomainTipOutcome
from domain.tip import TipStatus as DomainTipStatus

TipCategory = strawberry.enum(
    DomainTipCategory,
    name="TipCategory",
    description="What a tip is about: political security, crime, drugs, traffic, fire, public"
    " disorder, disputes between residents, fraud, other.",
)
TipStatus = strawberry.enum(
    DomainTipStatus,
    name="TipStatus",
    description="received → triaged → assigned → investigating → resolved, or dismissed.",
)
TipOutcome = strawberry.enum(
    DomainTipOutcome, name="TipOutcome", description="How a resolved tip ended."
)
TipSource = strawberry.enum(
    DomainTipSource,
    name="TipSource",
    description="Where a tip came from, and so where its reporter is answered.",
)
MessageDirection = strawberry.enum(
    DomainMessageDirection,
    name="MessageDirection",
    description="IN from the reporter; OUT from the police (an officer or the acknowledgement).",
)


@strawberry.type(description="A file the reporter sent with the tip.")
class TipAttachment:
    blob_key: str = strawberry.field(description="The stored file's key (its SHA-256).")
    media_type: MediaType
    filename: str
    size_bytes: int
    content_type: str = strawberry.field(description="Read from the file's own bytes.")

    @classmethod
    def from_domain(cls, attachment: DomainAttachment) -> Self:
        return cls(
            blob_key=attachment.blob_key,
            media_type=attachment.media_type,
            filename=attachment.filename,
            size_bytes=attachment.size_bytes,
            content_type=attachment.content_type,
        )


TipTransition = transition_type("TipTransition", TipStatus, DomainTipStatus, "a tip's lifecycle")


@strawberry.type(
    description="A message of a tip's thread. One from the reporter has no author: who they are"
    " is never part of the thread."
)
class TipMessage:
    id: strawberry.ID
    direction: MessageDirection
    body: str
    channel: TipSource
    at: datetime
    author_id: strawberry.Private[MemberId | None]

    @classmethod
    def from_domain(cls, message: DomainTipMessage) -> Self:
        return cls(
            id=strawberry.ID(str(message.id)),
            direction=message.direction,
            body=message.body,
            channel=message.channel,
            at=message.at,
            author_id=message.author_id,
        )

    @strawberry.field(
        description="The officer who wrote an OUT message; null for the reporter's messages and"
        " the automatic acknowledgement."
    )
    async def author(self, info: Info) -> Member | None:
        return await member_of(info, self.author_id)


@strawberry.type(
    name="Tip",
    description="A report from a resident, for the staff (officer and up) of its ward. It never"
    " says who the reporter is: see tipRevealReporter.",
)
class Tip(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    tracking_code: str = strawberry.field(description="The code the reporter follows it by.")
    category: TipCategory
    status: TipStatus
    source: TipSource
    body: str
    anonymous: bool = strawberry.field(
        description="The reporter chose not to be known: nothing about them can be revealed."
    )
    outcome: TipOutcome | None
    arrests: int
    dismiss_reason: str | None
    received_at: datetime
    updated_at: datetime
    due_at: datetime | None = strawberry.field(description="Its category's deadline.")
    escalated_at: datetime | None = strawberry.field(
        description="When it was handed to the ward's commanders for being overdue."
    )
    acknowledged_at: datetime | None = strawberry.field(
        description="When the reporter was sent the tracking code on their channel."
    )
    attachments: list[TipAttachment]
    ward_id: strawberry.Private[WardId]
    group_id: strawberry.Private[GroupId | None]
    assignee_id: strawberry.Private[MemberId | None]
    steps: strawberry.Private[list[Transition]]
    keeps_reporter: strawberry.Private[bool]

    @classmethod
    def from_domain(cls, tip: DomainTip) -> Self:
        return cls(
            id_=str(tip.id),
            tracking_code=tip.tracking_code,
            category=tip.category,
            status=tip.status,
            source=tip.source,
            body=tip.body,
            anonymous=tip.anonymous,
            outcome=tip.outcome,
            arrests=tip.arrests,
            dismiss_reason=tip.dismiss_reason,
            received_at=tip.received_at,
            updated_at=tip.updated_at or tip.received_at,
            due_at=tip.due_at,
            escalated_at=tip.escalated_at,
            acknowledged_at=tip.acknowledged_at,
            attachments=[TipAttachment.from_domain(a) for a in tip.attachments],
            ward_id=tip.ward_id,
            group_id=tip.group_id,
            assignee_id=tip.assignee_id,
            steps=list(tip.history),
            keeps_reporter=tip.reporter_id is not None and not tip.anonymous,
        )

    def _key(self) -> TipId:
        return TipId(parse_uuid(self.id_))

    @strawberry.field(description="Open and past its deadline.")
    def overdue(self, info: Info) -> bool:
        open_ = self.status not in (DomainTipStatus.RESOLVED, DomainTipStatus.DISMISSED)
        now = info.context.container.clock.now()
        return open_ and self.due_at is not None and self.due_at <= now

    @strawberry.field(
        description="Whether you may reveal who reported it (tipRevealReporter) and there is"
        " someone to reveal."
    )
    def can_reveal_reporter(self, info: Info) -> bool:
        return self.keeps_reporter and access.can_reveal_reporter(
            info.context.actor, self.ward_id, self.assignee_id
        )

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None

    @strawberry.field(description="The group or account it came through, if any.")
    async def group(self, info: Info) -> Group | None:
        if self.group_id is None:
            return None
        group = await info.context.loaders.groups_by_id.load(self.group_id)
        return Group.from_domain(group) if group else None

    @strawberry.field(description="The officer working on it.")
    async def assignee(self, info: Info) -> Member | None:
        return await member_of(info, self.assignee_id)

    @strawberry.field(description="Every step of its lifecycle, oldest first.")
    def history(self) -> list[TipTransition]:
        return [TipTransition.from_domain(step) for step in self.steps]

    @strawberry.field(description="The thread with the reporter, oldest first.")
    async def messages(self, info: Info) -> list[TipMessage]:
        found = await info.context.loaders.messages_by_tip.load(self._key())
        return [TipMessage.from_domain(m) for m in found]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.tips_by_id, node_ids, cls.from_domain)


@strawberry.type(
    description="What a reporter gets back when a tip is received: the code to follow it by."
)
class PublicTipReceipt:
    tracking_code: str
    received_at: datetime
    category: TipCategory

    @classmethod
    def from_domain(cls, tip: DomainTip) -> Self:
        return cls(
            tracking_code=tip.tracking_code, received_at=tip.received_at, category=tip.category
        )


@strawberry.type(description="A message from the police to the reporter.")
class PublicTipReply:
    body: str
    at: datetime


@strawberry.type(
    description="A tip as its tracking code shows it to anyone holding the code: its state and"
    " the police's messages, nothing about who works on it or who reported it."
)
class PublicTipStatus:
    tracking_code: str
    status: TipStatus
    received_at: datetime
    updated_at: datetime
    replies: list[PublicTipReply]


@strawberry.type(
    description="Who reported a tip, as the vault keeps it. Null parts were not given (or not"
    " kept)."
)
class ReporterIdentity:
    platform: TipSource | None
    channel_user_id: str | None = strawberry.field(
        description="The reporter's id on the platform (Zalo user id, Messenger page-scoped id)."
    )
    phone: str | None = strawberry.field(description="E.164.")
    name: str | None

    @classmethod
    def from_domain(cls, identity: DomainReporterIdentity) -> Self:
        return cls(
            platform=identity.platform,
            channel_user_id=identity.channel_user_id,
            phone=identity.phone,
            name=identity.name,
        )


@strawberry.type(description="A sensitive act, kept for the admins of the ward it touched.")
class AuditEntry:
    id: strawberry.ID
    action: str = strawberry.field(description="e.g. tip.reveal_reporter")
    subject_type: str = strawberry.field(description="e.g. tip")
    subject_id: strawberry.ID = strawberry.field(description="The subject's global id.")
    reason: str | None
    at: datetime
    actor_id: strawberry.Private[MemberId | None]
    ward_id: strawberry.Private[WardId | None]

    @classmethod
    def from_domain(cls, entry: DomainAuditEntry) -> Self:
        type_name = "Tip" if entry.subject_type == "tip" else entry.subject_type
        return cls(
            id=strawberry.ID(str(entry.id)),
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=strawberry.ID(str(relay.GlobalID(type_name, str(entry.subject_id)))),
            reason=entry.reason,
            at=entry.at,
            actor_id=entry.actor_id,
            ward_id=entry.ward_id,
        )

    @strawberry.field(description="Who did it.")
    async def actor(self, info: Info) -> Member | None:
        return await member_of(info, self.actor_id)

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        if self.ward_id is None:
            return None
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None
