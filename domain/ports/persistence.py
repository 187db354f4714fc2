"""Ports for storage, time, events and tokens: what the use cases need, as Protocols."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from domain.access import Role, Scope
from domain.bulletin import Attachment, Bulletin, BulletinKind, BulletinStatus
from domain.channels import ChannelKind, Platform
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import Msg
from domain.events import Event
from domain.group import Group
from domain.ids import BulletinId, DeliveryId, GroupId, MemberId, TipId, WardId
from domain.inquiry import Department, Inquiry, InquiryStatus
from domain.member import Member, RoleGrant
from domain.ports.channels import Reach
from domain.procedure import Procedure, ProcedureContent, ProcedureId, ProcedureStatus
from domain.reporter import ReporterId, ReporterIdentity, TipSource
from domain.tip import Tip, TipCategory, TipMessage, TipStatus
from domain.ward import Ward

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    end_cursor: str | None
    has_next: bool
    total: int


@dataclass(frozen=True, slots=True)
class WardFilter:
    text: str | None = None
    parent_id: WardId | None = None


@dataclass(frozen=True, slots=True)
class GroupFilter:
    ward_ids: tuple[WardId, ...] = ()
    channels: tuple[ChannelKind, ...] = ()
    text: str | None = None
    include_archived: bool = False


@dataclass(frozen=True, slots=True)
class MemberFilter:
    ward_ids: tuple[WardId, ...] = ()
    roles: tuple[Role, ...] = ()
    group_ids: tuple[GroupId, ...] = ()
    text: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class BulletinFilter:
    ward_ids: tuple[WardId, ...] = ()
    kinds: tuple[BulletinKind, ...] = ()
    statuses: tuple[BulletinStatus, ...] = ()
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    newest_first: bool = False


@dataclass(frozen=True, slots=True)
class TipFilter:
    ward_ids: tuple[WardId, ...] = ()
    categories: tuple[TipCategory, ...] = ()
    statuses: tuple[TipStatus, ...] = ()
    assignee_ids: tuple[MemberId, ...] = ()
    # True: open tips past their deadline at `now`; False: all others. Needs `now`.
    overdue: bool | None = None
    now: datetime | None = None
    text: str | None = None  # in the body, with or without diacritics
    received_from: datetime | None = None
    received_to: datetime | None = None
    newest_first: bool = True


@dataclass(frozen=True, slots=True)
class InquiryFilter:
    ward_ids: tuple[WardId, ...] = ()
    statuses: tuple[InquiryStatus, ...] = ()
    departments: tuple[Department, ...] = ()
    asker_member_id: MemberId | None = None
    # True: open inquiries past their deadline at `now`; False: all others. Needs `now`.
    overdue: bool | None = None
    # True: open and handed to the commanders for their current deadline; False: all others.
    escalated: bool | None = None
    now: datetime | None = None
    text: str | None = None  # in the question, with or without diacritics
    received_from: datetime | None = None
    received_to: datetime | None = None
    newest_first: bool = False  # a queue is worked oldest first


@dataclass(frozen=True, slots=True)
class SealedReporter:
    """A reporter identity as stored: sealed by the vault under `key_id`, apart from the tip.

    `lookup_hash` is a keyed hash of platform and channel user id, so a returning reporter's
    messages find their open tips without anything being decrypted."""

    id: ReporterId
    key_id: str
    sealed: bytes
    lookup_hash: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did something sensitive, to what, when and why. Written in the same transaction."""

    id: uuid.UUID
    actor_id: MemberId | None
    action: str  # e.g. "tip.reveal_reporter"
    subject_type: str  # e.g. "tip"
    subject_id: uuid.UUID
    ward_id: WardId | None
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditFilter:
    ward_ids: tuple[WardId, ...] = ()
    actions: tuple[str, ...] = ()
    subject_ids: tuple[uuid.UUID, ...] = ()
    actor_ids: tuple[MemberId, ...] = ()
    at_from: datetime | None = None
    at_to: datetime | None = None


class Repository(Protocol[T]):
    """The shape every repository shares. Rows outside `scope` behave as if absent."""

    async def get(self, id: Any, *, scope: Scope, for_update: bool = False) -> T | None: ...

    async def get_many(self, ids: Sequence[Any], *, scope: Scope) -> list[T | None]: ...

    def add(self, obj: T) -> None: ...


class WardRepository(Repository[Ward], Protocol):
    async def page(
        self, filter: WardFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Ward]: ...

    async def by_code(self, code: str) -> Ward | None: ...

    async def descendants(self, ward_ids: Sequence[WardId]) -> set[WardId]:
        """Every unit below the given ones, at any depth (not the given ones themselves)."""
        ...

    async def ancestors(self, ward_id: WardId) -> list[WardId]:
        """The chain of parents above `ward_id`, nearest first."""
        ...


