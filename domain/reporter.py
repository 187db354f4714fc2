"""Who reported a tip: a value kept sealed in the identity vault, never beside the tip itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from domain.errors import DomainError, ErrorCode
from domain.phone import normalise_phone
from domain.text import clean, optional_text

ReporterId = NewType("ReporterId", uuid.UUID)

CHANNEL_USER_ID_MAX = 128
NAME_MAX = 120


class TipSource(StrEnum):
    """Where a tip came from, which is also where its reporter can be answered."""

    ZALO = "zalo"
    MESSENGER = "messenger"
    APP = "app"
    PORTAL = "portal"


@dataclass(frozen=True, slots=True)
class ReporterIdentity:
    """What may identify a reporter. Every part is optional, but an identity has at least one of
    the channel user id, the phone or the name (the platform alone identifies nobody)."""

    platform: TipSource | None = None
    channel_user_id: str | None = None
    phone: str | None = None
    name: str | None = None

    @classmethod
    def of(
        cls,
        *,
        platform: TipSource | None = None,
        channel_user_id: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        field: tuple[str, ...] = ("reporter",),
    ) -> ReporterIdentity:
        """Validate and normalise what a reporter or a channel gave: phone in E.164, text NFC."""
        user_id = clean(channel_user_id or "") or None
        if user_id is not None and len(user_id) > CHANNEL_USER_ID_MAX:
            raise DomainError.one(
                ErrorCode.TOO_LONG,
                "Mã người dùng trên kênh quá dài.",
                "The channel user id is too long.",
                (*field, "channelUserId"),
            )
        if user_id is not None and platform is None:
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần cho biết mã người dùng thuộc kênh nào.",
                "Say which platform the channel user id belongs to.",
                (*field, "platform"),
            )
        try:
            phone_e164 = normalise_phone(phone) if phone and phone.strip() else None
            full_name = optional_text(
                name, "name", max_len=NAME_MAX, label_vi="Họ tên", label_en="Name"
            )
        except DomainError as error:
            raise error.under(*field) from None
        identity = cls(platform, user_id, phone_e164, full_name)
        if identity.empty:
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần số điện thoại hoặc họ tên người báo, hoặc gửi ẩn danh.",
                "Give the reporter's phone or name, or report anonymously.",
                field,
            )
        return identity

    @property
    def empty(self) -> bool:
        return not (self.channel_user_id or self.phone or self.name)

    @property
    def reachable(self) -> bool:
        """Whether a reply can be sent to this person on their platform."""
        return self.platform is not None and self.channel_user_id is not None

    def route_only(self) -> ReporterIdentity | None:
        """The way back and nothing else: what an anonymous tip keeps (see `to_keep`)."""
        if not self.reachable:
            return None
        return ReporterIdentity(self.platform, self.channel_user_id)


def to_keep(reporter: ReporterIdentity | None, *, anonymous: bool) -> ReporterIdentity | None:
    """What is sealed for a tip. An anonymous tip keeps no name and no phone, even when given,
    only the channel user id its platform needs to carry officers' replies back (Zalo, Messenger,
    the app's push id); those are not revealed to anyone (see TipService.reveal_reporter)."""
    if reporter is None:
        return None
    return reporter.route_only() if anonymous else reporter
