"""A person: a resident (household representative) or an officer, with roles per ward."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.access import Role
from domain.channels import Platform
from domain.errors import DomainError, ErrorCode
from domain.events import Event, MemberCreated, MemberRemoved
from domain.ids import GroupId, MemberId, WardId, new_id
from domain.phone import normalise_phone
from domain.text import optional_text, required_text


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """A person's own id on a platform; Zalo ids are 19-digit strings, never numbers."""

    platform: Platform
    external_id: str


@dataclass(frozen=True, slots=True)
class RoleGrant:
    ward_id: WardId
    role: Role


def valid_full_name(raw: str | None) -> str:
    return required_text(raw, "fullName", max_len=120, label_vi="Họ tên", label_en="Full name")


def valid_address(raw: str | None) -> str | None:
    return optional_text(raw, "address", max_len=300, label_vi="Địa chỉ", label_en="Address")


def valid_phone(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    return normalise_phone(raw)


def valid_household_size(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 100:
        raise DomainError.one(
            ErrorCode.OUT_OF_RANGE,
            "Số nhân khẩu phải từ 1 đến 100.",
            "Household size must be between 1 and 100.",
            ("householdSize",),
        )
    return value


@dataclass(slots=True)
class Member:
    id: MemberId
    ward_id: WardId
    full_name: str
    phone: str | None
    address: str | None
    household_size: int | None
    created_at: datetime
    group_ids: list[GroupId] = field(default_factory=list)
    identities: list[ChannelIdentity] = field(default_factory=list)
    removed_at: datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        ward_id: WardId,
        full_name: str,
        phone: str | None = None,
        address: str | None = None,
        household_size: int | None = None,
        group_ids: list[GroupId] | None = None,
        now: datetime,
    ) -> Member:
        member = cls(
            id=MemberId(new_id()),
            ward_id=ward_id,
            full_name=valid_full_name(full_name),
            phone=valid_phone(phone),
            address=valid_address(address),
            household_size=valid_household_size(household_size),
            created_at=now,
            group_ids=list(dict.fromkeys(group_ids or [])),
        )
        member.events.append(MemberCreated(member.id, ward_id))
        return member

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def update(
        self,
        *,
        full_name: str | None = None,
        phone: str | None = None,
        address: str | None = None,
        household_size: int | None = None,
        group_ids: list[GroupId] | None = None,
    ) -> None:
        self._refuse_if_removed()
        if full_name is not None:
            self.full_name = valid_full_name(full_name)
        if phone is not None:
            self.phone = valid_phone(phone)
        if address is not None:
            self.address = valid_address(address)
        if household_size is not None:
            self.household_size = valid_household_size(household_size)
        if group_ids is not None:
            self.group_ids = list(dict.fromkeys(group_ids))

    def link(self, identity: ChannelIdentity) -> None:
        if identity not in self.identities:
            self.identities.append(identity)

    def remove(self, now: datetime) -> None:
        self._refuse_if_removed()
        self.removed_at = now
        self.group_ids = []
        self.events.append(MemberRemoved(self.id, self.ward_id))

    def _refuse_if_removed(self) -> None:
        if self.removed:
            raise DomainError.one(
                ErrorCode.NOT_FOUND,
                "Không tìm thấy thành viên.",
                "Member not found.",
                ("id",),
            )
