"""Input objects and their conversion to domain commands. Ids are decoded here, with field paths."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.graphql.base import decode_id
from api.graphql.organisation.types import ChannelKind, Role
from domain.ids import GroupId, MemberId, WardId
from domain.services import organisation as cmd


def _ward(gid: relay.GlobalID, field: str) -> WardId:
    return WardId(decode_id(gid, "Ward", (field,)))


def _group_ids(gids: list[relay.GlobalID] | None, field: str) -> tuple[GroupId, ...] | None:
    if gids is None:
        return None
    return tuple(GroupId(decode_id(g, "Group", (field, str(i)))) for i, g in enumerate(gids))


@strawberry.input
class WardFilter:
    text: str | None = strawberry.field(
        default=None, description="Matches the name, with or without diacritics."
    )
    parent_id: relay.GlobalID | None = None


@strawberry.input
class GroupFilter:
    ward_ids: list[relay.GlobalID] | None = None
    channels: list[ChannelKind] | None = None
    text: str | None = strawberry.field(
        default=None, description="Matches the name, with or without diacritics."
    )
    include_archived: bool = False


@strawberry.input
class MemberFilter:
    ward_ids: list[relay.GlobalID] | None = None
    group_ids: list[relay.GlobalID] | None = None
    roles: list[Role] | None = None
    text: str | None = strawberry.field(
        default=None, description="Matches the name, with or without diacritics."
    )
    phone: str | None = None


@strawberry.input
class WardCreateInput:
    code: str
    name: str
    parent_id: relay.GlobalID | None = None

    def to_command(self) -> cmd.WardCreate:
        parent = _ward(self.parent_id, "parentId") if self.parent_id else None
        return cmd.WardCreate(code=self.code, name=self.name, parent_id=parent)


@strawberry.input
class WardUpdateInput:
    id: relay.GlobalID
    name: str | None = None
    parent_id: relay.GlobalID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Set to move the unit; null makes it top level (system only).",
    )

    def to_command(self) -> cmd.WardUpdate:
        move = self.parent_id is not strawberry.UNSET
        parent = _ward(self.parent_id, "parentId") if move and self.parent_id is not None else None
        return cmd.WardUpdate(id=_ward(self.id, "id"), name=self.name, parent_id=parent, move=move)


@strawberry.input
class GroupCreateInput:
    ward_id: relay.GlobalID
    channel: ChannelKind
    external_id: str
    name: str
    description: str | None = None
    credentials_ref: str | None = strawberry.field(
        default=None,
        description="Name of the channel account's credentials in configuration; never the secret itself.",
    )

    def to_command(self) -> cmd.GroupCreate:
        return cmd.GroupCreate(
            ward_id=_ward(self.ward_id, "wardId"),
            channel=self.channel,
            external_id=self.external_id,
            name=self.name,
            description=self.description,
            credentials_ref=self.credentials_ref,
        )


@strawberry.input
class GroupUpdateInput:
    id: relay.GlobalID
    name: str | None = None
    description: str | None = None
    credentials_ref: str | None = None

    def to_command(self) -> cmd.GroupUpdate:
        return cmd.GroupUpdate(
            id=GroupId(decode_id(self.id, "Group", ("id",))),
            name=self.name,
            description=self.description,
            credentials_ref=self.credentials_ref,
        )


@strawberry.input
class GroupArchiveInput:
    id: relay.GlobalID

    def to_id(self) -> GroupId:
        return GroupId(decode_id(self.id, "Group", ("id",)))


@strawberry.input
class MemberCreateInput:
    ward_id: relay.GlobalID
    full_name: str
    phone: str | None = None
    address: str | None = None
    household_size: int | None = None
    group_ids: list[relay.GlobalID] | None = None

    def to_command(self) -> cmd.MemberCreate:
        return cmd.MemberCreate(
            ward_id=_ward(self.ward_id, "wardId"),
            full_name=self.full_name,
            phone=self.phone,
            address=self.address,
            household_size=self.household_size,
            group_ids=_group_ids(self.group_ids, "groupIds") or (),
        )


@strawberry.input
class MemberUpdateInput:
    id: relay.GlobalID
    full_name: str | None = None
    phone: str | None = None
    address: str | None = None
    household_size: int | None = None
    group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Replaces the member's groups when given."
    )

    def to_command(self) -> cmd.MemberUpdate:
        return cmd.MemberUpdate(
            id=MemberId(decode_id(self.id, "Member", ("id",))),
            full_name=self.full_name,
            phone=self.phone,
            address=self.address,
            household_size=self.household_size,
            group_ids=_group_ids(self.group_ids, "groupIds"),
        )


@strawberry.input
class MemberRemoveInput:
    id: relay.GlobalID

    def to_id(self) -> MemberId:
        return MemberId(decode_id(self.id, "Member", ("id",)))


@strawberry.input
class RoleChangeInput:
    member_id: relay.GlobalID
    ward_id: relay.GlobalID
    role: Role

    def to_command(self) -> cmd.RoleChange:
        return cmd.RoleChange(
            member_id=MemberId(decode_id(self.member_id, "Member", ("memberId",))),
            ward_id=_ward(self.ward_id, "wardId"),
            role=self.role,
        )


@strawberry.input
class MemberImportInput:
    ward_id: relay.GlobalID
    file: Upload = strawberry.field(
        description="CSV (UTF-8) or XLSX; columns: họ tên, số điện thoại, địa chỉ, số nhân khẩu, nhóm."
    )