class GroupRepository(Repository[Group], Protocol):
    async def page(
        self, filter: GroupFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Group]: ...

    async def by_external_id(self, channel: ChannelKind, external_id: str) -> Group | None: ...

    async def member_counts(self, ids: Sequence[GroupId]) -> list[int]: ...

    async def active_in_wards(self, ward_ids: Sequence[WardId]) -> list[Group]: ...

    async def ids_in_ward(self, ward_id: WardId) -> dict[str, GroupId]:
        """Active groups of a ward, keyed by external id (for imports)."""
        ...


class MemberRepository(Repository[Member], Protocol):
    async def page(
        self, filter: MemberFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Member]: ...

    async def is_active(self, member_id: MemberId) -> bool:
        """The member exists and was not removed (cheaper than loading it)."""
        ...

    async def by_phone(self, ward_id: WardId, phone: str) -> Member | None: ...

    async def by_phones(self, ward_id: WardId, phones: Sequence[str]) -> dict[str, Member]: ...

    async def by_channel_id(self, platform: Platform, external_id: str) -> Member | None: ...

    async def by_channel_ids(
        self, platform: Platform, external_ids: Sequence[str]
    ) -> dict[str, Member]:
        """The members known by these platform ids (removed ones too), keyed by the id found."""
        ...

    async def ids_by_group(
        self, group_ids: Sequence[GroupId], *, limit: int
    ) -> list[list[MemberId]]: ...


class BulletinRepository(Repository[Bulletin], Protocol):
    async def page(
        self, filter: BulletinFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Bulletin]: ...

    async def public_attachment(self, blob_key: str) -> Attachment | None:
        """The attachment with this blob, if a bulletin carrying it is being or has been published."""
        ...


class DeliveryRepository(Repository[Delivery], Protocol):
    async def of_bulletins(
        self, bulletin_ids: Sequence[BulletinId], *, scope: Scope
    ) -> list[list[Delivery]]: ...

    async def of_bulletin_for_update(self, bulletin_id: BulletinId) -> list[Delivery]: ...

    async def statuses_of(self, bulletin_id: BulletinId) -> list[DeliveryStatus]:
        """Every delivery's status, with changes made in this unit of work (cheap: no entities)."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[Delivery]:
        """Due or abandoned deliveries, locked for this unit of work (SKIP LOCKED where possible)."""
        ...

    def remove(self, delivery: Delivery) -> None: ...

    async def sent_between(
        self, start: datetime, end: datetime, *, after: str | None, limit: int
    ) -> list[Delivery]: ...

    async def record_reach(self, delivery_id: DeliveryId, reach: Reach, at: datetime) -> None: ...

    async def reach_many(self, ids: Sequence[DeliveryId]) -> list[Reach | None]: ...


class TipRepository(Repository[Tip], Protocol):
    """Tips with their history and attachments; their threads and sealed reporters beside them.
    Reads that take a `scope` treat tips outside it as absent; the others are for the system."""

    async def page(
        self, filter: TipFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Tip]: ...

    async def by_tracking_code(self, code: str) -> Tip | None:
        """The tip with this (normalised) code, in any ward: one lookup on a unique index."""
        ...

    async def open_for_reporter(self, lookup_hashes: Sequence[str]) -> list[Tip]:
        """Open tips whose sealed reporter has one of these lookup hashes, newest first."""
        ...

    async def overdue(self, now: datetime, limit: int) -> list[Tip]:
        """Open, past their deadline and not yet escalated, locked for this unit of work."""
        ...

    def add_reporter(self, reporter: SealedReporter) -> None: ...

    async def reporter(self, reporter_id: ReporterId) -> SealedReporter | None: ...

    def add_message(self, message: TipMessage) -> None: ...

    async def messages_of(
        self, tip_ids: Sequence[TipId], *, scope: Scope
    ) -> list[list[TipMessage]]:
        """Each tip's thread, oldest first; empty for a tip outside `scope`."""
        ...

    async def message_by_external_id(
        self, channel: TipSource, external_message_id: str
    ) -> TipMessage | None: ...

    async def last_inbound_at(self, tip_id: TipId) -> datetime | None:
        """When the reporter last wrote (the channels' reply windows count from it)."""
        ...


