"""Input objects of bulletins and their conversion to domain commands, with field paths.

Attachments arrive as keys of files stored by `attachmentUpload`; each is resolved here against
the blob store, and its type is read again from the stored bytes, so a client can neither name a
file that is not there nor relabel one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.graphql.base import decode_id
from api.graphql.bulletins.media import sniff
from api.graphql.bulletins.types import BulletinKind, BulletinStatus
from domain.bulletin import Attachment
from domain.errors import DomainError, ErrorCode, not_found
from domain.ids import BulletinId, DeliveryId, GroupId, WardId
from domain.ports import BlobStore
from domain.services.bulletins import BulletinDraft, BulletinEdit
from domain.text import clean


def aware(value: datetime | None, field: Sequence[str]) -> datetime | None:
    """A moment in time needs its offset: '08:00' alone means something else in every zone."""
    if value is not None and value.utcoffset() is None:
        raise DomainError.one(
            ErrorCode.INVALID,
            "Thời điểm phải kèm múi giờ (ví dụ 2026-11-23T08:00:00+07:00).",
            "A time must carry its time zone (e.g. 2026-11-23T08:00:00+07:00).",
            tuple(field),
        )
    return value


def filename_of(raw: str | None) -> str:
    """The name alone, NFC: browsers may send a path ('C:\\fakepath\\anh.jpg')."""
    return clean((raw or "").replace("\\", "/").rsplit("/", 1)[-1])


def _bulletin(gid: relay.GlobalID, field: str = "id") -> BulletinId:
    return BulletinId(decode_id(gid, "Bulletin", (field,)))


def _ward(gid: relay.GlobalID, field: str) -> WardId:
    return WardId(decode_id(gid, "Ward", (field,)))


def _group_ids(gids: list[relay.GlobalID] | None, field: str) -> tuple[GroupId, ...] | None:
    if gids is None:
        return None
    return tuple(GroupId(decode_id(g, "Group", (field, str(i)))) for i, g in enumerate(gids))


def _ward_ids(gids: list[relay.GlobalID] | None, field: str) -> tuple[WardId, ...] | None:
    if gids is None:
        return None
    return tuple(WardId(decode_id(g, "Ward", (field, str(i)))) for i, g in enumerate(gids))


@strawberry.input
class BulletinFilter:
    ward_ids: list[relay.GlobalID] | None = None
    kinds: list[BulletinKind] | None = None
    statuses: list[BulletinStatus] | None = None
    text: str | None = strawberry.field(
        default=None, description="Matches the title or body, with or without diacritics."
    )
    created_from: datetime | None = strawberry.field(
        default=None, description="Created at or after this time."
    )
    created_to: datetime | None = strawberry.field(
        default=None, description="Created before this time."
    )


@strawberry.input(description="A file stored by attachmentUpload, attached under a name.")
class AttachmentInput:
    blob_key: str
    filename: str

    async def to_attachment(self, blobs: BlobStore, field: tuple[str, ...]) -> Attachment:
        key = self.blob_key.strip()
        size = await blobs.size(key) if key else None
        data: bytes | None = None
        if size:
            try:
                data = await blobs.get(key)
            except KeyError:  # removed between the two calls
                data = None
        if not data:
            raise not_found("tệp đã tải lên", "Uploaded file", (*field, "blobKey"))
        sniffed = sniff(data, self.filename)
        if sniffed is None:
            raise DomainError.one(
                ErrorCode.INVALID_FILE,
                "Không nhận loại tệp này.",
                "This kind of file is not accepted.",
                (*field, "blobKey"),
            )
        try:
            return Attachment(
                blob_key=key,
                media_type=sniffed.media_type,
                filename=filename_of(self.filename),
                size_bytes=len(data),
                content_type=sniffed.content_type,
            )
        except DomainError as error:
            raise error.under(*field) from None


async def attachments(
    items: list[AttachmentInput] | None, blobs: BlobStore
) -> tuple[Attachment, ...] | None:
    """Every attachment resolved, or one error holding the problems of all of them."""
    if items is None:
        return None
    found: list[Attachment] = []
    problems = []
    for index, item in enumerate(items):
        try:
            found.append(await item.to_attachment(blobs, ("attachments", str(index))))
        except DomainError as error:
            problems.extend(error.problems)
    if problems:
        raise DomainError(*problems)
    return tuple(found)


@strawberry.input
class BulletinCreateInput:
    ward_id: relay.GlobalID = strawberry.field(description="The unit that publishes it.")
    kind: BulletinKind
    title: str
    body: str
    attachments: list[AttachmentInput] | None = None
    target_group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Groups of the unit or of units below it."
    )
    target_ward_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Units (this one or below) whose every active group receives it."
    )
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Publish at this time (with its time zone) once approved."
    )

    async def to_command(self, blobs: BlobStore) -> BulletinDraft:
        return BulletinDraft(
            ward_id=_ward(self.ward_id, "wardId"),
            kind=self.kind,
            title=self.title,
            body=self.body,
            attachments=await attachments(self.attachments, blobs) or (),
            target_group_ids=_group_ids(self.target_group_ids, "targetGroupIds") or (),
            target_ward_ids=_ward_ids(self.target_ward_ids, "targetWardIds") or (),
            scheduled_at=aware(self.scheduled_at, ("scheduledAt",)),
        )


@strawberry.input(
    description="Changes what is given. A change to an approved or scheduled bulletin sends it"
    " back for approval and withdraws its unsent deliveries."
)
class BulletinUpdateInput:
    id: relay.GlobalID
    kind: BulletinKind | None = None
    title: str | None = None
    body: str | None = None
    attachments: list[AttachmentInput] | None = strawberry.field(
        default=None, description="Replaces every attachment when given ([] removes them)."
    )
    target_group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Replaces the target groups when given."
    )
    target_ward_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Replaces the target units when given."
    )
    comment: str | None = strawberry.field(
        default=None, description="Kept in the history when the change sends it back."
    )

    async def to_command(self, blobs: BlobStore) -> BulletinEdit:
        return BulletinEdit(
            id=_bulletin(self.id),
            kind=self.kind,
            title=self.title,
            body=self.body,
            attachments=await attachments(self.attachments, blobs),
            target_group_ids=_group_ids(self.target_group_ids, "targetGroupIds"),
            target_ward_ids=_ward_ids(self.target_ward_ids, "targetWardIds"),
            comment=self.comment,
        )


@strawberry.input(
    description="Moves a bulletin along its workflow; the comment is kept in its history"
    " (a rejection needs one: the reason)."
)
class BulletinTransitionInput:
    id: relay.GlobalID
    comment: str | None = None

    def to_id(self) -> BulletinId:
        return _bulletin(self.id)


@strawberry.input
class BulletinScheduleInput:
    id: relay.GlobalID
    at: datetime | None = strawberry.field(
        default=None,
        description="When to publish, with its time zone; null publishes on approval.",
    )
    comment: str | None = None

    def to_id(self) -> BulletinId:
        return _bulletin(self.id)

    def to_time(self) -> datetime | None:
        return aware(self.at, ("at",))


@strawberry.input(description="Send a dead delivery again.")
class DeliveryRetryInput:
    id: relay.GlobalID
    comment: str | None = None

    def to_id(self) -> DeliveryId:
        return DeliveryId(decode_id(self.id, "Delivery", ("id",)))


@strawberry.input
class AttachmentUploadInput:
    ward_id: relay.GlobalID = strawberry.field(description="The unit the file is for.")
    file: Upload = strawberry.field(
        description="JPEG, PNG, GIF or WEBP image, MP4 or MOV video, PDF, DOC, DOCX, CSV or"
        " plain text. The type is read from the file itself."
    )

    def to_ward_id(self) -> WardId:
        return _ward(self.ward_id, "wardId")
