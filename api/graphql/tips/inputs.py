"""Input objects of tips and their conversion to domain commands, with field paths.

Reporters send files with the tip itself (a multipart request): they cannot use
`attachmentUpload`, which is for staff. Each file's type is read from its own bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.graphql.base import decode_id
from api.graphql.bulletins.inputs import filename_of
from api.graphql.bulletins.media import sniff
from api.graphql.tips.types import TipCategory, TipOutcome, TipSource, TipStatus
from domain.bulletin import Attachment, MediaType
from domain.errors import DomainError, ErrorCode, Problem
from domain.ids import MemberId, TipId, WardId
from domain.ports import BlobStore
from domain.reporter import ReporterIdentity
from domain.reporter import TipSource as DomainTipSource
from domain.tip import ATTACHMENTS_MAX

TIP_VIDEO_MAX = 100 * 1024 * 1024  # a phone's few minutes of video; images and files: the limit
_CHUNK = 1024 * 1024


def tip_id(gid: relay.GlobalID, field: str = "id") -> TipId:
    return TipId(decode_id(gid, "Tip", (field,)))


@strawberry.input
class TipFilter:
    ward_ids: list[relay.GlobalID] | None = None
    categories: list[TipCategory] | None = None
    statuses: list[TipStatus] | None = None
    assignee_ids: list[relay.GlobalID] | None = None
    overdue: bool | None = strawberry.field(
        default=None, description="True: open and past the deadline; false: all others."
    )
    text: str | None = strawberry.field(
        default=None, description="Matches the body, with or without diacritics."
    )
    received_from: datetime | None = strawberry.field(
        default=None, description="Received at or after this time."
    )
    received_to: datetime | None = strawberry.field(
        default=None, description="Received before this time."
    )


@strawberry.input
class AuditLogFilter:
    ward_ids: list[relay.GlobalID] | None = None
    actions: list[str] | None = strawberry.field(
        default=None, description="e.g. tip.reveal_reporter"
    )
    subject_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Global ids of the subjects (tips)."
    )
    actor_ids: list[relay.GlobalID] | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


@strawberry.input(description="Who is reporting, when not anonymous; at least a phone or a name.")
class ReporterInput:
    phone: str | None = None
    name: str | None = None
    channel_user_id: str | None = strawberry.field(
        default=None,
        description="The app's (or portal account's) id for the reporter, so replies reach"
        " them there.",
    )

    def to_identity(self, source: DomainTipSource) -> ReporterIdentity:
        return ReporterIdentity.of(
            platform=source,
            channel_user_id=self.channel_user_id,
            phone=self.phone,
            name=self.name,
        )


@strawberry.input(
    description="A tip from the mobile app or the portal; no token is needed. An anonymous tip"
    " keeps nothing about its reporter but, given a channelUserId, the way to answer them."
)
class TipSubmitInput:
    body: str
    anonymous: bool
    ward_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The unit the tip is for (or give wardCode)."
    )
    ward_code: str | None = strawberry.field(
        default=None, description="The unit's official code, for callers without its id."
    )
    category: TipCategory | None = strawberry.field(
        default=None, description="What it is about, if the reporter knows; the staff triage it."
    )
    source: TipSource = strawberry.field(
        default=DomainTipSource.APP, description="APP or PORTAL (channels arrive by webhook)."
    )
    reporter: ReporterInput | None = strawberry.field(
        default=None,
        description="Required unless anonymous or signed in (then your own name and phone).",
    )
    files: list[Upload] | None = strawberry.field(
        default=None,
        description=f"Up to {ATTACHMENTS_MAX} images, videos or documents, sent with the tip.",
    )

    def reporter_identity(self) -> ReporterIdentity | None:
        if self.reporter is None:
            return None
        if self.anonymous:
            # Only the way back is kept of an anonymous reporter: the rest is not even checked.
            if not (self.reporter.channel_user_id or "").strip():
                return None
            return ReporterIdentity.of(
                platform=self.source, channel_user_id=self.reporter.channel_user_id
            )
        return self.reporter.to_identity(self.source)


async def read_files(
    files: list[Any] | None, blobs: BlobStore, limit: int
) -> tuple[Attachment, ...]:
    """Every file stored, or one error holding the problems of all of them (nothing stored)."""
    items = list(files or [])
    if len(items) > ATTACHMENTS_MAX:
        raise DomainError.one(
            ErrorCode.OUT_OF_RANGE,
            f"Tối đa {ATTACHMENTS_MAX} tệp đính kèm.",
            f"At most {ATTACHMENTS_MAX} files.",
            ("files",),
        )
    problems: list[Problem] = []
    ready: list[tuple[bytes, Attachment]] = []
    for index, file in enumerate(items):
        field = ("files", str(index))
        try:
            data = await _read(file, limit)
            name = filename_of(getattr(file, "filename", None)) or "tep"
            found = sniff(data, name)
            if found is None:
                raise DomainError.one(
                    ErrorCode.INVALID_FILE,
                    "Chỉ nhận ảnh, video MP4/MOV, PDF, DOC, DOCX, CSV hoặc văn bản.",
                    "Only images, MP4 or MOV videos, PDF, DOC, DOCX, CSV or text are accepted.",
                )
            ready.append(
                (
                    data,
                    Attachment(
                        blob_key="unstored",
                        media_type=found.media_type,
                        filename=name,
                        size_bytes=len(data),
                        content_type=found.content_type,
                    ),
                )
            )
        except DomainError as error:
            problems.extend(error.under(*field).problems)
    if problems:
        raise DomainError(*problems)
    stored = []
    for data, attachment in ready:
        key = await blobs.put(
            data, content_type=attachment.content_type, filename=attachment.filename
        )
        stored.append(
            Attachment(
                blob_key=key,
                media_type=attachment.media_type,
                filename=attachment.filename,
                size_bytes=attachment.size_bytes,
                content_type=attachment.content_type,
            )
        )
    return tuple(stored)


async def _read(file: Any, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) <= limit:
        return data
    found = sniff(data[:64])
    if found is None or found.media_type is not MediaType.VIDEO:
        raise _too_large(limit)
    parts, total = [data], len(data)
    while total <= TIP_VIDEO_MAX:
        chunk = await file.read(min(_CHUNK, TIP_VIDEO_MAX + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > TIP_VIDEO_MAX:
        raise _too_large(TIP_VIDEO_MAX)
    return b"".join(parts)


def _too_large(limit: int) -> DomainError:
    size = f"{limit / 1024 / 1024:g} MB"
    return DomainError.one(
        ErrorCode.INVALID_FILE, f"Tệp lớn hơn {size}.", f"The file is larger than {size}."
    )


@strawberry.input(description="Say what the tip is about; its deadline follows the category.")
class TipTriageInput:
    id: relay.GlobalID
    category: TipCategory
    comment: str | None = None


@strawberry.input(description="Give the tip to an officer of its unit (or hand it over).")
class TipAssignInput:
    id: relay.GlobalID
    assignee_id: relay.GlobalID
    comment: str | None = None

    def to_assignee(self) -> MemberId:
        return MemberId(decode_id(self.assignee_id, "Member", ("assigneeId",)))


@strawberry.input
class TipStartInvestigationInput:
    id: relay.GlobalID
    comment: str | None = None


@strawberry.input
class TipResolveInput:
    id: relay.GlobalID
    outcome: TipOutcome
    arrests: int = 0
    comment: str | None = None


@strawberry.input
class TipDismissInput:
    id: relay.GlobalID
    reason: str


@strawberry.input(description="A message to the reporter, on the channel the tip came from.")
class TipReplyInput:
    id: relay.GlobalID
    text: str


@strawberry.input(
    description="Who reported the tip, for a commander of its unit or its assigned officer;"
    " the reason (at least 10 characters) goes to the audit log."
)
class TipRevealReporterInput:
    id: relay.GlobalID
    reason: str


def ward_id_of(input: TipSubmitInput) -> WardId | None:
    if input.ward_id is None:
        return None
    return WardId(decode_id(input.ward_id, "Ward", ("wardId",)))


@strawberry.input(description="A reporter's answer from the app or the portal, by tracking code.")
class TipFollowUpInput:
    tracking_code: str
    text: str
