"""Domain events: facts in the past tense, collected by the unit of work and published after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.ids import (
    BulletinId,
    DeliveryId,
    GroupId,
    InquiryId,
    MemberId,
    TipId,
    WardId,
)


@dataclass(frozen=True, slots=True)
class Event:
    pass


@dataclass(frozen=True, slots=True)
class WardCreated(Event):
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class GroupCreated(Event):
    group_id: GroupId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class GroupArchived(Event):
    group_id: GroupId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class MemberCreated(Event):
    member_id: MemberId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class MemberRemoved(Event):
    member_id: MemberId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class RoleAssigned(Event):
    member_id: MemberId
    ward_id: WardId
    role: str


@dataclass(frozen=True, slots=True)
class RoleRevoked(Event):
    member_id: MemberId
    ward_id: WardId
    role: str


@dataclass(frozen=True, slots=True)
class MembersImported(Event):
    ward_id: WardId
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class BulletinSubmitted(Event):
    bulletin_id: BulletinId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class BulletinApproved(Event):
    bulletin_id: BulletinId
    ward_id: WardId
    at: datetime


@dataclass(frozen=True, slots=True)
class BulletinRejected(Event):
    bulletin_id: BulletinId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class BulletinPublished(Event):
    bulletin_id: BulletinId
    ward_id: WardId
    status: str


@dataclass(frozen=True, slots=True)
class DeliverySent(Event):
    delivery_id: DeliveryId
    bulletin_id: BulletinId


@dataclass(frozen=True, slots=True)
class DeliveryFailed(Event):
    delivery_id: DeliveryId
    bulletin_id: BulletinId
    dead: bool


@dataclass(frozen=True, slots=True)
class TipReceived(Event):
    tip_id: TipId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class TipUpdated(Event):
    tip_id: TipId
    ward_id: WardId
    status: str


@dataclass(frozen=True, slots=True)
class TipEscalated(Event):
    """A tip passed its deadline still open: `commander_ids` are the ward's commanders to notify."""

    tip_id: TipId
    ward_id: WardId
    commander_ids: tuple[MemberId, ...] = ()


@dataclass(frozen=True, slots=True)
class TipMessageAdded(Event):
    """A message joined a tip's thread ('in' from the reporter, 'out' from the police)."""

    tip_id: TipId
    ward_id: WardId
    direction: str


@dataclass(frozen=True, slots=True)
class InquiryReceived(Event):
    inquiry_id: InquiryId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class InquiryUpdated(Event):
    inquiry_id: InquiryId
    ward_id: WardId
    status: str


@dataclass(frozen=True, slots=True)
class InquiryEscalated(Event):
    """An inquiry passed its deadline unanswered: `commander_ids` are the ward's commanders."""

    inquiry_id: InquiryId
    ward_id: WardId
    commander_ids: tuple[MemberId, ...] = ()


@dataclass(frozen=True, slots=True)
class BulletinScheduled(Event):
    bulletin_id: BulletinId
    ward_id: WardId
    at: datetime


@dataclass(frozen=True, slots=True)
class BulletinCancelled(Event):
    bulletin_id: BulletinId
    ward_id: WardId


@dataclass(frozen=True, slots=True)
class DeliveryUpdated(Event):
    """Any change of a delivery's status, for live views; carries the ward for scoping."""

    delivery_id: DeliveryId
    bulletin_id: BulletinId
    ward_id: WardId
    status: str


@dataclass(frozen=True, slots=True)
class PartnerClientRevoked(Event):
    """An integration partner lost its access: its live subscriptions end on every replica.

    Of no ward, so only subscribers with the system's scope receive it."""

    client: uuid.UUID
