"""GraphQL types of the organisation. Built from domain entities only, never from table rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from api.graphql.base import parse_uuid
from api.graphql.context import Info
from domain.access import Role as DomainRole
from domain.channels import ChannelKind as DomainChannelKind
from domain.channels import Platform as DomainPlatform
from domain.group import Group as DomainGroup
from domain.ids import GroupId, MemberId, WardId
from domain.member import Member as DomainMember
from domain.ward import Ward as DomainWard

ChannelKind = strawberry.enum(
    DomainChannelKind, name="ChannelKind", description="Where a group lives."
)
Role = strawberry.enum(DomainRole, name="Role", description="What a member may do in a ward.")
Platform = strawberry.enum(DomainPlatform, name="Platform", description="Where a person has an id.")

MAX_GROUP_MEMBERS = 100


def _uuids(node_ids: Iterable[str]) -> list:
    return [parse_uuid(n) for n in node_ids]


async def _by_ids(loader, node_ids: Iterable[str], convert) -> list:
    keys = _uuids(node_ids)
    found = await loader.load_many([k for k in keys if k is not None])
    by_key = {k: v for k, v in zip([k for k in keys if k is not None], found, strict=True)}
    return [
        convert(by_key[k]) if k is not None and by_key.get(k) is not None else None for k in keys
    ]


@strawberry.type(
    name="Ward",
    description="A police unit: a ward or commune, or a unit above it such as a district.",
)
class Ward(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    code: str
    name: str
    created_at: datetime
    parent_id: strawberry.Private[WardId | None]

    @classmethod
    def from_domain(cls, ward: DomainWard) -> Self:
        return cls(
            id_=str(ward.id),
            code=ward.code,
            name=ward.name,
            created_at=ward.created_at,
            parent_id=ward.parent_id,
        )

    @strawberry.field(description="The unit above this one, if any and if you may see it.")
    async def parent(self, info: Info) -> Ward | None:
        if self.parent_id is None:
            return None
        ward = await info.context.loaders.wards_by_id.load(self.parent_id)
        return Ward.from_domain(ward) if ward else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.wards_by_id, node_ids, cls.from_domain)


@strawberry.type(
    name="Group",
    description="One audience on one channel: a Zalo group or OA, a Facebook page, a YouTube channel or the portal.",
)
class Group(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    channel: ChannelKind
    external_id: str = strawberry.field(
        description="The group's id on its channel (a string: Zalo ids have 19 digits)."
    )
    name: str
    description: str | None
    has_credentials: bool = strawberry.field(
        description="Whether a channel account is configured (the secret itself is never returned)."
    )
    created_at: datetime
    archived_at: datetime | None
    ward_id: strawberry.Private[WardId]

    @classmethod
    def from_domain(cls, group: DomainGroup) -> Self:
        return cls(
            id_=str(group.id),
            channel=group.channel,
            external_id=group.external_id,
            name=group.name,
            description=group.description,
            has_credentials=group.credentials_ref is not None,
            created_at=group.created_at,
            archived_at=group.archived_at,
            ward_id=group.ward_id,
        )

    @strawberry.field
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None

    @strawberry.field(description="How many members (households and officers) the group has.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.member_count_by_group.load(GroupId(parse_uuid(self.id_)))

    @strawberry.field(description="The group's first members, visible to officers of its ward.")
    async def members(self, info: Info, first: int = 10) -> list[Member]:
        limit = max(1, min(first, MAX_GROUP_MEMBERS))
        ids = await info.context.loaders.member_ids_by_group.load(
            (GroupId(parse_uuid(self.id_)), limit)
        )
        found = await info.context.loaders.members_by_id.load_many(ids)
        return [Member.from_domain(m) for m in found if m is not None]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.groups_by_id, node_ids, cls.from_domain)


@strawberry.type(description="A role a member holds in a ward.")
class RoleGrant:
    role: Role
    ward_id: strawberry.Private[WardId]

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None


@strawberry.type(description="A person's own id on a platform.")
class ChannelIdentity:
    platform: Platform
    external_id: str


@strawberry.type(
    name="Member", description="A person: a resident (household representative) or an officer."
)
class Member(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    full_name: str
    phone: str | None = strawberry.field(description="E.164, e.g. +84912345678.")
    address: str | None
    household_size: int | None
    created_at: datetime
    identities: list[ChannelIdentity]
    ward_id: strawberry.Private[WardId]
    group_ids: strawberry.Private[list[GroupId]]

    @classmethod
    def from_domain(cls, member: DomainMember) -> Self:
        return cls(
            id_=str(member.id),
            full_name=member.full_name,
            phone=member.phone,
            address=member.address,
            household_size=member.household_size,
            created_at=member.created_at,
            identities=[
                ChannelIdentity(platform=i.platform, external_id=i.external_id)
                for i in member.identities
            ],
            ward_id=member.ward_id,
            group_ids=list(member.group_ids),
        )

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None

    @strawberry.field
    async def groups(self, info: Info) -> list[Group]:
        found = await info.context.loaders.groups_by_id.load_many(self.group_ids)
        return [Group.from_domain(g) for g in found if g is not None and not g.archived]

    @strawberry.field(description="Roles held, in the wards you may see.")
    async def roles(self, info: Info) -> list[RoleGrant]:
        grants = await info.context.loaders.grants_by_member.load(MemberId(parse_uuid(self.id_)))
        scope = info.context.actor.scope()
        mine = info.context.actor.member_id == parse_uuid(self.id_)
        return [
            RoleGrant(role=g.role, ward_id=g.ward_id)
            for g in grants
            if mine or scope.allows(g.ward_id)
        ]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.members_by_id, node_ids, cls.from_domain)