class ProcedureRepository(Repository[Procedure], Protocol):
    async def by_code(self, code: str, *, for_update: bool = False) -> Procedure | None: ...

    async def listed(self, statuses: Sequence[ProcedureStatus] = ()) -> list[Procedure]:
        """Every article in those statuses (all when empty), by code."""
        ...

    async def revisions(self, procedure_id: ProcedureId) -> list[ProcedureContent]:
        """Each version's content, oldest first."""
        ...

    async def fingerprint(self) -> str:
        """Changes whenever any article is added, edited, published or retired."""
        ...


class InquiryRepository(Repository[Inquiry], Protocol):
    async def page(
        self, filter: InquiryFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Inquiry]: ...

    async def by_external_id(self, source: TipSource, external_id: str) -> Inquiry | None: ...

    async def latest_for_asker(self, lookup_hashes: Sequence[str]) -> Inquiry | None:
        """The most recent inquiry of the channel user these keyed hashes name."""
        ...

    async def overdue(self, now: datetime, limit: int) -> list[Inquiry]:
        """Open, past their deadline and not yet escalated, locked for this unit of work."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None:
        """Written with the unit of work's commit, or not at all."""
        ...

    async def page(
        self, filter: AuditFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[AuditEntry]:
        """Newest first; entries of wards outside `scope` are absent."""
        ...


class RoleRepository(Protocol):
    async def grants_of(self, member_id: MemberId) -> list[RoleGrant]: ...

    async def grants_of_many(self, member_ids: Sequence[MemberId]) -> list[list[RoleGrant]]: ...

    async def grant(self, member_id: MemberId, grant: RoleGrant) -> bool:
        """Record the grant; False when it was already held."""
        ...

    async def grant_many(self, grants: Sequence[tuple[MemberId, RoleGrant]]) -> None:
        """Record many new grants at once (imports); the members must hold none of them yet."""
        ...

    async def revoke(self, member_id: MemberId, grant: RoleGrant) -> bool:
        """Remove the grant; False when it was not held."""
        ...

    async def holders(self, ward_id: WardId, role: Role) -> list[MemberId]: ...


class UnitOfWork(Protocol):
    wards: WardRepository
    groups: GroupRepository
    members: MemberRepository
    roles: RoleRepository
    bulletins: BulletinRepository
    deliveries: DeliveryRepository
    tips: TipRepository
    audit: AuditLog
    procedures: ProcedureRepository
    inquiries: InquiryRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def collect_events(self) -> list[Event]: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class EventStream(Protocol):
    def subscribe(self, topic: str, *, scope: Scope) -> AsyncIterator[Event]: ...


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    expires_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Claims:
        """Raise InvalidToken for anything not signed by us, expired or for someone else."""
        ...


class InvalidToken(Exception):
    pass


class IdentityVault(Protocol):
    """Seals reporter identities at rest (sync: local cryptography, no I/O).

    `bound_to` ties a sealed value to the row holding it, so it cannot be moved to another."""

    def seal(self, identity: ReporterIdentity, *, bound_to: str = "") -> tuple[str, bytes]:
        """(key id, sealed bytes), under the current key."""
        ...

    def open(self, key_id: str, sealed: bytes, *, bound_to: str = "") -> ReporterIdentity:
        """Any key the vault still holds opens what it sealed (rotation)."""
        ...

    def lookup_hash(self, platform: TipSource, channel_user_id: str) -> str:
        """The keyed hash stored with a new identity (current key)."""
        ...

    def lookup_hashes(self, platform: TipSource, channel_user_id: str) -> list[str]:
        """The hash under every key held, current first: what a stored identity may carry."""
        ...


class ReplyFailed(Exception):
    """A reply could not reach the reporter; `message` says why, in both languages.

    `retryable`: the channel may take it later (rate limit, outage); otherwise it never will
    (the reporter blocked the account, the platform's reply window closed)."""

    def __init__(self, message: Msg, *, retryable: bool = False) -> None:
        super().__init__(message.en)
        self.message = message
        self.retryable = retryable


class Conversation(Protocol):
    """What a reply needs to know of the thread it answers: a tip or an inquiry."""

    @property
    def source(self) -> TipSource: ...

    @property
    def group_id(self) -> GroupId | None: ...


class ReporterReply(Protocol):
    """Carries a message to whoever wrote to us (a tip's reporter, an inquiry's asker) on the
    channel the thread came from.

    `reporter` is the opened identity (None when nothing was kept: an anonymous portal report,
    whose reporter reads replies with the tracking code). `last_inbound_at` is when they last
    wrote, for the platforms' reply windows. Returns the platform's message id, or None when
    nothing was sent (no way back on that channel). Raises ReplyFailed (or ChannelError)."""

    async def send(
        self,
        thread: Conversation,
        reporter: ReporterIdentity | None,
        text: str,
        *,
        last_inbound_at: datetime | None,
    ) -> str | None: ...
