"""GraphQL types of bulletins and deliveries. Built from domain entities only, never from rows.

Staff (officer and up) of a bulletin's ward see it whole; other members of the ward see a
published bulletin by id, without its history or deliveries. Anyone, without a token, sees
published bulletins as `PublicBulletin`: the content and nothing about who wrote or sent it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from api.bootstrap import bulletin_link
from api.graphql.base import parse_uuid
from api.graphql.context import Info
from api.graphql.history import member_of, transition_type
from api.graphql.organisation.types import ChannelKind, Group, Member, Ward, _by_ids
from domain.access import Role
from domain.bulletin import Attachment as DomainAttachment
from domain.bulletin import Bulletin as DomainBulletin
from domain.bulletin import BulletinKind as DomainBulletinKind
from domain.bulletin import BulletinStatus as DomainBulletinStatus
from domain.bulletin import MediaType as DomainMediaType
from domain.channel_rules import Finding as DomainFinding
from domain.channel_rules import Rendering
from domain.channel_rules import Severity as DomainSeverity
from domain.delivery import Delivery as DomainDelivery
from domain.delivery import DeliveryStatus as DomainDeliveryStatus
from domain.history import Transition
from domain.ids import BulletinId, DeliveryId, GroupId, MemberId, WardId
from domain.ports import Reach as DomainReach
from domain.services.bulletins import Preview

BulletinKind = strawberry.enum(
    DomainBulletinKind, name="BulletinKind", description="What a bulletin is about."
)
BulletinStatus = strawberry.enum(
    DomainBulletinStatus,
    name="BulletinStatus",
    description="Where a bulletin is in its workflow: draft → submitted → approved (or scheduled)"
    " → publishing → published, partially failed or failed; rejected goes back to the author.",
)
DeliveryStatus = strawberry.enum(
    DomainDeliveryStatus,
    name="DeliveryStatus",
    description="pending → sending → sent, or failed (retried later) → dead (retried by hand).",
)
MediaType = strawberry.enum(DomainMediaType, name="MediaType", description="What a file holds.")
Severity = strawberry.enum(
    DomainSeverity,
    name="Severity",
    description="BLOCKING stops approval; WARNING means it goes out, but not exactly as written.",
)


def media_url(info: Info, blob_key: str) -> str:
    base = info.context.container.settings.public_base_url.rstrip("/")
    return f"{base}/media/{blob_key}"


def _staff(info: Info, ward_id: WardId) -> bool:
    return info.context.actor.has(Role.OFFICER, ward_id)


@strawberry.type(description="A stored file: an image, a video or a document.")
class Attachment:
    blob_key: str = strawberry.field(description="The stored file's key (its SHA-256).")
    media_type: MediaType
    filename: str
    size_bytes: int = strawberry.field(description="Size in bytes.")
    content_type: str = strawberry.field(
        description="The type read from the file's own bytes, never the one a client declared."
    )

    @classmethod
    def from_domain(cls, attachment: DomainAttachment) -> Self:
        return cls(
            blob_key=attachment.blob_key,
            media_type=attachment.media_type,
            filename=attachment.filename,
            size_bytes=attachment.size_bytes,
            content_type=attachment.content_type,
        )

    @strawberry.field(description="Where residents and channels fetch the file.")
    def url(self, info: Info) -> str:
        return media_url(info, self.blob_key)


BulletinTransition = transition_type(
    "BulletinTransition", BulletinStatus, DomainBulletinStatus, "a bulletin's workflow"
)


DeliveryTransition = transition_type(
    "DeliveryTransition", DeliveryStatus, DomainDeliveryStatus, "a delivery's life"
)


@strawberry.type(
    description="How far a post went, as its channel reports it; null where it does not say."
)
class Reach:
    views: int | None
    reactions: int | None
    shares: int | None
    comments: int | None

    @classmethod
    def from_domain(cls, reach: DomainReach) -> Self:
        return cls(
            views=reach.views,
            reactions=reach.reactions,
            shares=reach.shares,
            comments=reach.comments,
        )


@strawberry.type(
    name="Delivery",
    description="One bulletin sent to one group: its attempts, outcome and the post it became.",
)
class Delivery(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    status: DeliveryStatus
    channel: ChannelKind
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    external_post_id: str | None = strawberry.field(description="The post's id on its channel.")
    external_url: str | None
    sandbox: bool = strawberry.field(
        description="Recorded in the local sandbox: the group has no channel account configured."
    )
    sent_at: datetime | None
    group_id: strawberry.Private[GroupId]
    bulletin_id: strawberry.Private[BulletinId]
    steps: strawberry.Private[list[Transition]]

    @classmethod
    def from_domain(cls, delivery: DomainDelivery) -> Self:
        return cls(
            id_=str(delivery.id),
            status=delivery.status,
            channel=delivery.channel,
            attempts=delivery.attempts,
            max_attempts=delivery.max_attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            external_post_id=delivery.external_post_id,
            external_url=delivery.external_url,
            sandbox=delivery.sandbox,
            sent_at=delivery.sent_at,
            group_id=delivery.group_id,
            bulletin_id=delivery.bulletin_id,
            steps=list(delivery.history),
        )

    @strawberry.field(description="The group it goes to; null when you may not see that group.")
    async def group(self, info: Info) -> Group | None:
        group = await info.context.loaders.groups_by_id.load(self.group_id)
        return Group.from_domain(group) if group else None

    @strawberry.field
    async def bulletin(self, info: Info) -> Bulletin | None:
        bulletin = await info.context.loaders.bulletins_by_id.load(self.bulletin_id)
        return Bulletin.from_domain(bulletin) if bulletin else None

    @strawberry.field(description="Views, reactions, shares and comments; null until reported.")
    async def reach(self, info: Info) -> Reach | None:
        reach = await info.context.loaders.reach_by_delivery.load(DeliveryId(parse_uuid(self.id_)))
        return Reach.from_domain(reach) if reach else None

    @strawberry.field
    def history(self) -> list[DeliveryTransition]:
        return [DeliveryTransition.from_domain(step) for step in self.steps]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.deliveries_by_id, node_ids, cls.from_domain)


@strawberry.type(description="A bulletin's deliveries counted by status, with their reach summed.")
class DeliveryStats:
    total: int
    pending: int
    sending: int
    sent: int
    failed: int
    dead: int
    sandbox: int = strawberry.field(description="Sent to the local sandbox, not to the channel.")
    views: int
    reactions: int
    shares: int
    comments: int

    @classmethod
    def of(
        cls, deliveries: Sequence[DomainDelivery], reaches: Sequence[DomainReach | None]
    ) -> Self:
        statuses = [d.status for d in deliveries]
        found = [r for r in reaches if r is not None]
        return cls(
            total=len(deliveries),
            pending=statuses.count(DomainDeliveryStatus.PENDING),
            sending=statuses.count(DomainDeliveryStatus.SENDING),
            sent=statuses.count(DomainDeliveryStatus.SENT),
            failed=statuses.count(DomainDeliveryStatus.FAILED),
            dead=statuses.count(DomainDeliveryStatus.DEAD),
            sandbox=sum(d.sandbox for d in deliveries),
            views=sum(r.views or 0 for r in found),
            reactions=sum(r.reactions or 0 for r in found),
            shares=sum(r.shares or 0 for r in found),
            comments=sum(r.comments or 0 for r in found),
        )


@strawberry.type(
    name="Bulletin",
    description="An official post: written by an officer, approved by a commander of its ward,"
    " delivered to every target group.",
)
class Bulletin(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    kind: BulletinKind
    status: BulletinStatus
    title: str
    body: str
    approved_at: datetime | None
    scheduled_at: datetime | None = strawberry.field(
        description="When it is to be published; null publishes on approval."
    )
    published_at: datetime | None = strawberry.field(
        description="When it last reached residents (published, or partially failed)."
    )
    created_at: datetime
    updated_at: datetime
    attachments: list[Attachment]
    ward_id: strawberry.Private[WardId]
    author_id: strawberry.Private[MemberId]
    approved_by_id: strawberry.Private[MemberId | None]
    target_group_ids: strawberry.Private[list[GroupId]]
    target_ward_ids: strawberry.Private[list[WardId]]
    steps: strawberry.Private[list[Transition]]

    @classmethod
    def from_domain(cls, bulletin: DomainBulletin) -> Self:
        return cls(
            id_=str(bulletin.id),
            kind=bulletin.kind,
            status=bulletin.status,
            title=bulletin.title,
            body=bulletin.body,
            approved_at=bulletin.approved_at,
            scheduled_at=bulletin.scheduled_at,
            published_at=bulletin.published_at,
            created_at=bulletin.created_at,
            updated_at=bulletin.updated_at,
            attachments=[Attachment.from_domain(a) for a in bulletin.attachments],
            ward_id=bulletin.ward_id,
            author_id=bulletin.author_id,
            approved_by_id=bulletin.approved_by,
            target_group_ids=list(bulletin.target_group_ids),
            target_ward_ids=list(bulletin.target_ward_ids),
            steps=list(bulletin.history),
        )

    def _key(self) -> BulletinId:
        return BulletinId(parse_uuid(self.id_))

    @strawberry.field(description="The unit that wrote it.")
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None

    @strawberry.field(description="Who wrote it; null when you may not see them.")
    async def author(self, info: Info) -> Member | None:
        return await member_of(info, self.author_id)

    @strawberry.field(description="The commander who approved it; null before approval.")
    async def approved_by(self, info: Info) -> Member | None:
        return await member_of(info, self.approved_by_id)

    @strawberry.field(description="Groups chosen one by one (those you may see).")
    async def target_groups(self, info: Info) -> list[Group]:
        found = await info.context.loaders.groups_by_id.load_many(self.target_group_ids)
        return [Group.from_domain(g) for g in found if g is not None]

    @strawberry.field(description="Units whose every active group receives it (those you may see).")
    async def target_wards(self, info: Info) -> list[Ward]:
        found = await info.context.loaders.wards_by_id.load_many(self.target_ward_ids)
        return [Ward.from_domain(w) for w in found if w is not None]

    @strawberry.field(description="Every step of its workflow, oldest first (staff only).")
    def history(self, info: Info) -> list[BulletinTransition]:
        if not _staff(info, self.ward_id):
            return []
        return [BulletinTransition.from_domain(step) for step in self.steps]

    @strawberry.field(description="One per target group, written on approval (staff only).")
    async def deliveries(self, info: Info) -> list[Delivery]:
        found = await info.context.loaders.deliveries_by_bulletin.load(self._key())
        return [Delivery.from_domain(d) for d in found]

    @strawberry.field(description="The deliveries counted by status, with their reach summed.")
    async def delivery_stats(self, info: Info) -> DeliveryStats:
        loaders = info.context.loaders
        deliveries = await loaders.deliveries_by_bulletin.load(self._key())
        reaches = await loaders.reach_by_delivery.load_many([d.id for d in deliveries])
        return DeliveryStats.of(deliveries, reaches)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.bulletins_by_id, node_ids, cls.from_domain)


@strawberry.type(description="A unit as the public sees it.")
class PublicWard:
    code: str
    name: str


@strawberry.type(
    name="PublicBulletin",
    description="A published bulletin as anyone may read it, without a token: its content only.",
)
class PublicBulletin(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    kind: BulletinKind
    title: str
    body: str
    published_at: datetime | None
    attachments: list[Attachment]
    ward_id: strawberry.Private[WardId]

    @classmethod
    def from_domain(cls, bulletin: DomainBulletin) -> Self:
        return cls(
            id_=str(bulletin.id),
            kind=bulletin.kind,
            title=bulletin.title,
            body=bulletin.body,
            published_at=bulletin.published_at,
            attachments=[Attachment.from_domain(a) for a in bulletin.attachments],
            ward_id=bulletin.ward_id,
        )

    @strawberry.field(description="The bulletin's public page, the link channels carry.")
    def url(self, info: Info) -> str:
        return bulletin_link(info.context.container.settings)(BulletinId(parse_uuid(self.id_)))

    @strawberry.field
    async def ward(self, info: Info) -> PublicWard | None:
        ward = await info.context.loaders.public_wards_by_id.load(self.ward_id)
        return PublicWard(code=ward.code, name=ward.name) if ward else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.public_bulletins_by_id, node_ids, cls.from_domain)


@strawberry.type(description="Something a channel will refuse (BLOCKING) or change (WARNING).")
class Finding:
    severity: Severity
    code: str = strawberry.field(description="e.g. video_required, text_truncated, quiet_hours.")
    message: str = strawberry.field(description="Vietnamese message.")
    message_en: str = strawberry.field(description="English message.")

    @classmethod
    def from_domain(cls, finding: DomainFinding) -> Self:
        return cls(
            severity=finding.severity,
            code=finding.code,
            message=finding.message.vi,
            message_en=finding.message.en,
        )


@strawberry.type(description="How the bulletin will look on one channel, and what it will meet.")
class ChannelPreview:
    channel: ChannelKind
    title: str | None = strawberry.field(description="Null where the channel has no title.")
    text: str
    media: list[str] = strawberry.field(description="Names of the files this channel will carry.")
    blocking: bool = strawberry.field(description="Whether a finding stops approval.")
    findings: list[Finding]

    @classmethod
    def from_domain(cls, rendering: Rendering) -> Self:
        return cls(
            channel=rendering.channel,
            title=rendering.title,
            text=rendering.text,
            media=list(rendering.media),
            blocking=rendering.blocking,
            findings=[Finding.from_domain(f) for f in rendering.findings],
        )


@strawberry.type(description="A group the bulletin will be delivered to.")
class TargetPreview:
    channel: ChannelKind
    group_id: strawberry.Private[GroupId]

    @strawberry.field(description="Null for a group of a unit below yours that you may not see.")
    async def group(self, info: Info) -> Group | None:
        group = await info.context.loaders.groups_by_id.load(self.group_id)
        return Group.from_domain(group) if group else None


@strawberry.type(description="What approval would send, where, and what the channels will say.")
class BulletinPreview:
    bulletin: Bulletin
    channels: list[ChannelPreview] = strawberry.field(description="One per channel targeted.")
    targets: list[TargetPreview] = strawberry.field(
        description="Every group approval would write a delivery for (explicit and by unit)."
    )
    blocking: bool = strawberry.field(description="Whether approval would be refused.")

    @classmethod
    def from_domain(cls, preview: Preview) -> Self:
        return cls(
            bulletin=Bulletin.from_domain(preview.bulletin),
            channels=[ChannelPreview.from_domain(r) for r in preview.channels],
            targets=[
                TargetPreview(channel=t.group.channel, group_id=t.group.id) for t in preview.targets
            ],
            blocking=bool(preview.blocking),
        )
