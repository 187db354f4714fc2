"""Queries over wards, groups and members, each scoped to the caller's wards."""

from __future__ import annotations

import strawberry
from strawberry import relay

from api.graphql.base import Connection, decode_cursor, page_size, query_ids
from api.graphql.context import Info
from api.graphql.organisation.inputs import GroupFilter, MemberFilter, WardFilter
from api.graphql.organisation.types import Group, Member, Ward
from api.graphql.permissions import IsAuthenticated
from domain import ports
from domain.access import Role
from domain.errors import DomainError
from domain.phone import normalise_phone


def _first(info: Info, first: int) -> int:
    return page_size(first, info.context.container.settings.max_page_size)


def _phone_key(raw: str | None) -> str | None:
    """Phones are stored in E.164, so the filter is too; a number that is not valid matches none."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except DomainError:
        return raw


@strawberry.type
class OrganisationQuery:
    @strawberry.field(description="The signed-in member, or null without a token.")
    async def me(self, info: Info) -> Member | None:
        actor = info.context.actor
        if actor.member_id is None:
            return None
        member = await info.context.loaders.members_by_id.load(actor.member_id)
        return Member.from_domain(member) if member else None

    @strawberry.field(permission_classes=[IsAuthenticated], description="Units you hold a role in.")
    async def wards(
        self,
        info: Info,
        filter: WardFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Ward]:
        f = filter or WardFilter()
        parent = query_ids([f.parent_id] if f.parent_id else None, "Ward", "parentId")
        domain_filter = ports.WardFilter(text=f.text, parent_id=parent[0] if parent else None)
        async with info.context.container.uow() as uow:
            page = await uow.wards.page(
                domain_filter,
                scope=info.context.actor.scope(),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, Ward.from_domain, lambda w: str(w.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One unit by id or code; null when absent or not yours.",
    )
    async def ward(
        self, info: Info, id: relay.GlobalID | None = None, code: str | None = None
    ) -> Ward | None:
        if id is not None:
            (ward_id,) = query_ids([id], "Ward", "id")
            ward = await info.context.loaders.wards_by_id.load(ward_id)
        elif code:
            async with info.context.container.uow() as uow:
                ward = await uow.wards.by_code(code.strip())
            if ward is not None and not info.context.actor.scope().allows(ward.id):
                ward = None
        else:
            return None
        return Ward.from_domain(ward) if ward else None

    @strawberry.field(
        permission_classes=[IsAuthenticated], description="Channel groups of your wards."
    )
    async def groups(
        self,
        info: Info,
        filter: GroupFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Group]:
        f = filter or GroupFilter()
        domain_filter = ports.GroupFilter(
            ward_ids=query_ids(f.ward_ids, "Ward", "wardIds"),
            channels=tuple(f.channels or ()),
            text=f.text,
            include_archived=f.include_archived,
        )
        async with info.context.container.uow() as uow:
            page = await uow.groups.page(
                domain_filter,
                scope=info.context.actor.scope(),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, Group.from_domain, lambda g: str(g.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Members of the wards where you are an officer or above.",
    )
    async def members(
        self,
        info: Info,
        filter: MemberFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Member]:
        f = filter or MemberFilter()
        domain_filter = ports.MemberFilter(
            ward_ids=query_ids(f.ward_ids, "Ward", "wardIds"),
            group_ids=query_ids(f.group_ids, "Group", "groupIds"),
            roles=tuple(f.roles or ()),
            text=f.text,
            phone=_phone_key(f.phone),
        )
        async with info.context.container.uow() as uow:
            page = await uow.members.page(
                domain_filter,
                scope=info.context.actor.scope(Role.OFFICER),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, Member.from_domain, lambda m: str(m.id))
