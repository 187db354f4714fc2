"""An official post: written by an officer, approved by a commander, delivered to groups."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from domain.access import Actor, can_approve_bulletin
from domain.delivery import DeliveryStatus
from domain.errors import DomainError, ErrorCode, invalid_transition
from domain.events import (
    BulletinApproved,
    BulletinCancelled,
    BulletinPublished,
    BulletinRejected,
    BulletinScheduled,
    BulletinSubmitted,
    Event,
)
from domain.history import Transition
from domain.ids import BulletinId, GroupId, MemberId, WardId, new_id
from domain.text import clean, optional_text, required_text

TITLE_MAX = 200
BODY_MAX = 20_000
FILENAME_MAX = 255
_BLANK_LINES = re.compile(r"\n{3,}")
_T = TypeVar("_T")


class BulletinKind(StrEnum):
    SCAM_WARNING = "scam_warning"
    WANTED_NOTICE = "wanted_notice"
    MISSING_PERSON = "missing_person"
    LEGAL_GUIDANCE = "legal_guidance"
    PROCEDURE_GUIDE = "procedure_guide"
    COMMUNITY_NOTICE = "community_notice"


class BulletinStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_FAILED = "partially_failed"
    FAILED = "failed"
    CANCELLED = "cancelled"


_S = BulletinStatus
EDITABLE = frozenset({_S.DRAFT, _S.REJECTED, _S.SUBMITTED, _S.APPROVED, _S.SCHEDULED})
CANCELLABLE = EDITABLE
# A failed or partly failed bulletin settles again when someone retries a dead delivery.
SETTLEABLE = frozenset({_S.PUBLISHING, _S.PARTIALLY_FAILED, _S.FAILED})


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    FILE = "file"


def _bad_file(vi: str, en: str, field: str) -> DomainError:
    return DomainError.one(ErrorCode.INVALID_FILE, vi, en, (field,))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A stored blob. Channels fetch it by `blob_key`; the bulletin never holds the bytes."""

    blob_key: str
    media_type: MediaType
    filename: str
    size_bytes: int
    content_type: str

    def __post_init__(self) -> None:
        if not self.blob_key.strip():
            raise _bad_file("Thiếu tệp đính kèm.", "The attachment has no file.", "blobKey")
        if not clean(self.filename) or len(self.filename) > FILENAME_MAX:
            raise _bad_file(
                f"Tên tệp phải có từ 1 đến {FILENAME_MAX} ký tự.",
                f"A file name must be 1-{FILENAME_MAX} characters.",
                "filename",
            )
        if self.size_bytes <= 0:
            raise _bad_file("Tệp đính kèm rỗng.", "The attachment is empty.", "sizeBytes")
        major = self.content_type.partition("/")[0]
        if "/" not in self.content_type or (
            self.media_type != MediaType.FILE and major != self.media_type
        ):
            raise _bad_file(
                f"Loại tệp '{self.content_type}' không khớp với '{self.media_type}'.",
                f"Content type '{self.content_type}' does not match '{self.media_type}'.",
                "contentType",
            )


def _title(raw: str | None) -> str:
    return required_text(raw, "title", max_len=TITLE_MAX, label_vi="Tiêu đề", label_en="Title")


def _body(raw: str | None) -> str:
    # clean() would run the paragraphs into one line, so tidy each line and keep the breaks.
    lines = [clean(line) for line in (raw or "").splitlines()]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    required_text(text, "body", max_len=BODY_MAX, label_vi="Nội dung", label_en="Body")
    if len(text) > BODY_MAX:  # the line breaks count too
        raise DomainError.one(
            ErrorCode.TOO_LONG,
            f"Nội dung dài quá {BODY_MAX} ký tự.",
            f"Body is longer than {BODY_MAX} characters.",
            ("body",),
        )
    return text


def _future(at: datetime, now: datetime) -> datetime:
    if at <= now:
        raise DomainError.one(
            ErrorCode.INVALID,
            "Thời điểm đăng phải ở tương lai.",
            "The publishing time must be in the future.",
            ("scheduledAt",),
        )
    return at


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    """Targets are a set: kept sorted, so the same targets in another order are no change."""
    return tuple(sorted(set(items)))  # type: ignore[type-var]


