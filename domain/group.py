"""One audience on one channel: a Zalo group or OA, a Facebook page, a YouTube channel, the portal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.channels import ChannelKind
from domain.errors import DomainError, ErrorCode
from domain.events import Event, GroupArchived, GroupCreated
from domain.ids import GroupId, WardId, new_id
from domain.text import optional_text, required_text

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{1,128}$")
_CREDENTIALS_REF = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")


def valid_external_id(raw: str | None) -> str:
    value = (raw or "").strip()
    if not _EXTERNAL_ID.match(value):
        raise DomainError.one(
            ErrorCode.INVALID,
            "Mã nhóm trên kênh không hợp lệ (1-128 ký tự, không có khoảng trắng).",
            "The channel id must be 1-128 characters without spaces.",
            ("externalId",),
        )
    return value


def valid_credentials_ref(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not _CREDENTIALS_REF.match(value):
        raise DomainError.one(
            ErrorCode.INVALID,
            "Tham chiếu tài khoản kênh không hợp lệ.",
            "The credentials reference is not valid.",
            ("credentialsRef",),
        )
    return value


def _name(raw: str | None) -> str:
    return required_text(raw, "name", max_len=200, label_vi="Tên nhóm", label_en="Group name")


def _description(raw: str | None) -> str | None:
    return optional_text(raw, "description", max_len=2000, label_vi="Mô tả", label_en="Description")


@dataclass(slots=True)
class Group:
    id: GroupId
    ward_id: WardId
    channel: ChannelKind
    external_id: str
    name: str
    description: str | None
    credentials_ref: str | None
    created_at: datetime
    archived_at: datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        ward_id: WardId,
        channel: ChannelKind,
        external_id: str,
        name: str,
        description: str | None = None,
        credentials_ref: str | None = None,
        now: datetime,
    ) -> Group:
        group = cls(
            id=GroupId(new_id()),
            ward_id=ward_id,
            channel=channel,
            external_id=valid_external_id(external_id),
            name=_name(name),
            description=_description(description),
            credentials_ref=valid_credentials_ref(credentials_ref),
            created_at=now,
        )
        group.events.append(GroupCreated(group.id, ward_id))
        return group

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def update(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        credentials_ref: str | None = None,
    ) -> None:
        self._refuse_if_archived()
        if name is not None:
            self.name = _name(name)
        if description is not None:
            self.description = _description(description)
        if credentials_ref is not None:
            self.credentials_ref = valid_credentials_ref(credentials_ref)

    def archive(self, now: datetime) -> None:
        self._refuse_if_archived()
        self.archived_at = now
        self.events.append(GroupArchived(self.id, self.ward_id))

    def _refuse_if_archived(self) -> None:
        if self.archived:
            raise DomainError.one(
                ErrorCode.ALREADY_ARCHIVED,
                "Nhóm đã được lưu trữ, không thể thay đổi.",
                "The group is archived and cannot change.",
                ("id",),
            )
