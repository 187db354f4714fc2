"""Ports for the outside channels: publishing to them, their credentials, and stored media."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.channels import ChannelKind
from domain.ids import BulletinId, GroupId, WardId


@dataclass(frozen=True, slots=True)
class GroupRef:
    """Where a delivery goes: the group on its channel and the account that may post there."""

    group_id: GroupId
    ward_id: WardId
    channel: ChannelKind
    external_id: str
    name: str
    credentials_ref: str | None


@dataclass(frozen=True, slots=True)
class MediaRef:
    blob_key: str
    media_type: str  # image | video | file
    filename: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A bulletin as every channel sees it; each gateway renders it in its own format."""

    bulletin_id: BulletinId
    kind: str
    title: str
    body: str
    ward_name: str
    link: str | None = None
    media: tuple[MediaRef, ...] = ()
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    external_id: str
    url: str | None = None
    sandbox: bool = False
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """What a channel tells us about a post's audience; None where it does not say."""

    views: int | None = None
    reactions: int | None = None
    shares: int | None = None
    comments: int | None = None


class ChannelError(Exception):
    """A channel refused or failed. Retryable failures may say when to come back."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        code: str | None = None,
        duplicate: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code
        self.duplicate = duplicate


class ChannelGateway(Protocol):
    kind: ChannelKind

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt: ...

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None: ...


class ChannelRegistry(Protocol):
    def get(self, kind: ChannelKind) -> ChannelGateway: ...

    def kinds(self) -> list[ChannelKind]: ...


@dataclass(frozen=True, slots=True)
class StoredToken:
    """An OAuth token pair of one channel account, with a version for compare-and-swap."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    version: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


class CredentialStore(Protocol):
    """Static secrets come from configuration; rotating tokens are persisted atomically."""

    def config(self, ref: str) -> Mapping[str, str] | None: ...

    async def token(self, ref: str) -> StoredToken | None: ...

    async def replace_token(self, ref: str, new: StoredToken, *, expected_version: int) -> bool:
        """Store `new` only if the stored version is still `expected_version` (single-use refresh)."""
        ...


class ChannelState(Protocol):
    """Small durable notes a gateway keeps across attempts, e.g. a resumable upload's session URI."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class BlobStore(Protocol):
    async def put(self, data: bytes, *, content_type: str, filename: str) -> str: ...

    async def get(self, key: str) -> bytes: ...

    async def size(self, key: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ChannelMember:
    """A person a channel lists in a group or among an account's followers, by the platform's own
    user id (a Zalo user id is a big-integer string). The name is what the platform shows, if it
    says; it identifies nobody and is never used to match a person."""

    external_user_id: str
    display_name: str | None = None


class MembershipTruncated(ChannelError):
    """The platform stopped listing before the end (Zalo reads followers up to an offset cap).

    Raised after everyone it could list was yielded: those are real, but anyone missing from the
    listing may simply not have been reached, so nobody may be treated as having left.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="truncated")


class MembershipSource(Protocol):
    """Who is in a group on a channel, listed page by page from the platform.

    `members` is an async generator. It raises ChannelError before yielding anything when it cannot
    list the group at all (code "credentials" when the group's account has no credentials, which
    means there is nothing to sync), ChannelError part-way when the platform fails mid-listing, and
    MembershipTruncated at the end when the platform would not list everyone.
    """

    kind: ChannelKind

    def members(self, target: GroupRef) -> AsyncIterator[ChannelMember]: ...