def _require_targets(groups: tuple[GroupId, ...], wards: tuple[WardId, ...]) -> None:
    if not groups and not wards:
        raise DomainError.one(
            ErrorCode.REQUIRED,
            "Cần chọn ít nhất một nhóm hoặc một phường nhận bản tin.",
            "Choose at least one group or ward to receive the bulletin.",
            ("targetGroupIds",),
        )


@dataclass(slots=True)
class Bulletin:
    id: BulletinId
    ward_id: WardId
    author_id: MemberId
    kind: BulletinKind
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    attachments: tuple[Attachment, ...] = ()
    target_group_ids: tuple[GroupId, ...] = ()
    target_ward_ids: tuple[WardId, ...] = ()
    status: BulletinStatus = BulletinStatus.DRAFT
    scheduled_at: datetime | None = None
    approved_by: MemberId | None = None
    approved_at: datetime | None = None
    history: list[Transition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def draft(
        cls,
        *,
        ward_id: WardId,
        author_id: MemberId,
        kind: BulletinKind,
        title: str,
        body: str,
        now: datetime,
        attachments: Sequence[Attachment] = (),
        target_group_ids: Iterable[GroupId] = (),
        target_ward_ids: Iterable[WardId] = (),
        scheduled_at: datetime | None = None,
    ) -> Bulletin:
        return cls(
            id=BulletinId(new_id()),
            ward_id=ward_id,
            author_id=author_id,
            kind=kind,
            title=_title(title),
            body=_body(body),
            created_at=now,
            updated_at=now,
            attachments=tuple(attachments),
            target_group_ids=_unique(target_group_ids),
            target_ward_ids=_unique(target_ward_ids),
            scheduled_at=None if scheduled_at is None else _future(scheduled_at, now),
        )

    def edit(
        self,
        *,
        actor_id: MemberId,
        now: datetime,
        kind: BulletinKind | None = None,
        title: str | None = None,
        body: str | None = None,
        attachments: Sequence[Attachment] | None = None,
        target_group_ids: Iterable[GroupId] | None = None,
        target_ward_ids: Iterable[WardId] | None = None,
        comment: str | None = None,
    ) -> None:
        """Change the content. A change after approval needs a fresh approval."""
        self._require(EDITABLE, "sửa", "edit")
        wanted = {
            "kind": kind,
            "title": None if title is None else _title(title),
            "body": None if body is None else _body(body),
            "attachments": None if attachments is None else tuple(attachments),
            "target_group_ids": None if target_group_ids is None else _unique(target_group_ids),
            "target_ward_ids": None if target_ward_ids is None else _unique(target_ward_ids),
        }
        changes = {k: v for k, v in wanted.items() if v is not None and v != getattr(self, k)}
        if not changes:
            return
        if self.status not in (_S.DRAFT, _S.REJECTED):
            groups = changes.get("target_group_ids", self.target_group_ids)
            _require_targets(groups, changes.get("target_ward_ids", self.target_ward_ids))
        if self.status in (_S.APPROVED, _S.SCHEDULED):
            self._move(_S.SUBMITTED, actor_id, now, comment)
            self.approved_by = None
            self.approved_at = None
            self.events.append(BulletinSubmitted(self.id, self.ward_id))
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = now

    def submit(self, *, actor_id: MemberId, now: datetime, comment: str | None = None) -> None:
        self._require({_S.DRAFT, _S.REJECTED}, "gửi duyệt", "submit")
        _require_targets(self.target_group_ids, self.target_ward_ids)
        self._move(_S.SUBMITTED, actor_id, now, comment)
        self.events.append(BulletinSubmitted(self.id, self.ward_id))

    def approve(self, actor: Actor, now: datetime, comment: str | None = None) -> None:
        self._require({_S.SUBMITTED}, "duyệt", "approve")
        self._check_approver(actor)
        later = self.scheduled_at if self.scheduled_at and self.scheduled_at > now else None
        self._move(_S.APPROVED if later is None else _S.SCHEDULED, actor.member_id, now, comment)
        self.approved_by = actor.member_id
        self.approved_at = now
        self.events.append(BulletinApproved(self.id, self.ward_id, later or now))

    def reject(self, actor: Actor, now: datetime, comment: str | None) -> None:
        self._require({_S.SUBMITTED}, "từ chối", "reject")
        self._check_approver(actor)
        reason = required_text(
            comment, "comment", max_len=2000, label_vi="Lý do từ chối", label_en="Reason"
        )
        self._move(_S.REJECTED, actor.member_id, now, reason)
        self.events.append(BulletinRejected(self.id, self.ward_id))

    def schedule(
        self,
        at: datetime | None,
        *,
        actor_id: MemberId,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        """Set, move or (with None) clear the publishing time. Time is not content: no re-approval."""
        self._require(EDITABLE, "hẹn giờ đăng", "schedule")
        if at is not None:
            _future(at, now)
        approved = self.status in (_S.APPROVED, _S.SCHEDULED)
        if approved:
            target = _S.APPROVED if at is None else _S.SCHEDULED
            if target is not self.status:
                self._move(target, actor_id, now, comment)
        self.scheduled_at = at
        self.updated_at = now
        if approved:
            self.events.append(BulletinScheduled(self.id, self.ward_id, at or now))

    def cancel(self, *, actor_id: MemberId, now: datetime, comment: str | None = None) -> None:
        self._require(CANCELLABLE, "huỷ", "cancel")
        self._move(_S.CANCELLED, actor_id, now, comment)
        self.events.append(BulletinCancelled(self.id, self.ward_id))

    @property
    def published_at(self) -> datetime | None:
        """When it last reached residents: its most recent settling as published or partly so."""
        for step in reversed(self.history):
            if step.to_status in (_S.PUBLISHED, _S.PARTIALLY_FAILED):
                return step.at
        return None

    @property
    def public(self) -> bool:
        return self.status in (_S.PUBLISHED, _S.PARTIALLY_FAILED)

    def due(self, now: datetime) -> bool:
        return self.status is _S.APPROVED or (
            self.status is _S.SCHEDULED
            and self.scheduled_at is not None
            and self.scheduled_at <= now
        )

    def start_publishing(self, now: datetime) -> None:
        self._require({_S.APPROVED, _S.SCHEDULED}, "đăng", "publish")
        if not self.due(now):
            raise DomainError.one(
                ErrorCode.INVALID_TRANSITION,
                "Bản tin chưa đến giờ đăng.",
                "The bulletin is scheduled for later.",
                ("scheduledAt",),
            )
        self._move(_S.PUBLISHING, None, now)

    def settle(self, delivery_statuses: Iterable[DeliveryStatus], now: datetime) -> BulletinStatus:
        """Derive the outcome from the deliveries; stays publishing while any may still be sent."""
        self._require(SETTLEABLE, "chốt kết quả đăng", "settle")
        statuses = list(delivery_statuses)
        sent = statuses.count(DeliveryStatus.SENT)
        if not all(s.final for s in statuses):
            target = _S.PUBLISHING
        elif sent and sent == len(statuses):
            target = _S.PUBLISHED
        elif sent:
            target = _S.PARTIALLY_FAILED
        else:  # nothing reached anyone, including the case of no deliveries at all
            target = _S.FAILED
        if target is not self.status:
            self._move(target, None, now)
            if target is not _S.PUBLISHING:
                self.events.append(BulletinPublished(self.id, self.ward_id, target))
        return self.status

    def _check_approver(self, actor: Actor) -> None:
        if actor.member_id is not None and actor.member_id == self.author_id:
            raise DomainError.one(
                ErrorCode.SELF_APPROVAL,
                "Người soạn không được tự duyệt bản tin của mình.",
                "The author cannot approve or reject their own bulletin.",
            )
        if not can_approve_bulletin(actor, self.ward_id, self.author_id):
            raise DomainError.one(
                ErrorCode.NOT_COMMANDER,
                "Chỉ chỉ huy Công an phường của bản tin mới được duyệt.",
                "Only a commander of the bulletin's ward can approve or reject it.",
            )

    def _require(self, allowed: Iterable[BulletinStatus], action_vi: str, action_en: str) -> None:
        if self.status not in allowed:
            raise invalid_transition(
                "bản tin", "bulletin", self.status, action_vi, action_en=action_en
            )

    def _move(
        self,
        to: BulletinStatus,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        note = optional_text(
            comment, "comment", max_len=2000, label_vi="Ghi chú", label_en="Comment"
        )
        self.history.append(Transition(self.status, to, actor_id, now, note))
        self.status = to
        self.updated_at = now
